// The scheduled-run files in contrib/: the systemd units pass
// `systemd-analyze verify`, and the commands they (and the cron example) run
// work against a real pipeline.
#include "integration/harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

using namespace gate::test;
using ::testing::HasSubstr;

namespace {

const char *const k_units[] = {"gate-backup@.service", "gate-backup@.timer", "gate-verify@.service",
                               "gate-verify@.timer"};

// A unit as installed, with /usr/bin/gate replaced by the built binary.
std::string installed(const std::string &unit) {
  std::string text = read_file(source_dir() / "contrib" / "systemd" / unit);
  return std::regex_replace(text, std::regex("/usr/bin/gate"), gate_binary());
}

// The arguments of a unit's ExecStart= for instance `instance` whose
// /etc/gate/<instance>.yml is `config`.
std::vector<std::string> exec_start(const std::string &unit, const fs::path &config) {
  std::smatch m;
  std::string text = read_file(source_dir() / "contrib" / "systemd" / unit);
  EXPECT_TRUE(std::regex_search(text, m, std::regex("ExecStart=/usr/bin/gate ([^\n]*)")));
  std::vector<std::string> args;
  std::istringstream words(m[1].str());
  for (std::string w; words >> w;)
    args.push_back(w == "/etc/gate/%i.yml" ? config.string() : w);
  return args;
}

} // namespace

TEST(Contrib, TheSystemdUnitsPassSystemdAnalyzeVerify) {
  TempDir t;
  std::vector<std::string> argv{"systemd-analyze", "verify", "--man=no"};
  for (const char *unit : k_units) {
    std::string name = std::regex_replace(std::string(unit), std::regex("@\\."), "@ci.");
    write_file(t / name, installed(unit));
    argv.push_back((t / name).string());
  }
  auto r = run(argv, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(r.all(), "") << "systemd-analyze had something to say";
  for (const char *unit : k_units) {
    std::string text = read_file(source_dir() / "contrib" / "systemd" / unit);
    if (std::string(unit).find(".timer") != std::string::npos) {
      EXPECT_THAT(text, HasSubstr("Persistent=true")) << unit;
      EXPECT_THAT(text, HasSubstr("RandomizedDelaySec=")) << unit;
    } else {
      EXPECT_THAT(text, HasSubstr("IOSchedulingClass=idle")) << unit;
      EXPECT_THAT(text, HasSubstr("Nice=")) << unit;
    }
  }
}

TEST(Contrib, TheScheduledCommandsBackUpAndDeepVerifyARealPipeline) {
  auto &pg = PgServer::get();
  pg.create_database("contrib");
  fill_sample_database("contrib", 50);
  TempDir t;
  write_pipeline(t.path(), "databases:\n  - {name: app, url: '" + pg.url("contrib") + "'}\n");
  auto backup = run_gate(exec_start("gate-backup@.service", t / "pipeline.yml"), "/");
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  EXPECT_THAT(newest_set(t / "backups"), HasSubstr("scheduled-"));
  auto verify = run_gate(exec_start("gate-verify@.service", t / "pipeline.yml"), "/");
  EXPECT_EQ(verify.exit_code, 0) << verify.all();
  EXPECT_THAT(verify.out, HasSubstr("(deep)"));
  // The cron example runs the same commands.
  std::string cron = read_file(source_dir() / "contrib" / "cron" / "gate");
  EXPECT_THAT(cron, HasSubstr("/usr/bin/gate --quiet --config /etc/gate/shop.yml backup"));
  EXPECT_THAT(cron,
              HasSubstr("/usr/bin/gate --quiet --config /etc/gate/shop.yml verify --last --deep"));
}

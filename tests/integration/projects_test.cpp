// One host, many projects and environments (seed 003): --env / GATE_ENV pick
// an environment's databases and {project}/{environment} paths, a target
// removed with enabled: false, a missing or unknown environment (exit 2 with
// the choices), --config-dir running every project with one broken and one
// failing (the others still back up, the worst exit code, one summary), and
// the status facts in the Prometheus metrics file. Real PostgreSQL, the real
// gate binary.
#include "integration/harness.hpp"
#include "util/fd.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// The only usable set under `root`'s manifest.
nlohmann::json newest_manifest(const fs::path &root) {
  return nlohmann::json::parse(read_file(root / newest_set(root) / "manifest.json"));
}

// The rows the set recorded for table `table` of database artifact `target`.
long long rows_of(const nlohmann::json &manifest, const std::string &target,
                  const std::string &table) {
  for (const auto &a : manifest["artifacts"])
    if (a.value("target", "") == target && a.value("kind", "") == "database")
      for (const auto &t : a["details"]["tables"])
        if (t.value("name", "") == table) return t.value("rows", -1LL);
  return -1;
}

std::vector<std::string> targets_of(const nlohmann::json &manifest) {
  std::vector<std::string> out;
  for (const auto &a : manifest["artifacts"])
    if (a.value("kind", "") != "globals") out.push_back(a.value("target", ""));
  std::sort(out.begin(), out.end()); // parallel backups finish in any order
  return out;
}

// The last line of --json output: the result object.
nlohmann::json result_of(const CommandResult &r) {
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return nlohmann::json::parse(out.substr(out.rfind('\n') + 1));
}

// A metric's value in a Prometheus text file, "" when absent.
std::string metric(const std::string &prom, const std::string &name) {
  std::smatch m;
  if (std::regex_search(prom, m, std::regex("\n" + name + "\\{[^}]*\\} ([^\n]+)"))) return m[1];
  return "";
}

std::string two_environments() {
  auto &pg = PgServer::get();
  return "project: shop\n"
         "backup_root: ./backups/{project}/{environment}\n"
         "record: ./state/last-{environment}.json\n"
         "databases:\n"
         "  - name: app\n"
         "    url: " +
         pg.url("env_staging") +
         "\n"
         "volumes:\n"
         "  - {name: files, path: ./data}\n"
         "alerts:\n"
         "  - {command: [sh, -c, 'cat > alert-$0.json', x], on: [success, failure]}\n"
         "environments:\n"
         "  staging:\n"
         "    volumes:\n"
         "      - {name: files, enabled: false}\n"
         "  production:\n"
         "    databases:\n"
         "      - name: app\n"
         "        url: " +
         pg.url("env_production") + "\n";
}

} // namespace

TEST(Projects, EnvChoosesTheEnvironmentsDatabasePathsAndTargets) {
  auto &pg = PgServer::get();
  pg.create_database("env_staging");
  fill_sample_database("env_staging", 7);
  pg.create_database("env_production");
  fill_sample_database("env_production", 31);
  TempDir t;
  make_sample_tree(t / "data", 3);
  fs::create_directories(t / "state");
  write_pipeline(t.path(), two_environments());

  auto none = run_gate({"backup"}, t.path());
  EXPECT_EQ(none.exit_code, 2) << none.all();
  EXPECT_THAT(none.out, HasSubstr("pipeline.yml:12:1: this pipeline defines the environments "
                                  "staging, production: choose one with --env NAME or "
                                  "GATE_ENV=NAME"));
  auto unknown = run_gate({"--env", "prod", "backup"}, t.path());
  EXPECT_EQ(unknown.exit_code, 2) << unknown.all();
  EXPECT_THAT(unknown.out, HasSubstr("unknown environment 'prod' (from --env); did you mean "
                                     "'production'?"));
  EXPECT_THAT(unknown.out, HasSubstr("the environments are: staging, production"));
  auto from_env = run_gate({"backup"}, t.path(), {{"GATE_ENV", "stagin"}});
  EXPECT_EQ(from_env.exit_code, 2) << from_env.all();
  EXPECT_THAT(from_env.out, HasSubstr("unknown environment 'stagin' (from GATE_ENV); did you mean "
                                      "'staging'?"));
  EXPECT_FALSE(fs::exists(t / "backups")) << "a usage error changes nothing";

  // --env after the command, as the other flags.
  auto staging = run_gate({"backup", "--env", "staging"}, t.path());
  ASSERT_EQ(staging.exit_code, 0) << staging.all();
  auto sm = newest_manifest(t / "backups/shop/staging");
  EXPECT_EQ(sm["environment"], "staging");
  EXPECT_EQ(targets_of(sm), std::vector<std::string>{"app"}); // files: enabled: false
  EXPECT_EQ(rows_of(sm, "app", "customers"), 7);
  EXPECT_EQ(nlohmann::json::parse(read_file(t / "alert-x.json"))["environment"], "staging");

  auto production = run_gate({"run"}, t.path(), {{"GATE_ENV", "production"}});
  ASSERT_EQ(production.exit_code, 0) << production.all();
  auto pm = newest_manifest(t / "backups/shop/production");
  EXPECT_EQ(pm["environment"], "production");
  EXPECT_EQ(targets_of(pm), (std::vector<std::string>{"app", "files"}));
  EXPECT_EQ(rows_of(pm, "app", "customers"), 31);
  auto record = nlohmann::json::parse(read_file(t / "state/last-production.json"));
  EXPECT_EQ(record["environment"], "production");
  EXPECT_EQ(record["id"], newest_set(t / "backups/shop/production"));
  EXPECT_FALSE(fs::exists(t / "state/last-staging.json")) << "gate backup leaves the record alone";
  EXPECT_EQ(nlohmann::json::parse(read_file(t / "alert-x.json"))["environment"], "production");

  auto status = run_gate({"--json", "--env", "production", "status"}, t.path());
  EXPECT_EQ(status.exit_code, 0) << status.all();
  auto sj = result_of(status);
  EXPECT_EQ(sj["environment"], "production");
  EXPECT_EQ(sj["last_run"]["environment"], "production");
  EXPECT_EQ(sj["newest_verified_set"]["id"], pm["id"]);
  auto last_run = nlohmann::json::parse(read_file(t / "backups/shop/staging/.gate-last-run.json"));
  EXPECT_EQ(last_run["environment"], "staging");
  EXPECT_EQ(last_run["command"], "backup");
}

TEST(Projects, AnOverrideErrorNamesTheLineOfTheOverride) {
  TempDir t;
  make_sample_tree(t / "data", 2);
  write_pipeline(t.path(), two_environments() + "  qa:\n    volumes:\n      - {name: file}\n");
  auto r = run_gate({"--env", "staging", "check"}, t.path());
  EXPECT_EQ(r.exit_code, 2) << r.all();
  EXPECT_THAT(r.out, HasSubstr("pipeline.yml:22:16: environment 'qa': there is no volume 'file' "
                               "to change (did you mean 'files'?)"));
}

TEST(Projects, ConfigDirRunsEveryProjectDespiteOneBrokenAndOneFailing) {
  auto &pg = PgServer::get();
  pg.create_database("proj_gamma");
  fill_sample_database("proj_gamma", 5);
  TempDir t;
  make_sample_tree(t / "data", 3);
  fs::create_directories(t / "projects");
  fs::create_directories(t / "state");
  write_file(t / "projects/10-alpha.yml",
             "version: 1\nproject: alpha\nrecord: ../state/{project}.json\nbackup_root: "
             "../backups/{project}\n"
             "volumes:\n  - {name: data, path: ../data}\n");
  write_file(t / "projects/20-broken.yml",
             "version: 1\nproject: broken\nvolumes:\n  - {name: data, path: ../data, "
             "compresion: gzip}\n");
  write_file(t / "projects/30-failing.yml",
             "version: 1\nproject: failing\nrecord: ../state/{project}.json\nbackup_root: "
             "../backups/{project}\n"
             "volumes:\n  - {name: data, path: ../no-such-dir}\n");
  write_file(t / "projects/40-gamma.yml",
             "version: 1\nproject: gamma\nrecord: ../state/{project}.json\nbackup_root: "
             "../backups/{project}\ndatabases:\n  - name: app\n    "
             "url: " +
                 pg.url("proj_gamma") + "\n");
  write_file(t / "projects/notes.txt", "not a pipeline\n");
  write_file(t / "projects/50-copycat.yml",
             "version: 1\nproject: copycat\nrecord: ../state/{project}.json\nbackup_root: "
             "../backups/alpha\n"
             "volumes:\n  - {name: data, path: ../data}\n");

  auto r = run_gate({"backup", "--all", "--config-dir", "projects"}, t.path());
  EXPECT_EQ(r.exit_code, 2) << r.all(); // the worst: a configuration error beats a failed check
  EXPECT_THAT(r.out, HasSubstr("20-broken.yml:4:33: unknown key 'compresion' in a volume"));
  EXPECT_THAT(r.out, HasSubstr("unable to read '" + (t / "no-such-dir").string() + "'"));
  std::string alpha_set = newest_set(t / "backups/alpha");
  std::string gamma_set = newest_set(t / "backups/gamma");
  EXPECT_THAT(alpha_set, HasSubstr("scheduled-"));
  EXPECT_THAT(gamma_set, HasSubstr("scheduled-"));
  // One summary table, in name order.
  std::smatch header;
  ASSERT_TRUE(std::regex_search(r.out, header,
                                std::regex("\nproject +environment +verdict +set +duration\n")))
      << r.out;
  std::string table = r.out.substr(header.position(0));
  EXPECT_TRUE(std::regex_search(table, std::regex("\nalpha +- +ok +" + alpha_set + " "))) << table;
  EXPECT_TRUE(std::regex_search(table, std::regex("\n20-broken +- +CONFIG ERROR +- "))) << table;
  EXPECT_TRUE(std::regex_search(table, std::regex("\nfailing +- +FAILED +- "))) << table;
  EXPECT_TRUE(std::regex_search(table, std::regex("\ngamma +- +ok +" + gamma_set + " "))) << table;
  EXPECT_LT(table.find("\nalpha"), table.find("\n20-broken"));
  EXPECT_LT(table.find("\nfailing"), table.find("\ngamma"));
  EXPECT_TRUE(std::regex_search(table, std::regex("\ncopycat +- +CONFIG ERROR +- "))) << table;
  EXPECT_THAT(r.out,
              HasSubstr("50-copycat.yml: its backup_root '" + (t / "backups/alpha").string() +
                        "' is also projects/10-alpha.yml's"));
  EXPECT_EQ(newest_set(t / "backups/alpha"), alpha_set) << "copycat did not run";
  EXPECT_THAT(table, HasSubstr("FAILED: gate backup failed for 3 of 5 projects"));
  fs::remove(t / "projects/50-copycat.yml");

  // Without the broken file the worst is the failed check; --json gives every row.
  fs::remove(t / "projects/20-broken.yml");
  auto j = run_gate({"--json", "--config-dir", "projects", "backup"}, t.path());
  EXPECT_EQ(j.exit_code, 1) << j.all();
  auto result = result_of(j);
  ASSERT_EQ(result["projects"].size(), 3u) << result;
  EXPECT_EQ(result["projects"][0]["project"], "alpha");
  EXPECT_EQ(result["projects"][0]["exit_code"], 0);
  EXPECT_EQ(result["projects"][1]["exit_code"], 1);
  EXPECT_EQ(result["projects"][2]["set_id"], newest_set(t / "backups/gamma"));
  EXPECT_EQ(result["exit_code"], 1);

  // status and verify per project, with the same summary.
  auto status = run_gate({"status", "--config-dir", "projects"}, t.path());
  EXPECT_EQ(status.exit_code, 1) << status.all(); // failing has no verified set
  EXPECT_TRUE(std::regex_search(status.out,
                                std::regex("\ngamma +- +ok +" + newest_set(t / "backups/gamma"))))
      << status.out;
  fs::remove(t / "projects/30-failing.yml");
  auto verify = run_gate({"verify", "--quick", "--config-dir", "projects"}, t.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.all();
  EXPECT_THAT(verify.out, HasSubstr("OK: gate verify passed for every project (2)"));
}

TEST(Projects, ConfigDirUsageErrors) {
  TempDir t;
  fs::create_directories(t / "empty");
  auto all = run_gate({"backup", "--all"}, t.path());
  EXPECT_EQ(all.exit_code, 2) << all.all();
  EXPECT_THAT(all.out, HasSubstr("backup --all needs --config-dir DIR"));
  auto empty = run_gate({"backup", "--all", "--config-dir", "empty"}, t.path());
  EXPECT_EQ(empty.exit_code, 2) << empty.all();
  EXPECT_THAT(empty.out, HasSubstr("no pipelines in 'empty'"));
  auto missing = run_gate({"status", "--config-dir", "nowhere"}, t.path());
  EXPECT_EQ(missing.exit_code, 2) << missing.all();
  EXPECT_THAT(missing.out, HasSubstr("--config-dir 'nowhere' is not a directory"));
  auto other = run_gate({"list", "--config-dir", "empty"}, t.path());
  EXPECT_EQ(other.exit_code, 2) << other.all();
  EXPECT_THAT(other.out, HasSubstr("--config-dir works with run, backup, verify and status"));
}

TEST(Projects, ConfigDirWithEnvRunsThatEnvironmentAndSkipsOthersSingleEnvironment) {
  TempDir t;
  make_sample_tree(t / "data", 2);
  fs::create_directories(t / "projects");
  fs::create_directories(t / "state");
  write_file(t / "projects/a.yml",
             "version: 1\nproject: a\nbackup_root: ../backups/{project}/{environment}\n"
             "record: ../state/{project}-{environment}.json\n"
             "volumes:\n  - {name: data, path: ../data}\n"
             "environments:\n  staging: {}\n  production: {}\n");
  write_file(t / "projects/b.yml", "version: 1\nproject: b\nenvironment: production\n"
                                   "backup_root: ../backups/{project}/{environment}\n"
                                   "volumes:\n  - {name: data, path: ../data}\n");
  auto r = run_gate({"--env", "staging", "backup", "--all", "--config-dir", "projects"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_FALSE(newest_set(t / "backups/a/staging").empty());
  EXPECT_FALSE(fs::exists(t / "backups/b"));
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\nb +production +skipped "))) << r.out;
  auto p = run_gate({"backup", "--all", "--config-dir", "projects"}, t.path(),
                    {{"GATE_ENV", "production"}});
  EXPECT_EQ(p.exit_code, 0) << p.all();
  EXPECT_FALSE(newest_set(t / "backups/a/production").empty());
  EXPECT_FALSE(newest_set(t / "backups/b/production").empty());
}

TEST(Projects, MetricsCarryTheStatusFacts) {
  TempDir t;
  write_pipeline(t.path(),
                 "project: shop\nenvironment: ci\nmetrics_file: ./metrics/{project}.prom\n"
                 "volumes:\n  - {name: data, path: ./data}\n");
  fs::create_directories(t / "metrics");
  auto failed = run_gate({"backup"}, t.path());
  EXPECT_EQ(failed.exit_code, 1) << failed.all();
  std::string before = read_file(t / "metrics/shop.prom");
  EXPECT_EQ(metric(before, "gate_verified_set_present"), "0") << before;
  EXPECT_EQ(metric(before, "gate_verified_set_bytes"), "") << before;
  EXPECT_EQ(metric(before, "gate_last_run_success"), "0");

  make_sample_tree(t / "data", 3);
  auto ok = run_gate({"backup"}, t.path());
  ASSERT_EQ(ok.exit_code, 0) << ok.all();
  std::string prom = read_file(t / "metrics/shop.prom");
  auto status = run_gate({"--json", "status"}, t.path());
  ASSERT_EQ(status.exit_code, 0) << status.all();
  auto s = result_of(status);
  auto set = s["newest_verified_set"];
  EXPECT_THAT(prom, HasSubstr("gate_verified_set_present{project=\"shop\",environment=\"ci\","
                              "command=\"backup\"} 1"));
  EXPECT_EQ(metric(prom, "gate_verified_set_bytes"), std::to_string(set["bytes"].get<long long>()));
  auto created = run({"date", "-u", "-d", set["created_at"].get<std::string>(), "+%s"});
  EXPECT_EQ(metric(prom, "gate_verified_set_timestamp_seconds") + "\n", created.out);
  EXPECT_FALSE(metric(prom, "gate_verified_set_age_seconds").empty());
  ASSERT_TRUE(set["predicted_rollback_ms"].is_number()) << s;
  EXPECT_DOUBLE_EQ(std::stod(metric(prom, "gate_predicted_rollback_seconds")),
                   set["predicted_rollback_ms"].get<long long>() / 1000.0);
  EXPECT_EQ(metric(prom, "gate_last_run_success"), "1");
  EXPECT_FALSE(metric(prom, "gate_last_run_timestamp_seconds").empty());
  EXPECT_FALSE(metric(prom, "gate_backup_root_free_bytes").empty());
  EXPECT_THAT(prom, HasSubstr("# TYPE gate_verified_set_bytes gauge"));
}

TEST(Projects, AnInterruptEndsTheWholePassAndTheRestAreNotRun) {
  TempDir t;
  make_sample_tree(t / "data", 2);
  fs::create_directories(t / "projects");
  fs::create_directories(t / "state");
  ASSERT_EQ(::mkfifo((t / "reached.fifo").c_str(), 0600), 0);
  // a's pipeline stops in an exec step that says so through the FIFO.
  write_file(t / "projects/a.yml",
             "version: 1\nproject: a\nbackup_root: ../backups/{project}\n"
             "record: ../state/{project}.json\nvolumes:\n  - {name: data, path: ../data}\n"
             "stages:\n  - {name: backup, steps: [{backup: all}]}\n"
             "  - name: wait\n    steps:\n      - exec: [sh, -c, 'echo reached > " +
                 (t / "reached.fifo").string() + "; exec sleep 600']\n");
  write_file(t / "projects/b.yml", "version: 1\nproject: b\nbackup_root: ../backups/{project}\n"
                                   "record: ../state/{project}.json\n"
                                   "volumes:\n  - {name: data, path: ../data}\n");
  auto gate = start_gate({"run", "--config-dir", "projects"}, t.path());
  gate::util::UniqueFd fifo(
      ::open((t / "reached.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(fifo);
  std::string line;
  for (int waited = 0; waited < 600 && line.find('\n') == std::string::npos; ++waited) {
    struct pollfd p {
      fifo.get(), POLLIN, 0
    };
    if (::poll(&p, 1, 100) > 0) {
      char buf[64];
      ssize_t n = ::read(fifo.get(), buf, sizeof buf);
      if (n > 0) line.append(buf, static_cast<size_t>(n));
    }
  }
  ASSERT_EQ(line, "reached\n") << "the exec step of project a never ran";
  ::kill(gate->pid(), SIGTERM);
  auto r = finish_gate(*gate);
  EXPECT_EQ(r.exit_code, 130) << r.all();
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\na +- +INTERRUPTED "))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\nb +- +not run +- "))) << r.out;
  EXPECT_FALSE(fs::exists(t / "backups/b")) << "no project starts after the interrupt";
}

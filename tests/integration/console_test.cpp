// What gate prints and where: the transcript and the verdict on stdout,
// diagnostics on stderr, progress lines without a terminal, an exec step's
// output live, verdict wording, and a record another pipeline wrote.
#include "integration/harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

using namespace gate::test;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace {

const char *k_console_volume_pipeline = R"(project: test
volumes:
  - name: data
    path: ./data
)";

std::vector<std::string> lines_of(const std::string &text) {
  std::vector<std::string> lines;
  std::string line;
  for (char c : text) {
    if (c != '\n') {
      line.push_back(c);
      continue;
    }
    lines.push_back(line);
    line.clear();
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

size_t count_of(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + what.size()))
    ++n;
  return n;
}

// A file of `bytes` pseudo-random bytes (incompressible, so archiving takes a while).
void write_random_file(const fs::path &path, size_t bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  unsigned x = 2463534242u;
  std::string block(1 << 16, '\0');
  for (size_t written = 0; written < bytes; written += block.size()) {
    for (auto &c : block) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      c = static_cast<char>(x);
    }
    f.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
}

} // namespace

// The rule (docs/exit-codes.md): stage and step lines, a command's output and
// the verdict on stdout, the verdict last; error:/warning: lines on stderr.
TEST(Console, TranscriptAndVerdictOnStdoutDiagnosticsOnStderr) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), std::string(k_console_volume_pipeline) + R"(stages:
  - name: backup
    steps: [{backup: data}, {verify: all}]
  - name: migrate
    steps:
      - exec: ["sh", "-c", "echo cleanup failed >&2; exit 3"]
        on_failure: continue
)");
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  auto out = lines_of(r.out);
  ASSERT_FALSE(out.empty());
  EXPECT_THAT(out.back(), StartsWith("OK: set pre-deployment-"));
  EXPECT_THAT(r.out, HasSubstr("== backup\n"));
  EXPECT_THAT(r.out, HasSubstr("  [ok] backup data"));
  EXPECT_THAT(r.out, Not(HasSubstr("warning:")));
  EXPECT_THAT(r.err, HasSubstr("warning: exec sh -c echo cleanup failed"));
  EXPECT_THAT(r.err, Not(HasSubstr("[ok]")));
  EXPECT_THAT(r.err, Not(HasSubstr("OK:")));
}

// A verification that could not be carried out ends with a FAILED verdict too.
TEST(Console, AVerifyThatCannotRunEndsWithAFailedVerdict) {
  TempDir t;
  auto &pg = PgServer::get();
  pg.create_database("console_verify");
  fill_sample_database("console_verify", 200);
  std::string body = "databases:\n  - {name: app, url: '" + pg.url("console_verify") + "'}\n";
  write_pipeline(t.path(), body);
  auto first = run_gate({"run"}, t.path());
  ASSERT_EQ(first.exit_code, 0) << first.all();
  std::string wrong = body;
  wrong.replace(wrong.find(pg.password()), pg.password().size(), "not-the-password");
  write_pipeline(t.path(), wrong);
  auto r = run_gate({"verify", "--last", "--deep"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  auto out = lines_of(r.out);
  ASSERT_FALSE(out.empty()) << r.all();
  EXPECT_THAT(out.back(), StartsWith("FAILED: could not verify set pre-deployment-")) << r.all();
  EXPECT_THAT(r.all(), Not(HasSubstr("not-the-password")));
}

// A migration's output is part of the console's transcript, masked like the log.
TEST(Console, AnExecStepsOutputIsShownLiveAndMasked) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  std::string secret = "Xyzzy-s3cret-42";
  write_pipeline(t.path(), std::string(k_console_volume_pipeline) + R"(stages:
  - name: backup
    steps: [{backup: data}]
  - name: migrate
    steps:
      - exec: ["sh", "-c", "echo applying 0042_add_index; echo using $DB_URL; echo 'warning from psql' >&2"]
        env: {DB_URL: "postgresql://app:)" +
                               secret + R"(@db.example/app"}
)");
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("  | applying 0042_add_index\n"));
  EXPECT_THAT(r.out, HasSubstr("  | warning from psql\n"));
  EXPECT_THAT(r.out, HasSubstr("  | using postgresql://app:***@db.example/app\n"));
  EXPECT_THAT(r.all(), Not(HasSubstr(secret)));
  std::string log = read_file(t / "backups" / newest_set(t / "backups") / "gate.log");
  EXPECT_THAT(log, HasSubstr("| applying 0042_add_index"));
  EXPECT_THAT(log, Not(HasSubstr(secret)));
}

// Without a terminal a long step prints "... STEP: N so far, R/s" every
// GATE_PROGRESS_INTERVAL seconds (15 by default).
TEST(Console, WithoutATerminalALongBackupPrintsProgressLines) {
  TempDir t;
  write_random_file(t / "data" / "big.bin", 48u << 20);
  write_pipeline(t.path(), k_console_volume_pipeline);
  auto r = run_gate({"backup"}, t.path(), {{"GATE_PROGRESS_INTERVAL", "0.001"}});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.out,
              testing::ContainsRegex(
                  "\n  \\.\\.\\. backup data: [0-9.]+ [KMG]?i?B so far, [0-9.]+ [KMG]?i?B/s"))
      << r.out;
  EXPECT_THAT(r.err, Not(HasSubstr("so far")));

  // At the default interval a backup this short prints none.
  fs::remove(t / "data" / "big.bin");
  make_sample_tree(t / "data", 3);
  auto quick = run_gate({"backup"}, t.path());
  ASSERT_EQ(quick.exit_code, 0) << quick.all();
  EXPECT_THAT(quick.out, Not(HasSubstr("so far")));
}

// "— the deploy must not proceed" belongs to gate run, on the verdict's first
// line; the lines a reason carries below it stay as they are.
TEST(Console, OnlyADeployIsToldNotToProceedAndNeverOnADetailLine) {
  TempDir t;
  fs::create_directories(t / "data");
  write_pipeline(t.path(), k_console_volume_pipeline);
  auto backup = run_gate({"backup"}, t.path());
  EXPECT_EQ(backup.exit_code, 1) << backup.all();
  EXPECT_THAT(backup.out, HasSubstr("FAILED in stage 'backup': volume 'data':"));
  EXPECT_THAT(backup.all(), Not(HasSubstr("deploy")));

  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), std::string(k_console_volume_pipeline) + R"(stages:
  - name: backup
    steps: [{backup: data}]
  - name: migrate
    steps: [{exec: ["sh", "-c", "echo first >&2; echo second >&2; exit 4"]}]
)");
  auto run = run_gate({"run"}, t.path());
  EXPECT_EQ(run.exit_code, 1) << run.all();
  auto out = lines_of(run.out);
  ASSERT_GE(out.size(), 3u);
  EXPECT_THAT(out[out.size() - 3], StartsWith("FAILED in stage 'migrate': exec sh -c"));
  EXPECT_THAT(out[out.size() - 3],
              EndsWith("exited 4; its last error output: — the deploy must not proceed"));
  EXPECT_EQ(out[out.size() - 2], "    first");
  EXPECT_EQ(out.back(), "    second");
}

// One unreachable database is one error, not one per step; an empty volume
// fails the check as it would fail the run.
TEST(Console, CheckNamesAWrongPasswordOnceAndRefusesAnEmptyVolume) {
  TempDir t;
  auto &pg = PgServer::get();
  fs::create_directories(t / "data");
  std::string url = pg.url("postgres");
  url.replace(url.find(pg.password()), pg.password().size(), "wrong-password");
  write_pipeline(t.path(), std::string(k_console_volume_pipeline) +
                               "databases:\n  - {name: app, url: '" + url + "'}\n");
  auto r = run_gate({"check"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  // once on the step that met it, once in the verdict
  EXPECT_EQ(count_of(r.all(), "password authentication failed"), 2u) << r.all();
  EXPECT_THAT(r.out, HasSubstr("the same error as 'check connections' above"));
  EXPECT_THAT(r.out, HasSubstr("[FAILED] backup data"));
  EXPECT_THAT(
      r.out,
      HasSubstr("volume 'data': '" + (t / "data").string() +
                "' is empty (nothing to back up); set allow_empty: true if that is expected"));

  write_pipeline(t.path(), "volumes:\n  - {name: data, path: ./data, allow_empty: true}\n");
  auto allowed = run_gate({"check"}, t.path());
  EXPECT_EQ(allowed.exit_code, 0) << allowed.all();
}

// Two pipelines sharing one record file: the one whose set it does not name
// says where the record points and whose it is.
TEST(Console, ARecordAnotherPipelineWroteIsNamedAsSuch) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_file(t / "a.yml",
             "version: 1\nbackup_root: ./backups-a\nvolumes: [{name: data, path: ./data}]\n");
  write_file(t / "b.yml",
             "version: 1\nbackup_root: ./backups-b\nvolumes: [{name: data, path: ./data}]\n");
  ASSERT_EQ(run_gate({"--config", "a.yml", "run"}, t.path()).exit_code, 0);
  ASSERT_EQ(run_gate({"--config", "b.yml", "run"}, t.path()).exit_code, 0);
  std::string b_root = fs::weakly_canonical(t / "backups-b").string();
  for (auto command : std::vector<std::vector<std::string>>{
           {"show", "--last"}, {"verify", "--last"}, {"rollback", "--last", "--yes"}}) {
    std::vector<std::string> args{"--config", "a.yml"};
    args.insert(args.end(), command.begin(), command.end());
    auto r = run_gate(args, t.path());
    EXPECT_EQ(r.exit_code, 1) << command[0] << ": " << r.all();
    EXPECT_THAT(r.out,
                HasSubstr("in backup root '" + b_root + "', which belongs to another pipeline"))
        << command[0];
  }
  EXPECT_EQ(run_gate({"--config", "b.yml", "show", "--last"}, t.path()).exit_code, 0);
}

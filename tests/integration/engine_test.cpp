// The engine end to end with directory volumes: sets that other people's
// tools accept, failures that leave the record alone, the lock, interrupts,
// dry runs, stage selection and pruning.
#include "integration/harness.hpp"
#include "util/fd.hpp"
#include "util/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const char *k_engine_volume_pipeline = R"(project: test
environment: ci
volumes:
  - name: data
    path: ./data
)";

std::string set_dir(const TempDir &t) {
  return (t / "backups" / newest_set(t / "backups")).string();
}

// Blocks until a name matching `prefix` is created in `dir` (inotify, no polling).
std::string wait_for_creation(const fs::path &dir, const std::string &prefix) {
  gate::util::UniqueFd fd(inotify_init1(IN_CLOEXEC));
  int wd = inotify_add_watch(fd.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO);
  EXPECT_GE(wd, 0);
  for (const auto &e : fs::directory_iterator(dir)) // it may already be there
    if (e.path().filename().string().rfind(prefix, 0) == 0) return e.path().filename().string();
  alignas(inotify_event) char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) return {};
    for (char *p = buf; p < buf + n;) {
      auto *ev = reinterpret_cast<inotify_event *>(p);
      std::string name = ev->len ? ev->name : "";
      if (name.rfind(prefix, 0) == 0) return name;
      p += sizeof(inotify_event) + ev->len;
    }
  }
}

} // namespace

TEST(Engine, SetPassesSha256sumAndTarGivesTheSameTree) {
  TempDir t;
  make_sample_tree(t / "data");
  write_pipeline(t.path(), k_engine_volume_pipeline);
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("OK: set pre-deployment-"));
  std::string set = set_dir(t);
  EXPECT_EQ(sh("sha256sum -c checksums.sha256", set).exit_code, 0);
  auto x = sh("mkdir out && tar --zstd -xpf " + set +
                  "/volumes/data.tar.zst -C out && "
                  "diff -r --no-dereference data out && "
                  "diff <(cd data && find . -printf '%m %y %l %p\\n' | sort) <(cd out && find . "
                  "-printf '%m %y %l %p\\n' | sort) && "
                  "test $(stat -c %h out/hardlink-to-file0) = 2",
              t.path());
  EXPECT_EQ(x.exit_code, 0) << x.all();
  // Files 0600, directories 0700.
  EXPECT_EQ(sh("find " + set + " -type f ! -perm 600 | wc -l").out, "0\n");
  EXPECT_EQ(sh("find " + set + " -type d ! -perm 700 | wc -l").out, "0\n");
  for (const char *f : {"manifest.json", "checksums.sha256", "RESTORE.md", "gate.log"})
    EXPECT_TRUE(fs::exists(fs::path(set) / f)) << f;
  auto manifest = nlohmann::json::parse(read_file(fs::path(set) / "manifest.json"));
  EXPECT_EQ(manifest["status"], "complete");
  EXPECT_EQ(manifest["artifacts"][0]["details"]["files"].get<int>(),
            40 + 4); // docs, blob, secret, run.sh, hard link
  auto record = nlohmann::json::parse(read_file(t / ".last-deployment-backup"));
  EXPECT_EQ(record["id"], manifest["id"]);
  EXPECT_EQ(record["artifacts"][0]["sha256"], manifest["artifacts"][0]["files"][0]["sha256"]);
}

TEST(Engine, GzipAndUncompressedArchivesAreReadByTar) {
  TempDir t;
  make_sample_tree(t / "data", 5);
  write_pipeline(t.path(), R"(volumes:
  - {name: gz, path: ./data, compression: gzip, exclude: ["docs/deep/**"]}
  - {name: plain, path: ./data, compression: none}
)");
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  std::string set = set_dir(t);
  EXPECT_EQ(
      sh("gzip -t volumes/gz.tar.gz && tar -tzf volumes/gz.tar.gz | grep -c deeper || true", set)
          .out,
      "0\n");
  EXPECT_EQ(sh("tar -tf volumes/plain.tar | grep -c deeper/secret.txt", set).out, "1\n");
}

TEST(Engine, FlippedByteMakesVerifyFailAndTheSetUnusable) {
  TempDir t;
  make_sample_tree(t / "data");
  write_pipeline(t.path(), k_engine_volume_pipeline);
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string set = set_dir(t);
  std::string id = newest_set(t / "backups");
  auto archive = fs::path(set) / "volumes/data.tar.zst";
  {
    gate::util::UniqueFd fd(::open(archive.c_str(), O_RDWR));
    off_t middle = static_cast<off_t>(fs::file_size(archive) / 2);
    char c;
    ASSERT_EQ(::pread(fd.get(), &c, 1, middle), 1);
    c ^= 0x20;
    ASSERT_EQ(::pwrite(fd.get(), &c, 1, middle), 1);
  }
  auto quick = run_gate({"verify", id, "--quick"}, t.path());
  EXPECT_EQ(quick.exit_code, 1) << quick.all();
  EXPECT_THAT(quick.all(), HasSubstr("checksum"));
  EXPECT_TRUE(fs::exists(t / "backups" / (".failed-" + id)));
  EXPECT_THAT(run_gate({"list"}, t.path()).out, ::testing::Not(HasSubstr(id)));
  EXPECT_THAT(run_gate({"list", "--all"}, t.path()).out, HasSubstr("FAILED"));
}

TEST(Engine, FullVerifyCatchesAFlippedByteTooAndRollbackRefusesIt) {
  TempDir t;
  make_sample_tree(t / "data");
  write_pipeline(t.path(), k_engine_volume_pipeline);
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string set = set_dir(t);
  auto archive = fs::path(set) / "volumes/data.tar.zst";
  ASSERT_EQ(sh("printf 'X' | dd of=" + archive.string() + " bs=1 seek=200 conv=notrunc status=none")
                .exit_code,
            0);
  write_file(t / "data" / "new.txt", "after the backup\n");
  auto rb = run_gate({"rollback", "--last", "--yes"}, t.path());
  EXPECT_EQ(rb.exit_code, 1) << rb.all();
  EXPECT_THAT(rb.all(), HasSubstr("nothing was changed"));
  EXPECT_TRUE(fs::exists(t / "data" / "new.txt"));
  auto v = run_gate({"verify", "--last"}, t.path());
  EXPECT_EQ(v.exit_code, 1) << v.all();
}

TEST(Engine, BadInputFailsClearlyAndLeavesTheRecordAlone) {
  TempDir t;
  make_sample_tree(t / "data");
  write_pipeline(t.path(), k_engine_volume_pipeline);
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string record = read_file(t / ".last-deployment-backup");

  // A missing path.
  write_pipeline(t.path(), "volumes:\n  - name: data\n    path: ./missing\n");
  auto missing = run_gate({"run"}, t.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.all(), HasSubstr("missing': No such file or directory"));
  EXPECT_EQ(read_file(t / ".last-deployment-backup"), record);

  // An empty directory: seed 000's 0-byte backups.
  fs::create_directories(t / "empty");
  write_pipeline(t.path(), "volumes:\n  - name: data\n    path: ./empty\n");
  auto empty = run_gate({"run"}, t.path());
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(empty.all(), HasSubstr("is empty"));
  EXPECT_EQ(read_file(t / ".last-deployment-backup"), record);
  EXPECT_THAT(run_gate({"list", "--all"}, t.path()).out, HasSubstr("FAILED"));

  // A bad key.
  write_pipeline(t.path(), "volumes:\n  - name: data\n    path: ./data\n    compresion: gzip\n");
  auto bad = run_gate({"run"}, t.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(
      bad.all(),
      HasSubstr(
          "pipeline.yml:5:5: unknown key 'compresion' in a volume (did you mean 'compression'?)"));
  EXPECT_EQ(read_file(t / ".last-deployment-backup"), record);

  // An unset variable.
  write_pipeline(t.path(), "volumes:\n  - name: data\n    path: ${GATE_TEST_UNSET_DIR}\n");
  auto unset = run_gate({"run"}, t.path());
  EXPECT_EQ(unset.exit_code, 2);
  EXPECT_THAT(
      unset.all(),
      HasSubstr("pipeline.yml:4:11: environment variable 'GATE_TEST_UNSET_DIR' is not set"));

  // An archive under min_size.
  write_file(t / "tiny" / "a", "x");
  write_pipeline(t.path(), "volumes:\n  - {name: data, path: ./tiny, min_size: 1MiB}\n");
  auto small = run_gate({"run"}, t.path());
  EXPECT_EQ(small.exit_code, 1);
  EXPECT_THAT(small.all(), HasSubstr("below min_size 1.0 MiB"));
  EXPECT_EQ(read_file(t / ".last-deployment-backup"), record);
}

TEST(Engine, AllowEmptyAcceptsAnEmptyDirectory) {
  TempDir t;
  fs::create_directories(t / "empty");
  write_pipeline(t.path(), "volumes:\n  - {name: data, path: ./empty, allow_empty: true}\n");
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
}

TEST(Engine, ASecondRunExits3NamingTheHolder) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  ASSERT_EQ(::mkfifo((t / "ready").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((t / "release").c_str(), 0600), 0);
  write_pipeline(t.path(), std::string(k_engine_volume_pipeline) + R"(stages:
  - name: backup
    steps: [{backup: data}, {verify: all}]
  - name: hold
    steps: [{exec: ["sh", "-c", "echo ready > ready; cat release > /dev/null"]}]
)");
  auto first = start_gate({"run"}, t.path());
  // Opening the FIFO blocks until the first run's exec step writes to it.
  EXPECT_EQ(read_file(t / "ready"), "ready\n");
  auto second = run_gate({"run"}, t.path());
  EXPECT_EQ(second.exit_code, 3) << second.all();
  EXPECT_THAT(second.all(), HasSubstr("another gate (pid " + std::to_string(first->pid())));
  write_file(t / "release", "go\n");
  auto status = first->wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 0) << first->stderr_tail();
}

TEST(Engine, ALockLeftByADeadProcessIsTakenOverWithAWarning) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  write_file(t / "backups" / ".gate.lock",
             "pid=999999 started=2026-01-01T00:00:00Z command=gate run\n");
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr("taking over the lock"));
  EXPECT_THAT(r.err, HasSubstr("999999"));
}

TEST(Engine, SigintDuringALargeBackupLeavesNoSetAndTheRecordUntouched) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string record = read_file(t / ".last-deployment-backup");
  std::string good = newest_set(t / "backups");
  // A sparse file large enough that archiving it takes many seconds.
  ASSERT_EQ(sh("truncate -s 40G data/huge.img", t.path()).exit_code, 0);
  write_pipeline(t.path(), std::string(k_engine_volume_pipeline) +
                               "stages:\n  - name: backup\n    steps: [{backup: data}]\n");
  auto run = start_gate({"run"}, t.path());
  std::string partial = wait_for_creation(t / "backups", ".partial-");
  ASSERT_FALSE(partial.empty());
  ASSERT_FALSE(wait_for_creation(t / "backups" / partial, "volumes").empty());
  ASSERT_FALSE(wait_for_creation(t / "backups" / partial / "volumes", "data.tar").empty());
  ::kill(run->pid(), SIGINT);
  auto done = finish_gate(*run);
  EXPECT_EQ(done.exit_code, 130) << done.out << done.err;
  EXPECT_THAT(done.out, HasSubstr("INTERRUPTED"));
  EXPECT_EQ(read_file(t / ".last-deployment-backup"), record);
  EXPECT_EQ(newest_set(t / "backups"), good);
  EXPECT_FALSE(fs::exists(t / "backups" / partial));
  EXPECT_EQ(sh("ls -a backups | grep -c '^.partial-' || true", t.path()).out, "0\n");
}

// A sparse file (a VM image, a database file) is archived with its holes
// mapped, verified at its full size, read by GNU tar, and restored sparse.
TEST(Engine, SparseFilesRoundTripAndStaySparse) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  ASSERT_EQ(sh("dd if=/dev/urandom of=data/disk.img bs=4096 count=4 seek=2000 conv=notrunc "
               "status=none && "
               "truncate -s 256M data/disk.img",
               t.path())
                .exit_code,
            0);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  auto x = sh("mkdir out && tar --zstd -xpf " + set_dir(t) +
                  "/volumes/data.tar.zst -C out && cmp out/disk.img data/disk.img",
              t.path());
  EXPECT_EQ(x.exit_code, 0) << x.all();
  auto restored =
      run_gate({"rollback", "--last", "--yes", "--target", "data=./restored"}, t.path());
  ASSERT_EQ(restored.exit_code, 0) << restored.all();
  EXPECT_EQ(sh("cmp restored/disk.img data/disk.img", t.path()).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(::stat((t / "restored" / "disk.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 256LL << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20); // 16 KiB of data, not 256 MiB of zeros
}

// A file cut short while gate reads it is named in the output and the
// manifest; the archive stays well-formed (the entry is padded to the size in
// its header), so the set is still readable by tar.
TEST(Engine, AFileThatShrinksWhileArchivedIsReportedByName) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  fs::path log = t / "data" / "app.log";
  ASSERT_EQ(sh("truncate -s 1G data/app.log", t.path()).exit_code, 0);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  gate::util::UniqueFd watch(inotify_init1(IN_CLOEXEC));
  ASSERT_GE(inotify_add_watch(watch.get(), log.c_str(), IN_ACCESS), 0);
  auto run = start_gate({"run"}, t.path());
  alignas(inotify_event) char event[4096];
  ASSERT_GT(::read(watch.get(), event, sizeof event), 0); // gate is reading the file's data
  fs::resize_file(log, 0);
  auto done = finish_gate(*run);
  EXPECT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_THAT(done.err, HasSubstr(log.string() + ": shrank while archived"));
  EXPECT_THAT(done.out, HasSubstr("1 file(s) changed while read: app.log: shrank while archived"));
  auto manifest = nlohmann::json::parse(read_file(fs::path(set_dir(t)) / "manifest.json"));
  EXPECT_THAT(manifest["artifacts"][0]["details"]["changed_while_read"].dump(),
              HasSubstr("app.log: shrank"));
  EXPECT_EQ(sh("tar --zstd -tf " + set_dir(t) + "/volumes/data.tar.zst | grep -c app.log").out,
            "1\n");
}

TEST(Engine, AMistypedCommandIsNamedWithTheClosestOne) {
  TempDir t;
  auto r = run_gate({"rollbak", "--last", "--yes"}, t.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'rollbak'; did you mean 'rollback'?"));
  EXPECT_THAT(r.err, HasSubstr("commands: run, backup, verify"));
}

TEST(Engine, DryRunAndStageSelectionChangeNothing) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  auto dry = run_gate({"run", "--dry-run"}, t.path());
  EXPECT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_THAT(dry.out, HasSubstr("archive "));
  EXPECT_FALSE(fs::exists(t / "backups"));
  auto pre = run_gate({"run", "--stage", "preflight"}, t.path());
  EXPECT_EQ(pre.exit_code, 0) << pre.all();
  EXPECT_FALSE(fs::exists(t / ".last-deployment-backup"));
  EXPECT_TRUE(newest_set(t / "backups").empty());
  auto unknown = run_gate({"run", "--stage", "bakup"}, t.path());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.all(), HasSubstr("did you mean 'backup'?"));
  auto check = run_gate({"check"}, t.path());
  EXPECT_EQ(check.exit_code, 0) << check.all();
  EXPECT_FALSE(fs::exists(t / ".last-deployment-backup"));
}

TEST(Engine, TheFirstFailedCheckStopsTheRun) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), std::string(k_engine_volume_pipeline) + R"(stages:
  - name: gatekeeper
    steps: [{exec: ["false"]}]
  - name: backup
    steps: [{backup: data}]
)");
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("FAILED in stage 'gatekeeper'"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("backup data")));
  EXPECT_TRUE(newest_set(t / "backups").empty());
}

TEST(Engine, PruneDryRunListsAndDeletesNothing) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  EXPECT_EQ(sh("ls backups | wc -l", t.path()).out, "3\n");
  // Point the record at the oldest set: keep_last 1 keeps the newest, the record protects the
  // oldest.
  std::string oldest = sh("ls backups | sort | head -n 1", t.path()).out;
  oldest.pop_back();
  auto record = nlohmann::json::parse(read_file(t / ".last-deployment-backup"));
  record["id"] = oldest;
  write_file(t / ".last-deployment-backup", record.dump());
  write_pipeline(t.path(), std::string(k_engine_volume_pipeline) + "retention: {keep_last: 1}\n");
  auto dry = run_gate({"prune", "--dry-run"}, t.path());
  EXPECT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_EQ(sh("echo \"$OUT\" | grep -c 'would remove'", {}, {{"OUT", dry.out}}).out, "1\n");
  EXPECT_EQ(sh("ls backups | wc -l", t.path()).out, "3\n");
  auto real = run_gate({"prune"}, t.path());
  EXPECT_EQ(real.exit_code, 0) << real.all();
  EXPECT_EQ(sh("ls backups | wc -l", t.path()).out, "2\n");
  EXPECT_TRUE(fs::exists(t / "backups" / oldest));
}

TEST(Engine, JsonAndEnvOutputsAreMachineReadable) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  auto r = run_gate({"--json", "run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  std::string last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  auto result = nlohmann::json::parse(last);
  EXPECT_EQ(result["event"], "result");
  EXPECT_EQ(result["ok"], true);
  std::string id = result["set_id"];
  auto env = run_gate({"show", "--last", "--env"}, t.path());
  EXPECT_THAT(env.out, HasSubstr("GATE_BACKUP_ID='" + id + "'"));
  auto list = nlohmann::json::parse(run_gate({"--json", "list"}, t.path()).out);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["verified"], "full");
}

TEST(Engine, RunsInTheSameSecondGetDistinctIds) {
  TempDir t;
  make_sample_tree(t / "data", 2);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  ASSERT_EQ(run_gate({"backup"}, t.path()).exit_code, 0);
  EXPECT_EQ(sh("ls backups | sort -u | wc -l", t.path()).out, "3\n");
  EXPECT_EQ(sh("ls backups | grep -c scheduled-", t.path()).out, "1\n");
}

TEST(Engine, TheRecordNamesTheGitCommitBranchAndDirtyFlag) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  EXPECT_TRUE(nlohmann::json::parse(read_file(t / ".last-deployment-backup"))["git"]
                  .is_null()); // not a repository
  auto git =
      sh("git init -q -b release && git -c user.name=t -c user.email=t@t add pipeline.yml && "
         "git -c user.name=t -c user.email=t@t commit -q -m one && git rev-parse HEAD",
         t.path());
  ASSERT_EQ(git.exit_code, 0) << git.all();
  std::string head = git.out.substr(0, git.out.find('\n'));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  auto record = nlohmann::json::parse(read_file(t / ".last-deployment-backup"));
  EXPECT_EQ(record["git"]["commit"], head);
  EXPECT_EQ(record["git_commit"], head);
  EXPECT_EQ(record["git"]["branch"], "release");
  EXPECT_EQ(record["git"]["dirty"], false);
  write_file(t / "pipeline.yml", read_file(t / "pipeline.yml") + "# changed\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(t / ".last-deployment-backup"))["git"]["dirty"], true);
  EXPECT_THAT(run_gate({"show", "--last"}, t.path()).out,
              HasSubstr(head + " on release (uncommitted changes)"));
}

TEST(Engine, ReadingGitLeavesTheDeploysIndexAlone) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  auto git = sh(
      "git init -q && git -c user.name=t -c user.email=t@t add pipeline.yml && "
      "git -c user.name=t -c user.email=t@t commit -q -m one && touch -d 2030-01-01 pipeline.yml",
      t.path());
  ASSERT_EQ(git.exit_code, 0) << git.all();
  // A file touched but unchanged: a plain `git status` would rewrite the index
  // (and take its lock, failing a deploy's own git command running meanwhile).
  std::string index = read_file(t / ".git" / "index");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(t / ".last-deployment-backup"))["git"]["dirty"], false);
  EXPECT_EQ(read_file(t / ".git" / "index"), index);
}

TEST(Engine, SigtermStopsLikeSigint) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  ASSERT_EQ(sh("truncate -s 40G data/huge.img", t.path()).exit_code, 0);
  write_pipeline(t.path(), std::string(k_engine_volume_pipeline) +
                               "stages:\n  - name: backup\n    steps: [{backup: data}]\n");
  fs::create_directories(t / "backups");
  auto run = start_gate({"run"}, t.path());
  std::string partial = wait_for_creation(t / "backups", ".partial-");
  ASSERT_FALSE(wait_for_creation(t / "backups" / partial, "volumes").empty());
  ::kill(run->pid(), SIGTERM);
  auto status = run->wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 130);
  EXPECT_FALSE(fs::exists(t / "backups" / partial));
  EXPECT_FALSE(fs::exists(t / ".last-deployment-backup"));
}

TEST(Engine, LockWaitStillEndsWithExit3NamingTheHolder) {
  TempDir t;
  make_sample_tree(t / "data", 2);
  write_pipeline(t.path(), std::string(k_engine_volume_pipeline) + "lock_wait: 300ms\n");
  fs::create_directories(t / "backups");
  // The test holds the lock itself, as another gate would.
  gate::util::UniqueFd fd(::open((t / "backups" / ".gate.lock").c_str(), O_RDWR | O_CREAT, 0600));
  ASSERT_EQ(::flock(fd.get(), LOCK_EX), 0);
  std::string holder = "pid=4242 started=2026-11-22T01:00:00Z command=gate run\n";
  ASSERT_EQ(::write(fd.get(), holder.data(), holder.size()), static_cast<ssize_t>(holder.size()));
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(
      r.all(),
      HasSubstr("another gate (pid 4242, started 2026-11-22T01:00:00Z, running 'gate run')"));
}

TEST(Engine, ABackupRootThatCannotHoldBackupsFailsTheCheckAndTheRunWithAVerdict) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  // A file where the directory should be.
  write_file(t / "backups", "not a directory\n");
  write_pipeline(t.path(), k_engine_volume_pipeline);
  auto check = run_gate({"check"}, t.path());
  EXPECT_EQ(check.exit_code, 1) << check.all();
  EXPECT_THAT(check.all(),
              HasSubstr("backup_root '" + (t / "backups").string() + "' cannot hold backups"));
  EXPECT_THAT(check.all(), HasSubstr("is not a directory"));
  auto run = run_gate({"run"}, t.path());
  EXPECT_EQ(run.exit_code, 1) << run.all();
  EXPECT_THAT(run.out, HasSubstr("FAILED: unable to open lock file"));

  // A read-only filesystem (root ignores permission bits, so a real read-only mount).
  fs::remove(t / "backups");
  fs::create_directories(t / "backups");
  bool mounted =
      ::geteuid() == 0 &&
      sh("mount -t tmpfs -o ro,size=1m tmpfs '" + (t / "backups").string() + "'").exit_code == 0;
  if (!mounted) fs::permissions(t / "backups", fs::perms::owner_read | fs::perms::owner_exec);
  auto ro = run_gate({"check"}, t.path());
  EXPECT_EQ(ro.exit_code, 1) << ro.all();
  EXPECT_THAT(ro.all(), HasSubstr(mounted ? "Read-only file system" : "Permission denied"));
  auto ro_run = run_gate({"run"}, t.path());
  EXPECT_EQ(ro_run.exit_code, 1) << ro_run.all();
  EXPECT_THAT(ro_run.out, HasSubstr("FAILED: unable to open lock file"));
  if (mounted) sh("umount '" + (t / "backups").string() + "'");
}

TEST(Engine, InvalidUtf8InTheConfigIsRefusedByCheckAndRunWithItsPlace) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), "project: \"caf\xe9\"\nvolumes:\n  - {name: data, path: ./data}\n");
  for (const char *command : {"check", "run"}) {
    auto r = run_gate({command}, t.path());
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.all();
    EXPECT_THAT(r.all(), HasSubstr("pipeline.yml:2:14: invalid UTF-8 (byte 0xe9)")) << command;
  }
  EXPECT_FALSE(fs::exists(t / "backups")); // refused before anything was written
}

TEST(Engine, NamesThatAreNotUtf8AreBackedUpVerifiedRecordedAndRolledBack) {
  TempDir t;
  // A directory and a file whose names are Latin-1 bytes: legal on Linux, not UTF-8.
  fs::path dir = t / "d\xe9p\xf4t";
  make_sample_tree(dir, 3);
  write_file(dir / "caf\xe9.txt", "original\n");
  write_pipeline(t.path(), "volumes:\n  - {name: data, path: '${GATE_TEST_DATA_DIR}'}\n");
  std::map<std::string, std::string> env{{"GATE_TEST_DATA_DIR", dir.string()}};
  auto r = run_gate({"--json", "run"}, t.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_FALSE(
      nlohmann::json::parse(r.out.substr(r.out.rfind("\n{") + 1), nullptr, false).is_discarded())
      << r.out;
  auto manifest = nlohmann::json::parse(read_file(fs::path(set_dir(t)) / "manifest.json"));
  EXPECT_EQ(manifest["status"], "complete");
  EXPECT_FALSE(nlohmann::json::parse(read_file(t / ".last-deployment-backup"), nullptr, false)
                   .is_discarded());
  auto verify = run_gate({"verify", "--last"}, t.path(), env);
  EXPECT_EQ(verify.exit_code, 0) << verify.all();
  auto show = run_gate({"show", "--last", "--json"}, t.path(), env);
  EXPECT_EQ(show.exit_code, 0) << show.all();
  EXPECT_FALSE(nlohmann::json::parse(show.out, nullptr, false).is_discarded()) << show.out;
  write_file(dir / "caf\xe9.txt", "changed by a bad deploy\n");
  auto rollback = run_gate({"rollback", "--last", "--yes"}, t.path(), env);
  ASSERT_EQ(rollback.exit_code, 0) << rollback.all();
  EXPECT_EQ(read_file(dir / "caf\xe9.txt"), "original\n");
}

TEST(Engine, SizesAndDurationsAreReadStrictlyByTheBinary) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), "volumes:\n  - {name: data, path: ./data, min_size: 1.5.5MiB}\n");
  auto size = run_gate({"check"}, t.path());
  EXPECT_EQ(size.exit_code, 2) << size.all();
  EXPECT_THAT(size.all(), HasSubstr("pipeline.yml:3:42: invalid size '1.5.5MiB'"));
  write_pipeline(t.path(),
                 "lock_wait: 99999999999999999999h\nvolumes:\n  - {name: data, path: ./data}\n");
  auto wait = run_gate({"run"}, t.path());
  EXPECT_EQ(wait.exit_code, 2) << wait.all();
  EXPECT_THAT(wait.all(),
              HasSubstr("pipeline.yml:2:12: duration '99999999999999999999h' is too long"));
}

TEST(Engine, AMistypedKeyIsNamedBeforeTheKeyItShouldHaveBeen) {
  TempDir t;
  write_pipeline(t.path(), "project: p\nenvironment: e\nvolumes:\n  - name: d\n    pth: /tmp\n");
  auto r = run_gate({"check"}, t.path());
  EXPECT_EQ(r.exit_code, 2) << r.all();
  EXPECT_THAT(r.all(),
              HasSubstr("pipeline.yml:6:5: unknown key 'pth' in a volume (did you mean 'path'?)"));
  EXPECT_THAT(r.all(), Not(HasSubstr("needs 'path'")));
}

namespace {
// A tmpfs mounted for one test and unmounted after it, even when it fails.
class SmallTmpfs {
public:
  SmallTmpfs(const fs::path &dir, const std::string &size) : m_dir(dir) {
    fs::create_directories(dir);
    m_mounted =
        sh("mount -t tmpfs -o size=" + size + " tmpfs '" + dir.string() + "'").exit_code == 0;
  }
  ~SmallTmpfs() {
    if (m_mounted) sh("umount '" + m_dir.string() + "'");
  }
  bool mounted() const { return m_mounted; }

private:
  fs::path m_dir;
  bool m_mounted = false;
};
} // namespace

TEST(Engine, AFullDiskWhileArchivingSaysNoSpaceLeftAndWhere) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  TempDir t;
  SmallTmpfs full(t / "full", "2m");
  ASSERT_TRUE(full.mounted());
  ASSERT_EQ(sh("mkdir data && head -c 6000000 /dev/urandom > data/big.bin", t.path()).exit_code, 0);
  for (const char *compression : {"none", "zstd", "gzip"}) {
    write_pipeline(
        t.path(),
        std::string("backup_root: ./full\nvolumes:\n  - {name: data, path: ./data, compression: ") +
            compression + "}\n");
    auto r = run_gate({"backup"}, t.path());
    EXPECT_EQ(r.exit_code, 1) << compression << ": " << r.all();
    EXPECT_THAT(r.all(), HasSubstr("No space left on device")) << compression;
    EXPECT_THAT(r.all(), HasSubstr("unable to write '" + (t / "full").string() + "/"))
        << compression;
    EXPECT_THAT(r.all(), Not(HasSubstr("unknown libarchive error"))) << compression;
    sh("rm -rf full/.partial-* full/.failed-*", t.path()); // room for the next compression
  }
}

TEST(Engine, TheCommitRecordedIsThePipelinesRepositoryWhereverGateRuns) {
  TempDir t;
  const std::string commit = "git -c user.name=t -c user.email=t@t commit -q --allow-empty -m";
  auto app =
      sh("mkdir app other && cd app && git init -q && " + commit + " app && git rev-parse HEAD",
         t.path());
  ASSERT_EQ(app.exit_code, 0) << app.all();
  ASSERT_EQ(sh("cd other && git init -q && " + commit + " other", t.path()).exit_code, 0);
  make_sample_tree(t / "app" / "data", 3);
  write_pipeline(t / "app", k_engine_volume_pipeline);
  auto r = run_gate({"--config", "../app/pipeline.yml", "run"}, t / "other");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  auto record = nlohmann::json::parse(read_file(t / "app" / ".last-deployment-backup"));
  EXPECT_EQ(record["git"]["commit"], app.out.substr(0, app.out.find('\n')));
}

TEST(Engine, ARepositoryWithoutACommitGivesAWarning) {
  TempDir t;
  ASSERT_EQ(sh("git init -q", t.path()).exit_code, 0);
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr("warning: the git repository at '" + t.path().string() +
                               "' has no commit yet"));
  EXPECT_TRUE(
      nlohmann::json::parse(read_file(t / ".last-deployment-backup"))["git"]["commit"].is_null());
}

TEST(Engine, StatusSaysFreshStaleFailedOrMissingWithOneLine) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), k_engine_volume_pipeline);
  auto none = run_gate({"status"}, t.path());
  EXPECT_EQ(none.exit_code, 1) << none.all();
  EXPECT_THAT(none.out, HasSubstr("FAILED: there is no verified backup set"));
  ASSERT_EQ(run_gate({"backup"}, t.path()).exit_code, 0);
  auto fresh = run_gate({"--json", "status", "--max-age", "26h"}, t.path());
  EXPECT_EQ(fresh.exit_code, 0) << fresh.all();
  auto j = nlohmann::json::parse(fresh.out);
  EXPECT_EQ(j["newest_verified_set"]["id"], newest_set(t / "backups"));
  EXPECT_EQ(j["last_run"]["command"], "backup");
  EXPECT_TRUE(j["last_run"]["ok"].get<bool>());
  EXPECT_TRUE(j["newest_verified_set"]["predicted_rollback_ms"]
                  .is_number()); // a volume's restore is measured by its backup
  auto stale = run_gate({"status", "--max-age", "1ms"}, t.path());
  EXPECT_EQ(stale.exit_code, 1) << stale.all();
  EXPECT_THAT(stale.out, HasSubstr("more than --max-age"));
  auto bad = run_gate({"status", "--max-age", "soon"}, t.path());
  EXPECT_EQ(bad.exit_code, 2) << bad.all();
  EXPECT_THAT(bad.all(), HasSubstr("--max-age: invalid duration 'soon'"));
  fs::remove_all(t / "data");
  EXPECT_EQ(run_gate({"backup"}, t.path()).exit_code, 1);
  auto failed = run_gate({"status"}, t.path());
  EXPECT_EQ(failed.exit_code, 1) << failed.all();
  EXPECT_THAT(failed.out, HasSubstr("FAILED: the last run (gate backup at"));
}

TEST(Engine, MinFreeOnTheBackupRootFailsThePreflightAndTheStatus) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), std::string(k_engine_volume_pipeline) + "min_free: 1000000TiB\n");
  auto check = run_gate({"check"}, t.path());
  EXPECT_EQ(check.exit_code, 1) << check.all();
  EXPECT_THAT(check.all(), HasSubstr("below min_free"));
  write_pipeline(t.path(), k_engine_volume_pipeline);
  ASSERT_EQ(run_gate({"backup"}, t.path()).exit_code, 0);
  write_pipeline(t.path(), std::string(k_engine_volume_pipeline) + "min_free: 1000000TiB\n");
  auto status = run_gate({"status"}, t.path());
  EXPECT_EQ(status.exit_code, 1) << status.all();
  EXPECT_THAT(status.out, HasSubstr("FAILED: only"));
  EXPECT_THAT(status.out, HasSubstr("below min_free"));
}

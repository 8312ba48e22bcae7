// Real faults, not simulated ones: a disk that fills up (a small tmpfs)
// during a dump, an archive, the record write, a rollback's staging and a
// download from the remote, the database terminating gate's pg_dump
// mid-dump and its restore mid-restore, and the server stopped
// (`pg_ctl stop -m immediate`) mid-dump and mid-restore. Each ends with a
// clear error and exit code, within a bounded time, and nothing lost.
#include "faults/fault_project.hpp"
#include "integration/s3_server.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

using namespace gate::test;
using ::testing::HasSubstr;

namespace {

// A tmpfs of `size` mounted at `dir` for the test's lifetime.
class SmallDisk {
public:
  SmallDisk(const fs::path &dir, const std::string &size) : m_dir(dir) {
    fs::create_directories(dir);
    std::string options = "size=" + size + ",mode=0755";
    m_mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!m_mounted) m_error = std::strerror(errno);
  }
  ~SmallDisk() {
    if (m_mounted) ::umount2(m_dir.c_str(), MNT_DETACH);
  }
  bool mounted() const { return m_mounted; }
  const std::string &error() const { return m_error; }
  // Fills what is left with a file.
  void fill() const { sh("dd if=/dev/zero of=filler bs=4k >/dev/null 2>&1 || true", m_dir); }

private:
  fs::path m_dir;
  bool m_mounted = false;
  std::string m_error;
};

#define REQUIRE_MOUNTED(disk)                                                                      \
  if (!(disk).mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << (disk).error()

std::vector<std::string> secrets() {
  return {PgServer::get().password()};
}

// Incompressible rows, so that a dump of them takes `mib` MiB or so.
void add_big_table(const std::string &db, int mib, const PgServer &server = PgServer::get()) {
  server.psql(db,
              "CREATE TABLE big AS SELECT g AS id, string_agg(md5(random()::text), '') AS pad FROM "
              "generate_series(1, " +
                  std::to_string(mib * 1024) + ") g, generate_series(1, 32) r GROUP BY g");
}

void expect_no_space_failure(const Timed &t) {
  EXPECT_EQ(t.result.exit_code, 1) << t.result.all();
  EXPECT_THAT(t.result.all(), HasSubstr("No space left on device"));
  EXPECT_LT(t.took, k_bound);
}

// A project whose backup_root is a 1 MiB tmpfs, with one good set in it.
struct FullDiskProject {
  FaultProject project;
  SmallDisk disk;
  explicit FullDiskProject(const std::string &db)
      : project(db, {}), disk(project.dir() / "small", "1m") {}
  void configure_and_back_up() {
    ProjectOptions o;
    o.backup_root = "small/backups";
    o.extra = "space_factor: 0\n"; // the pre-flight estimate is not what is tested here
    project.configure(o);
    auto r = project.gate({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.all();
  }
  // After one good run, `grow` makes the next run's output too big for the
  // disk: that run fails naming `what`, and the good set stays as it was.
  void expect_run_fills_it(const std::function<void()> &grow, const std::string &what) {
    configure_and_back_up();
    if (::testing::Test::HasFatalFailure()) return;
    grow();
    auto before = project.snapshot();
    auto t = timed_gate(project, {"run"});
    expect_no_space_failure(t);
    EXPECT_THAT(t.result.all(), HasSubstr(what));
    project.expect_intact(before, secrets());
  }
};

} // namespace

TEST(RealFaults, ADiskThatFillsDuringADumpFailsTheRunAndKeepsTheLastGoodSet) {
  FullDiskProject f("rf_enospc_dump");
  REQUIRE_MOUNTED(f.disk);
  f.expect_run_fills_it([&] { add_big_table(f.project.db(), 3); }, "backup app");
}

TEST(RealFaults, ADiskThatFillsDuringAnArchiveFailsTheRunAndKeepsTheLastGoodSet) {
  FullDiskProject f("rf_enospc_archive");
  REQUIRE_MOUNTED(f.disk);
  f.expect_run_fills_it(
      [&] { sh("head -c 3000000 /dev/urandom > files/big.bin", f.project.dir()); }, "files.tar");
}

TEST(RealFaults, ARecordOnAFullDiskFailsTheRunAndTheOldRecordStays) {
  FaultProject p("rf_enospc_record", {});
  SmallDisk disk(p.dir() / "rec", "64k");
  REQUIRE_MOUNTED(disk);
  ProjectOptions o;
  o.record = "rec/last-deployment.json";
  p.configure(o);
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  disk.fill();
  auto before = p.snapshot();
  auto t = timed_gate(p, {"run"});
  expect_no_space_failure(t);
  EXPECT_THAT(t.result.all(), HasSubstr("rec/last-deployment.json"));
  p.expect_intact(before, secrets());
}

TEST(RealFaults, ARollbackWhoseStagingFillsTheDiskLeavesTheVolumeAsItWas) {
  FaultProject p("rf_enospc_staging", {});
  SmallDisk disk(p.dir() / "vol", "1m");
  REQUIRE_MOUNTED(disk);
  make_sample_tree(p.dir() / "vol" / "data", 4);
  ProjectOptions o;
  o.volumes = "  - {name: vol, path: ./vol/data}\n";
  p.configure(o);
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  fs::remove(p.dir() / "vol" / "data" / "docs" / "file1.txt");
  disk.fill();
  std::string live =
      sh("find . -printf '%p %s %m\\n' | sort; md5sum blob.bin", p.dir() / "vol" / "data").out;
  auto t = timed_gate(p, {"rollback", "--last", "--yes", "--only", "volumes"});
  EXPECT_EQ(t.result.exit_code, 4) << t.result.all();
  EXPECT_THAT(t.result.all(), HasSubstr("No space left on device"));
  EXPECT_THAT(t.result.all(), HasSubstr("vol"));
  EXPECT_LT(t.took, k_bound);
  EXPECT_EQ(
      sh("find . -printf '%p %s %m\\n' | sort; md5sum blob.bin", p.dir() / "vol" / "data").out,
      live)
      << "the live volume must be wholly old";
}

// `gate fetch` bringing a set home into a backup_root that fills up midway:
// the download fails naming the disk error, nothing half-fetched is kept or
// listed, the remote copy stays complete, and once there is room the same
// command brings the set home whole.
TEST(RealFaults, ADownloadThatFillsTheDiskKeepsNothingHalfFetchedAndTheNextFetchSucceeds) {
  S3Server s3({"gate-full"});
  FaultProject p("rf_enospc_fetch", {{"AWS_ACCESS_KEY_ID", s3.access_key_id()},
                                     {"AWS_SECRET_ACCESS_KEY", s3.secret_access_key()}});
  SmallDisk disk(p.dir() / "small", "8m");
  REQUIRE_MOUNTED(disk);
  sh("head -c 3000000 /dev/urandom > files/big.bin", p.dir());
  ProjectOptions o;
  o.backup_root = "small/backups";
  o.remote_endpoint = s3.endpoint();
  o.bucket = "gate-full";
  o.extra = "space_factor: 0\n";
  p.configure(o);
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  std::string id = newest_set(p.backups());
  fs::remove_all(p.backups() / id); // this host lost its copy
  // 8 MiB less 6 MiB: room for a part of the 3 MB archive's download.
  ASSERT_EQ(sh("head -c 6291456 /dev/zero > filler", p.dir() / "small").exit_code, 0);
  std::vector<std::string> secrets{PgServer::get().password(), s3.secret_access_key()};
  auto before = p.snapshot();

  auto t = timed_gate(p, {"fetch", "--remote", "offsite", id});
  expect_no_space_failure(t);
  EXPECT_THAT(t.result.all(), HasSubstr("set '" + id + "' was not fetched"));
  EXPECT_THAT(t.result.all(), HasSubstr("files.tar")) << "the file being written when it failed";
  EXPECT_FALSE(fs::exists(p.backups() / id)) << "nothing half-fetched is kept";
  auto list = p.gate({"list", "--json"});
  EXPECT_THAT(list.out, ::testing::Not(HasSubstr(id))) << list.all();
  auto remote = p.gate({"verify", "--remote", "offsite", id, "--quick"});
  EXPECT_EQ(remote.exit_code, 0) << "the remote copy stays complete: " << remote.all();
  p.expect_intact(before, secrets);

  fs::remove(p.dir() / "small" / "filler");
  auto again = p.gate({"fetch", "--remote", "offsite", id});
  ASSERT_EQ(again.exit_code, 0) << again.all();
  auto check = sh("sha256sum -c --quiet checksums.sha256", p.backups() / id);
  EXPECT_EQ(check.exit_code, 0) << check.all();
}

TEST(RealFaults, TheDatabaseTerminatingPgDumpMidDumpFailsTheRunClearly) {
  FaultProject p("rf_terminated", {});
  p.configure({});
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  add_big_table(p.db(), 4);
  auto before = p.snapshot();
  auto t = gate_with_fault_at(p, {"run"}, "run.mid-dump", [&] {
    auto killed = PgServer::get().value(
        "postgres",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" + p.db() +
            "' AND pid <> pg_backend_pid()");
    EXPECT_NE(killed, "0");
  });
  EXPECT_EQ(t.result.exit_code, 1) << t.result.all();
  EXPECT_THAT(t.result.all(), HasSubstr("pg_dump"));
  EXPECT_THAT(t.result.all(), HasSubstr("backup app"));
  EXPECT_LT(t.took, k_bound);
  p.expect_intact(before, secrets());
  EXPECT_EQ(p.gate({"run"}).exit_code, 0);
}

// The database ending the restore's session (pg_terminate_backend, as an
// administrator or a failover would) while a rollback streams the dump in:
// the rollback fails for that target, the database is wholly old, and the
// same rollback then succeeds.
TEST(RealFaults, TheDatabaseTerminatingTheRestoreLeavesTheDatabaseWhollyOld) {
  FaultProject p("rf_terminated_restore", {});
  p.configure({});
  add_big_table(p.db(), 2);
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  std::string backed_up = p.orders();
  PgServer::get().psql(p.db(), "DELETE FROM orders WHERE id % 2 = 0");
  std::string live = p.orders();
  auto before = p.snapshot();
  std::string id = recorded_id(before.record);
  std::vector<std::string> rollback{"rollback", id, "--yes", "--only", "db"};
  // The restore writes into <db>_gate_new (recreate mode); pg_restore
  // connects once it has read the dump's table of contents, which the bytes
  // sent before the point hold: its session is awaited, then ended.
  std::string restoring = "datname = '" + p.db() + "_gate_new' AND backend_type = 'client backend'";
  auto t = gate_with_fault_at(p, rollback, "rollback.mid-restore", [&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (PgServer::get().value("postgres",
                                 "SELECT count(*) FROM pg_stat_activity WHERE " + restoring) == "0")
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the restore never connected";
    auto killed = PgServer::get().value(
        "postgres",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE " + restoring);
    EXPECT_NE(killed, "0") << "the restore's session was not found";
  });
  std::string out = t.result.all();
  EXPECT_EQ(t.result.exit_code, 4) << out;
  EXPECT_THAT(out, HasSubstr("restore app"));
  EXPECT_THAT(out, HasSubstr("unchanged ("));
  EXPECT_THAT(out, HasSubstr("to finish by hand: gate rollback " + id + " --only db --yes"));
  EXPECT_LT(t.took, k_bound);
  EXPECT_EQ(p.orders(), live) << "the database must be wholly old";
  p.expect_intact(before, secrets());
  auto again = p.gate(rollback);
  EXPECT_EQ(again.exit_code, 0) << again.all();
  EXPECT_EQ(p.orders(), backed_up);
}

// The server itself stopped as a crash would stop it (`pg_ctl stop -m
// immediate`): a private one, so the suite's shared server stays up.
TEST(RealFaults, TheServerStoppedMidDumpFailsTheRunNamingTheDatabase) {
  PgServer pg;
  pg.start_private();
  FaultProject p("rf_stopped_dump", {}, pg);
  p.configure({});
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  add_big_table(p.db(), 4, pg);
  std::string rows = p.orders();
  auto before = p.snapshot();
  auto t = gate_with_fault_at(p, {"run"}, "run.mid-dump", [&] { pg.halt(); });
  EXPECT_EQ(t.result.exit_code, 1) << t.result.all();
  EXPECT_THAT(t.result.all(), HasSubstr("backup app"));
  EXPECT_THAT(t.result.all(), HasSubstr("database 'app' (gate@127.0.0.1:" +
                                        std::to_string(pg.port()) + "/rf_stopped_dump)"));
  EXPECT_LT(t.took, k_bound);
  EXPECT_EQ(read_file(p.record()), before.record) << "while the server is down";
  pg.resume();
  p.expect_intact(before, {pg.password()});
  EXPECT_EQ(p.orders(), rows);
  auto next = p.gate({"run"});
  EXPECT_EQ(next.exit_code, 0) << next.all();
}

// The same stop while a rollback restores the database, in either mode.
class ServerStoppedMidRestore : public ::testing::TestWithParam<std::string> {};

TEST_P(ServerStoppedMidRestore, LeavesTheDatabaseWhollyOldAndSaysWhatToDo) {
  const std::string mode = GetParam();
  PgServer pg;
  pg.start_private();
  FaultProject p("rf_stopped_" + mode, {}, pg);
  ProjectOptions o;
  o.database = "mode: " + mode;
  p.configure(o);
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  std::string backed_up = p.orders();
  pg.psql(p.db(), "DELETE FROM orders WHERE id % 2 = 0");
  std::string live = p.orders();
  auto before = p.snapshot();
  std::string id = recorded_id(before.record);
  std::vector<std::string> rollback{"rollback", id, "--yes", "--only", "db"};
  auto t = gate_with_fault_at(p, rollback, "rollback.mid-restore", [&] { pg.halt(); });
  std::string out = t.result.all();
  EXPECT_EQ(t.result.exit_code, 4) << out;
  EXPECT_THAT(out, HasSubstr("restore app"));
  EXPECT_THAT(out, HasSubstr("unchanged (")); // and which database, on which server:
  EXPECT_THAT(out, HasSubstr("database 'app' (gate@127.0.0.1:" + std::to_string(pg.port()) + "/" +
                             p.db() + "): every dump failed to restore"));
  EXPECT_THAT(out, HasSubstr("to finish by hand: gate rollback " + id + " --only db --yes"));
  if (mode == "recreate") // the partial copy the server kept, and how to drop it
    EXPECT_THAT(out, HasSubstr("DROP DATABASE IF EXISTS \"" + p.db() + "_gate_new\""));
  else // how to open the database again, which the next gate does by itself
    EXPECT_THAT(out, HasSubstr("the next gate will retry, or run: ALTER DATABASE \"" + p.db() +
                               "\" CONNECTION LIMIT"));
  EXPECT_LT(t.took, k_bound);
  EXPECT_EQ(read_file(p.record()), before.record) << "while the server is down";
  pg.resume();
  EXPECT_EQ(p.orders(), live) << "the database must be wholly old: nothing was committed";
  p.expect_intact(before, {pg.password()});
  auto again = p.gate(rollback);
  EXPECT_EQ(again.exit_code, 0) << again.all();
  EXPECT_EQ(p.orders(), backed_up);
  EXPECT_EQ(
      pg.value("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '%_gate_new'"),
      "0");
  auto next = p.gate({"run"});
  EXPECT_EQ(next.exit_code, 0) << next.all();
}

INSTANTIATE_TEST_SUITE_P(RealFaults, ServerStoppedMidRestore,
                         ::testing::Values("recreate", "clean"));

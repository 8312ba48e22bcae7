// Real faults, not simulated ones: a disk that fills up (a small tmpfs)
// during a dump, an archive, the record write and a rollback's staging, and
// the database terminating gate's pg_dump mid-dump. Each ends with a clear
// error and exit code, within a bounded time, and nothing lost.
#include "faults/fault_project.hpp"
#include <cerrno>
#include <chrono>
#include <cstring>
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

constexpr auto k_bound = std::chrono::seconds(60);

std::vector<std::string> secrets() {
  return {PgServer::get().password()};
}

// Incompressible rows, so that a dump of them takes `mib` MiB or so.
void add_big_table(const std::string &db, int mib) {
  PgServer::get().psql(
      db, "CREATE TABLE big AS SELECT g AS id, string_agg(md5(random()::text), '') AS pad FROM "
          "generate_series(1, " +
              std::to_string(mib * 1024) + ") g, generate_series(1, 32) r GROUP BY g");
}

struct Timed {
  CommandResult result;
  std::chrono::steady_clock::duration took;
};

Timed timed_gate(const FaultProject &p, const std::vector<std::string> &args) {
  auto start = std::chrono::steady_clock::now();
  auto r = p.gate(args);
  return {r, std::chrono::steady_clock::now() - start};
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
};

void expect_no_space_failure(const Timed &t) {
  EXPECT_EQ(t.result.exit_code, 1) << t.result.all();
  EXPECT_THAT(t.result.all(), HasSubstr("No space left on device"));
  EXPECT_LT(t.took, k_bound);
}

} // namespace

TEST(RealFaults, ADiskThatFillsDuringADumpFailsTheRunAndKeepsTheLastGoodSet) {
  FullDiskProject f("rf_enospc_dump");
  REQUIRE_MOUNTED(f.disk);
  f.configure_and_back_up();
  if (HasFatalFailure()) return;
  add_big_table(f.project.db(), 3);
  auto before = f.project.snapshot();
  auto t = timed_gate(f.project, {"run"});
  expect_no_space_failure(t);
  EXPECT_THAT(t.result.all(), HasSubstr("backup app"));
  f.project.expect_intact(before, secrets());
}

TEST(RealFaults, ADiskThatFillsDuringAnArchiveFailsTheRunAndKeepsTheLastGoodSet) {
  FullDiskProject f("rf_enospc_archive");
  REQUIRE_MOUNTED(f.disk);
  f.configure_and_back_up();
  if (HasFatalFailure()) return;
  sh("head -c 3000000 /dev/urandom > files/big.bin", f.project.dir());
  auto before = f.project.snapshot();
  auto t = timed_gate(f.project, {"run"});
  expect_no_space_failure(t);
  EXPECT_THAT(t.result.all(), HasSubstr("files.tar"));
  f.project.expect_intact(before, secrets());
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

TEST(RealFaults, TheDatabaseTerminatingPgDumpMidDumpFailsTheRunClearly) {
  FaultProject p("rf_terminated", {});
  p.configure({});
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  add_big_table(p.db(), 4);
  auto before = p.snapshot();
  auto env = p.env();
  fs::path resume = p.dir() / ".resume";
  env["GATE_FAULT_RESUME"] = resume.string();
  auto start = std::chrono::steady_clock::now();
  auto gate = start_gate_at_fault({"run"}, p.dir(), "run.mid-dump", env);
  auto killed = PgServer::get().value(
      "postgres",
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" + p.db() +
          "' AND pid <> pg_backend_pid()");
  EXPECT_NE(killed, "0");
  write_file(resume, "");
  auto r = finish_gate(*gate);
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("pg_dump"));
  EXPECT_THAT(r.all(), HasSubstr("backup app"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, k_bound);
  p.expect_intact(before, secrets());
  EXPECT_EQ(p.gate({"run"}).exit_code, 0);
}

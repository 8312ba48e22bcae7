// Volume standbys (`standby: true`) on real directories and a real Podman
// named volume: the deep verify that measures a restore, the standby built
// by `gate run` beside the live directory, the rollback that renames it in
// (and its fallback when the standby cannot be trusted), a kill between the
// two renames repaired, the swap back, and the pre-flight refusals.
#include "integration/podman_fixture.hpp"
#include "model/swap_journal.hpp"
#include "steps/swap.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// Every entry's mode, owner, type, size and path, and every file's SHA-256.
std::string owned_tree(const fs::path &dir) {
  return sh("cd '" + dir.string() +
            "' && find . -printf '%m %U:%G %y %s %p\\n' | sort && find . -type f -exec sha256sum "
            "{} + | sort")
      .out;
}

// A tree with files owned by another user and unusual modes.
void make_owned_tree(const fs::path &dir) {
  make_sample_tree(dir, 12);
  ASSERT_EQ(sh("chown 1234:2345 docs/file1.txt && chmod 640 docs/file1.txt && mkdir -m 750 "
               "private && chown 4321:4321 private && echo secret > private/key && chmod 600 "
               "private/key",
               dir)
                .exit_code,
            0);
}

nlohmann::json manifest_of(const fs::path &root) {
  return nlohmann::json::parse(
      read_file(root / "backups" / newest_set(root / "backups") / "manifest.json"));
}

std::string hidden_siblings(const fs::path &dir, const std::string &pattern) {
  return sh("ls -a | grep -c -- '" + pattern + "' || true", dir).out;
}

const std::string k_standby_pipeline =
    "volumes:\n  - {name: files, path: ./files, standby: true}\n";

// A directory with a standby, backed up; the live tree then damaged.
struct Prepared {
  std::string original, damaged;
};
Prepared standby_and_damage(const TempDir &t) {
  make_owned_tree(t / "files");
  write_pipeline(t.path(), k_standby_pipeline);
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  Prepared p{owned_tree(t / "files"), {}};
  fs::remove(t / "files" / "docs" / "file2.txt");
  write_file(t / "files" / "after.txt", "written after the backup\n");
  p.damaged = owned_tree(t / "files");
  return p;
}

gate::model::SwapEntry only_swap(const fs::path &root) {
  auto journal = gate::model::SwapJournal::load(root / "backups");
  EXPECT_TRUE(journal.has_value());
  EXPECT_EQ(journal->entries().size(), 1u);
  return journal->entries().empty() ? gate::model::SwapEntry{} : journal->entries().front();
}

} // namespace

TEST(VolumeStandby, DeepVerifyExtractsForRealRecordsTheRestoreTimeAndLeavesNoScratch) {
  TempDir t;
  make_sample_tree(t / "files", 20);
  write_pipeline(t.path(), "volumes:\n  - {name: files, path: ./files}\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  auto v = run_gate({"verify", "--last", "--deep"}, t.path());
  ASSERT_EQ(v.exit_code, 0) << v.all();
  bool measured = false;
  auto m = manifest_of(t.path());
  for (const auto &ver : m["verifications"])
    if (ver["level"] == "deep" && ver["metrics"].contains("restore_ms")) measured = true;
  EXPECT_TRUE(measured) << m.dump(1);
  EXPECT_EQ(hidden_siblings(t.path(), "gate-verify"), "0\n");
  EXPECT_EQ(hidden_siblings(t / "backups", "gate-verify"), "0\n");
  auto plan = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(plan.out, HasSubstr("(measured by deep verify)"));

  // A damaged archive fails the deep verify, and its scratch directory goes too.
  std::string archive =
      (t / "backups" / newest_set(t / "backups") / "volumes" / "files.tar.zst").string();
  ASSERT_EQ(sh("printf 'XXXXXXXX' | dd of='" + archive + "' bs=1 seek=200 conv=notrunc").exit_code,
            0);
  auto bad = run_gate({"verify", "--last", "--deep"}, t.path());
  EXPECT_NE(bad.exit_code, 0) << bad.all();
  EXPECT_EQ(hidden_siblings(t.path(), "gate-verify"), "0\n");
}

TEST(VolumeStandby, ARunKeepsAVerifiedStandbyAndTheRollbackRenamesItIn) {
  TempDir t;
  Prepared p = standby_and_damage(t);
  fs::path standby = t / ".files.gate-standby";
  ASSERT_TRUE(fs::is_directory(standby));
  EXPECT_EQ(owned_tree(standby), p.original); // owners and modes kept
  auto m = manifest_of(t.path());
  const auto &d = m["artifacts"][0]["details"];
  EXPECT_EQ(d["standby"]["path"], standby.string());
  EXPECT_EQ(d["standby"]["set_id"], m["id"]);
  EXPECT_EQ(d["standby"]["fingerprint"].get<std::string>().size(), 64u);
  EXPECT_GT(d["standby"]["entries"].get<int>(), 10);
  EXPECT_TRUE(d["standby"].contains("build_ms") && d["standby"].contains("bytes"));
  EXPECT_TRUE(d["standby"].contains("check_ms"));
  EXPECT_TRUE(d.contains("restore_ms"));

  auto dry = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  ASSERT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_THAT(dry.out, HasSubstr("rename standby " + standby.string() + " into place"));
  EXPECT_THAT(dry.out, HasSubstr("no safety snapshot on this path because the replaced data is "
                                 "kept"));
  EXPECT_THAT(dry.out, HasSubstr("a standby swap, measured when it was built"));
  EXPECT_THAT(dry.out, Not(HasSubstr("first: a safety snapshot")));
  EXPECT_EQ(owned_tree(t / "files"), p.damaged);

  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(owned_tree(t / "files"), p.original);
  EXPECT_FALSE(fs::exists(standby));
  auto swap = only_swap(t.path());
  EXPECT_EQ(swap.state, gate::model::SwapState::done);
  EXPECT_EQ(owned_tree(swap.replaced), p.damaged); // the replaced data is kept
  EXPECT_EQ(sh("ls backups | grep -c pre-rollback- || true", t.path()).out, "0\n");

  // Used once: the next rollback says why it restores from the set instead.
  auto again = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(again.out, HasSubstr("standby of files not used: its standby " + standby.string() +
                                   " is missing"));
}

TEST(VolumeStandby, SwapBackTwiceAndDropTheReplacedCopy) {
  TempDir t;
  Prepared p = standby_and_damage(t);
  ASSERT_EQ(run_gate({"rollback", "--last", "--yes"}, t.path()).exit_code, 0);
  const auto *ops = gate::steps::swap_ops_for("volume");
  ASSERT_NE(ops, nullptr);
  gate::config::PipelineConfig config;
  auto swap = only_swap(t.path());
  ASSERT_TRUE(ops->swap_back(config, swap)) << "first swap back";
  EXPECT_EQ(swap.state, gate::model::SwapState::undone);
  EXPECT_EQ(owned_tree(t / "files"), p.damaged);
  EXPECT_EQ(owned_tree(swap.replaced), p.original);
  ASSERT_TRUE(ops->swap_back(config, swap)) << "second swap back";
  EXPECT_EQ(swap.state, gate::model::SwapState::done);
  EXPECT_EQ(owned_tree(t / "files"), p.original);
  ASSERT_TRUE(ops->drop_replaced(config, swap));
  EXPECT_FALSE(fs::exists(swap.replaced));
  auto gone = ops->swap_back(config, swap);
  ASSERT_FALSE(gone);
  EXPECT_THAT(gone.error().message, HasSubstr("is missing"));
  EXPECT_EQ(owned_tree(t / "files"), p.original);
}

TEST(VolumeStandby, ATamperedStandbyIsNotTrustedAndTheRollbackRestoresFromTheSet) {
  TempDir t;
  Prepared p = standby_and_damage(t);
  write_file(t / ".files.gate-standby" / "docs" / "file1.txt", "tampered\n");
  auto dry = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(dry.out, HasSubstr("standby of files not used"));
  EXPECT_THAT(dry.out, HasSubstr("changed since it was verified"));
  EXPECT_THAT(dry.out, HasSubstr("replace directory"));
  EXPECT_THAT(dry.out, HasSubstr("first: a safety snapshot"));
  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(owned_tree(t / "files"), p.original);
  EXPECT_EQ(sh("ls backups | grep -c pre-rollback- || true", t.path()).out, "1\n");
  EXPECT_EQ(hidden_siblings(t.path(), "replaced-"), "0\n");
  // A redirected rollback says why it cannot use the standby.
  auto forced = run_gate(
      {"rollback", "--last", "--dry-run", "--target", "files=" + (t / "elsewhere").string()},
      t.path());
  EXPECT_THAT(forced.out, HasSubstr("standby of files not used: the volume is redirected"));
}

TEST(VolumeStandby, AKillMidSwapNeverLeavesTheLiveNameMissingAndIsFinishedByTheNextGate) {
  TempDir t;
  Prepared p = standby_and_damage(t);
  auto gate = start_gate_at_fault({"rollback", "--last", "--yes"}, t.path(),
                                  "volume-standby.between-renames");
  ASSERT_TRUE(gate);
  ::kill(gate->pid(), SIGKILL);
  (void)gate->wait();
  // The standby took the live name in one exchange; the old data is at its path.
  EXPECT_EQ(owned_tree(t / "files"), p.original);
  EXPECT_EQ(owned_tree(t / ".files.gate-standby"), p.damaged);
  auto swap = only_swap(t.path());
  ASSERT_EQ(swap.state, gate::model::SwapState::begun);

  gate::config::PipelineConfig config;
  auto repaired = gate::steps::swap_ops_for("volume")->repair(config, swap);
  ASSERT_TRUE(repaired) << repaired.error().message;
  EXPECT_THAT(*repaired, HasSubstr("after the standby took the live name; it is finished"));
  EXPECT_EQ(swap.state, gate::model::SwapState::done);
  EXPECT_EQ(owned_tree(t / "files"), p.original);
  EXPECT_EQ(owned_tree(swap.replaced), p.damaged);
  EXPECT_FALSE(fs::exists(t / ".files.gate-standby"));
  // Repairing what is whole changes nothing more.
  auto twice = gate::steps::swap_ops_for("volume")->repair(config, swap);
  ASSERT_TRUE(twice);
  EXPECT_THAT(*twice, HasSubstr("had completed"));
  auto journal = gate::model::SwapJournal::load(t / "backups");
  ASSERT_TRUE(journal && journal->record(swap));

  // The journal knows the swap: --undo puts the old data back.
  auto undo = run_gate({"rollback", "--undo", "--yes"}, t.path());
  ASSERT_EQ(undo.exit_code, 0) << undo.all();
  EXPECT_EQ(owned_tree(t / "files"), p.damaged);
}

TEST(VolumeStandby, AStandbyOnAnotherFilesystemOrWithoutRoomIsRefusedBeforeAnyWork) {
  TempDir t;
  fs::create_directories(t / "files");
  auto mounted = sh("mount -t tmpfs -o size=8m tmpfs files", t.path());
  if (mounted.exit_code != 0) GTEST_SKIP() << "cannot mount a tmpfs here: " << mounted.all();
  make_sample_tree(t / "files", 5);
  write_pipeline(t.path(), k_standby_pipeline);
  auto r = run_gate({"run"}, t.path());
  sh("umount files", t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("is a mount point: a rename cannot move a directory across "
                                 "filesystems"));
  EXPECT_TRUE(newest_set(t / "backups").empty());

  // A filesystem holding the volume without room for a second copy.
  fs::create_directories(t / "small");
  ASSERT_EQ(sh("mount -t tmpfs -o size=4m tmpfs small", t.path()).exit_code, 0);
  ASSERT_EQ(sh("mkdir small/files && head -c 3000000 /dev/urandom > small/files/big.bin", t.path())
                .exit_code,
            0);
  write_pipeline(t.path(), "volumes:\n  - {name: files, path: ./small/files, standby: true}\n");
  auto full = run_gate({"run"}, t.path());
  sh("umount small", t.path());
  EXPECT_EQ(full.exit_code, 1) << full.all();
  EXPECT_THAT(full.all(), HasSubstr("no room for its standby: '" +
                                    (t / "small" / "files").string() + "' holds 2.9 MiB"));
  EXPECT_THAT(full.all(), HasSubstr("a standby doubles the volume's footprint"));
  EXPECT_TRUE(newest_set(t / "backups").empty());

  // Stages of the user's own, without `check: connections`: still refused
  // before the first backup step, not when its turn comes.
  ASSERT_EQ(sh("mount -t tmpfs -o size=4m tmpfs small", t.path()).exit_code, 0);
  ASSERT_EQ(sh("mkdir small/files && head -c 3000000 /dev/urandom > small/files/big.bin", t.path())
                .exit_code,
            0);
  write_file(t / "other" / "a.txt", "backed up first\n");
  write_pipeline(t.path(), "volumes:\n  - {name: first, path: ./other}\n"
                           "  - {name: files, path: ./small/files, standby: true}\n"
                           "stages:\n  - name: backup\n"
                           "    steps: [{backup: first}, {backup: files}, {verify: all}]\n");
  auto custom = run_gate({"run"}, t.path());
  sh("umount small", t.path());
  EXPECT_EQ(custom.exit_code, 1) << custom.all();
  EXPECT_THAT(custom.all(), HasSubstr("no room for its standby"));
  EXPECT_THAT(custom.all(), Not(HasSubstr("[ok] backup first"))) << "nothing was backed up first";
  EXPECT_TRUE(newest_set(t / "backups").empty());
}

TEST_F(Podman, AStandbyRollbackSwapsTheNamedVolumeWithItsContainerStoppedAndStarted) {
  std::string mountpoint = make_volume(k_volume);
  start_user("wiki", k_volume);
  TempDir t;
  write_pipeline(t.path(), pipeline(k_volume, "    standby: true\n    stop_timeout: 2s\n"));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  fs::path standby = fs::path(mountpoint).parent_path() / "._data.gate-standby";
  ASSERT_TRUE(fs::is_directory(standby));
  std::string before = owned_tree(mountpoint);
  write_file(fs::path(mountpoint) / "after.txt", "after the backup\n");
  std::string started = podman_out("inspect --format '{{.State.StartedAt}}' wiki");

  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("the standby swapped in"));
  EXPECT_EQ(owned_tree(mountpoint), before);
  EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), "running");
  EXPECT_NE(podman_out("inspect --format '{{.State.StartedAt}}' wiki"), started);
  // Started again, the container sees the swapped-in directory, not the replaced one.
  EXPECT_EQ(podman("exec wiki test -e /data/after.txt").exit_code, 1);
  EXPECT_EQ(podman_out("exec wiki cat /data/docs/file0.txt | head -n 1"), "line 0 of file 0");
  auto swap = only_swap(t.path());
  EXPECT_TRUE(fs::exists(fs::path(swap.replaced) / "after.txt"));
}

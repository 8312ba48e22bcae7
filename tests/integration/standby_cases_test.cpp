// Standbys of a database and a volume together, against the real server and
// real directories: `gate rollback --undo` killed after its renames is
// finished by the next gate (never swapped twice), `gate backup` leaves the
// deploy set's standbys for `rollback --last`, a pipeline's own deep verify
// reuses the volume standby's extraction, and a standby that cannot be kept
// stops `gate run` at its preflight before any target is backed up.
#include "integration/harness.hpp"
#include "model/swap_journal.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// A project with a database and a directory, both `standby: true`.
struct Project {
  TempDir t;
  std::string db;
  explicit Project(const std::string &name, const std::string &extra = "") : db(name) {
    auto &pg = PgServer::get();
    for (const auto &left : {db + "_gate_standby"})
      pg.psql("postgres", "DROP DATABASE IF EXISTS \"" + left + "\" WITH (FORCE)");
    pg.create_database(db);
    fill_sample_database(db, 50);
    make_sample_tree(t / "files", 6);
    write_pipeline(t.path(), "databases:\n  - {name: app, url: '" + pg.url(db) +
                                 "', standby: true}\nvolumes:\n  - {name: files, path: ./files, "
                                 "standby: true}\n" +
                                 extra);
  }
  CommandResult gate(const std::vector<std::string> &args) const {
    return run_gate(args, t.path());
  }
  std::string orders() const { return PgServer::get().value(db, "SELECT count(*) FROM orders"); }
  std::string tree() const {
    if (!fs::is_directory(t / "files")) return "";
    return sh("find . -type f -exec sha256sum {} + | sort", t / "files").out;
  }
  void damage() const {
    PgServer::get().psql(db, "DELETE FROM orders WHERE id % 3 = 0");
    write_file(t / "files" / "after.txt", "written after the backup\n");
  }
  std::string oid_of(const std::string &name) const {
    return PgServer::get().value("postgres",
                                 "SELECT coalesce(max(oid::text), '') FROM pg_database WHERE "
                                 "datname = '" +
                                     name + "'");
  }
  std::vector<gate::model::SwapEntry> swaps() const {
    auto journal = gate::model::SwapJournal::load(t / "backups");
    EXPECT_TRUE(journal.has_value());
    return journal ? journal->entries() : std::vector<gate::model::SwapEntry>{};
  }
  nlohmann::json manifest(const std::string &id) const {
    return nlohmann::json::parse(read_file(t / "backups" / id / "manifest.json"));
  }
};

void expect_states(const Project &p, gate::model::SwapState state) {
  auto swaps = p.swaps();
  EXPECT_EQ(swaps.size(), 2u);
  for (const auto &e : swaps)
    EXPECT_EQ(e.state, state) << e.kind << " " << gate::model::to_string(e.state);
}

} // namespace

TEST(StandbyUndo, AKillAfterAnUndosRenamesIsFinishedByTheNextGateNeverSwappedTwice) {
  Project p("sbu_kill");
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  std::string restored_orders = p.orders(), restored_tree = p.tree();
  p.damage();
  std::string damaged_orders = p.orders(), damaged_tree = p.tree();
  auto rolled = p.gate({"rollback", "--last", "--yes"});
  ASSERT_EQ(rolled.exit_code, 0) << rolled.all();
  ASSERT_EQ(p.orders(), restored_orders);

  // Killed once the first target's exchange is made, before the journal says so.
  auto gate =
      start_gate_at_fault({"rollback", "--undo", "--yes"}, p.t.path(), "undo.before-journal");
  ASSERT_TRUE(gate);
  ::kill(gate->pid(), SIGKILL);
  (void)gate->wait();
  int swapping = 0;
  for (const auto &e : p.swaps())
    swapping += e.state == gate::model::SwapState::swapping_back;
  EXPECT_EQ(swapping, 1);
  auto again = p.gate({"rollback", "--undo", "--yes"});
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_THAT(again.all(), HasSubstr("was cut short after"));
  EXPECT_THAT(again.all(), HasSubstr("had been swapped back by the undo that was cut short"));
  EXPECT_EQ(p.orders(), damaged_orders);
  EXPECT_EQ(p.tree(), damaged_tree);
  expect_states(p, gate::model::SwapState::undone);

  // Killed inside the database's exchange: renamed, still closed to connections.
  gate = start_gate_at_fault({"rollback", "--undo", "--yes"}, p.t.path(), "undo.after-swap");
  ASSERT_TRUE(gate);
  ::kill(gate->pid(), SIGKILL);
  (void)gate->wait();
  auto run = p.gate({"run"});
  ASSERT_EQ(run.exit_code, 0) << run.all();
  EXPECT_THAT(run.all(), HasSubstr("database '" + p.db +
                                   "': a `gate rollback --undo` was cut "
                                   "short after its renames"));
  EXPECT_EQ(p.orders(), restored_orders);
  EXPECT_EQ(p.tree(), restored_tree);
  EXPECT_EQ(PgServer::get().value("postgres", "SELECT datallowconn FROM pg_database WHERE "
                                              "datname = '" +
                                                  p.db + "'"),
            "t");
  for (const auto &e : p.swaps())
    EXPECT_FALSE(gate::model::cut_short(e.state)) << e.kind;
}

TEST(StandbyBackup, AScheduledBackupLeavesTheDeploySetsStandbysForRollbackLast) {
  Project p("sbb_sched");
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  std::string deploy_set = newest_set(p.t / "backups");
  std::string standby_oid = p.oid_of(p.db + "_gate_standby");
  std::string standby_tree =
      sh("find . -type f -exec sha256sum {} + | sort", p.t / ".files.gate-standby").out;
  ASSERT_FALSE(standby_oid.empty());

  auto backup = p.gate({"backup"});
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  ASSERT_NE(newest_set(p.t / "backups"), deploy_set);
  EXPECT_EQ(p.oid_of(p.db + "_gate_standby"), standby_oid);
  EXPECT_EQ(sh("find . -type f -exec sha256sum {} + | sort", p.t / ".files.gate-standby").out,
            standby_tree);
  auto newest = p.manifest(newest_set(p.t / "backups")); // alive for the loop
  for (const auto &a : newest["artifacts"])
    EXPECT_FALSE(a["details"].contains("standby")) << a.dump();

  std::string orders = p.orders(), tree = p.tree();
  p.damage();
  auto rolled = p.gate({"rollback", "--last", "--yes"});
  ASSERT_EQ(rolled.exit_code, 0) << rolled.all();
  EXPECT_THAT(rolled.all(), Not(HasSubstr("another set")));
  EXPECT_THAT(rolled.all(), HasSubstr("standby " + p.db + "_gate_standby swapped in"));
  EXPECT_THAT(rolled.all(), HasSubstr("the standby swapped in"));
  EXPECT_EQ(p.orders(), orders);
  EXPECT_EQ(p.tree(), tree);
}

TEST(StandbyVerify, AnExplicitDeepVerifyReusesTheVolumeStandbysExtraction) {
  Project p("sbv_deep", "stages:\n  - name: b\n    steps: [{backup: all}, {verify: all, deep: "
                        "true}, {record: true}]\n");
  auto r = p.gate({"run"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("verified deep by its standby's extraction"));
  auto m = p.manifest(newest_set(p.t / "backups"));
  for (const auto &a : m["artifacts"]) {
    if (a["kind"] != "volume") continue;
    int deep = 0;
    for (const auto &v : m["verifications"])
      if (v["artifact"] == a["path"] && v["level"] == "deep") ++deep;
    EXPECT_EQ(deep, 1) << "extracted " << deep << " times: " << m["verifications"].dump();
    EXPECT_TRUE(a["details"].contains("restore_ms")) << a.dump();
    EXPECT_EQ(a["details"]["standby"].value("set_id", ""), m["id"]);
  }
}

TEST(StandbyPreflight, ARefusedVolumeStandbyStopsTheRunBeforeAnyTargetIsBackedUp) {
  TempDir t;
  make_sample_tree(t / "first", 4);
  fs::create_directories(t / "files");
  auto mounted = sh("mount -t tmpfs -o size=8m tmpfs files", t.path());
  if (mounted.exit_code != 0) GTEST_SKIP() << "cannot mount a tmpfs here: " << mounted.all();
  make_sample_tree(t / "files", 4);
  write_pipeline(t.path(), "volumes:\n  - {name: first, path: ./first}\n  - {name: files, path: "
                           "./files, standby: true}\n");
  auto r = run_gate({"run"}, t.path());
  sh("umount files", t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("FAILED in stage 'preflight'"));
  EXPECT_THAT(r.all(), HasSubstr("is a mount point"));
  // No set was begun: the first volume was not archived.
  auto left = sh("ls -A backups 2>/dev/null | grep -v '^\\.gate' || true", t.path());
  EXPECT_EQ(left.out, "") << r.all();
}

// gate stopped at each named fault point (util/fault.hpp) of `gate run`,
// `gate rollback` and `gate prune`: with SIGKILL, then SIGINT, then SIGTERM.
// After each: the recorded set and the record are as they were (or the new
// ones whole), `gate list` shows nothing partial as usable, no secret is on
// disk, the database takes connections as before, an interrupt exits with
// the documented code (docs/exit-codes.md), and the next gate takes over the
// lock and succeeds. One PostgreSQL and one S3 server serve the whole suite.
#include "faults/fault_project.hpp"
#include "integration/s3_server.hpp"
#include "model/swap_journal.hpp"

#include <chrono>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gate::test;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

namespace {

constexpr const char *k_faults_bucket = "gate-faults";

enum class Command { run, rollback, rollback_remote, prune, prune_remote };

struct PointCase {
  const char *point;
  Command command;
  bool remote = false;    // a remote `offsite` on the suite's S3 server
  bool retention = false; // keep_last: 1
  int interrupted = 130;  // the exit code for SIGINT and SIGTERM
  bool standby = false;   // standby: true on both targets: the rollback swaps them in
};

// The kind of target whose standby swap a point is in ("" when none).
std::string swap_kind_of(const std::string &point) {
  if (point.rfind("standby.", 0) == 0) return "database";
  if (point.rfind("volume-standby.", 0) == 0) return "volume";
  return "";
}

std::vector<gate::model::SwapEntry> swaps_in(const FaultProject &p) {
  auto journal = gate::model::SwapJournal::load(p.backups());
  EXPECT_TRUE(journal.has_value()) << journal.error().message;
  return journal ? journal->entries() : std::vector<gate::model::SwapEntry>{};
}

// The swap of the other target runs at the same time as the one stopped at
// the point: the signal is sent once that one is done (its journal entry
// says so), so that what the test sees does not depend on a race.
void wait_for_the_other_swap(const FaultProject &p, const std::string &stopped_kind) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto &e : swaps_in(p))
      if (e.kind != stopped_kind && e.state == gate::model::SwapState::done) return;
    ::usleep(20000); // polls the journal: the condition, not the time, ends the wait
  }
  ADD_FAILURE() << "the other target's standby swap did not finish within 60 s";
}

std::vector<std::string> args_of(Command c) {
  switch (c) {
  case Command::run:
    return {"run"};
  case Command::rollback:
    return {"rollback", "--last", "--yes"};
  case Command::rollback_remote:
    return {"rollback", "--remote", "offsite", "--yes"};
  case Command::prune:
    return {"prune"};
  case Command::prune_remote:
    return {"prune", "--remote", "offsite"};
  }
  return {};
}

std::string case_name(const ::testing::TestParamInfo<PointCase> &info) {
  std::string name = info.param.point;
  if (info.param.command == Command::prune) name += "_by_gate_prune";
  for (char &c : name)
    if (c == '.' || c == '-') c = '_';
  return name;
}

class FaultPoints : public S3Suite, public ::testing::WithParamInterface<PointCase> {
protected:
  static void SetUpTestSuite() { start_server(k_faults_bucket); }

  ProjectOptions options(bool retention) const {
    ProjectOptions o;
    if (GetParam().remote) {
      o.remote_endpoint = server().endpoint();
      o.bucket = k_faults_bucket;
    }
    o.retention = retention;
    o.standby = GetParam().standby;
    return o;
  }

  // Brings the project to where the command under test has work at its point.
  void arrange(FaultProject &p, bool first) {
    const auto &c = GetParam();
    // Whatever prunes (gate prune, or retention after a run) needs sets to remove.
    bool prunes = c.command == Command::prune || c.command == Command::prune_remote || c.retention;
    if (prunes) p.configure(options(false)); // a second set, kept until the prune
    // Two more sets: with sets made in the same second, keep_last and the record may keep two.
    for (int runs = (first ? 1 : 0) + (prunes ? 2 : 0); runs > 0; --runs) {
      auto r = p.gate({"run"});
      ASSERT_EQ(r.exit_code, 0) << r.all();
    }
    if (prunes) p.configure(options(true));
    if (c.standby) // every rollback uses up the standbys: a deploy run and a second run
      for (int runs = 0; runs < 2; ++runs) {
        auto r = p.gate({"run"});
        ASSERT_EQ(r.exit_code, 0) << r.all();
      }
    if (c.command == Command::rollback || c.command == Command::rollback_remote)
      PgServer::get().psql(p.db(), "DELETE FROM orders WHERE id % 2 = 0");
    if (c.standby) write_file(p.dir() / "files" / "written-after.txt", "after the backup\n");
    if (c.command == Command::rollback_remote) // only the remote holds it now
      fs::remove_all(p.backups() / recorded_id(read_file(p.record())));
  }

  // The command after the fault: it must take over the lock and succeed.
  void expect_next_gate_succeeds(FaultProject &p, const std::string &restored_orders) {
    const auto &c = GetParam();
    bool rolls_back = c.command == Command::rollback || c.command == Command::rollback_remote;
    auto next = p.gate(rolls_back ? args_of(c.command) : std::vector<std::string>{"run"});
    ASSERT_EQ(next.exit_code, 0) << next.all();
    if (rolls_back) {
      EXPECT_EQ(p.orders(), restored_orders);
    }
    // A swap the fault cut short is repaired under the lock, and said.
    for (const auto &e : m_cut_short)
      EXPECT_THAT(
          next.all(),
          HasSubstr((e.kind == "database" ? "database '" + e.live : "volume '" + e.target) + "': "))
          << "the next gate did not say how it repaired the " << e.kind << " swap";
    if (c.standby) {
      EXPECT_EQ(p.tree(), m_tree_in_set);
      for (const auto &e : swaps_in(p))
        EXPECT_NE(e.state, gate::model::SwapState::begun) << e.kind << " swap left half done";
    }
  }

  // The swaps the journal says `begun` after the fault, and the volume's
  // files as the set holds them.
  std::vector<gate::model::SwapEntry> m_cut_short;
  std::string m_tree_in_set;
};

} // namespace

TEST_P(FaultPoints, KilledOrInterruptedThereLosesNothingAndTheNextGateSucceeds) {
  const auto &c = GetParam();
  FaultProject p("f_" + case_name({c, 0}).substr(0, 40), env());
  p.configure(options(c.retention));
  std::string all_orders = p.orders();
  m_tree_in_set = p.tree();
  std::string swap_kind = swap_kind_of(c.point);
  bool first = true;
  for (int sig : {SIGKILL, SIGINT, SIGTERM}) {
    SCOPED_TRACE(std::string(c.point) + " with " + sigabbrev_np(sig));
    arrange(p, first);
    first = false;
    if (HasFatalFailure()) return;
    std::string orders_before = p.orders();
    auto before = p.snapshot();
    std::string tree_before = p.tree();
    auto gate = start_gate_at_fault(args_of(c.command), p.dir(), c.point, p.env());
    ASSERT_TRUE(gate);
    if (!swap_kind.empty()) wait_for_the_other_swap(p, swap_kind);
    ::kill(gate->pid(), sig);
    auto r = finish_gate(*gate);
    if (sig != SIGKILL) {
      EXPECT_EQ(r.exit_code, c.interrupted) << r.all();
    }
    m_cut_short.clear();
    if (c.standby)
      for (const auto &e : swaps_in(p))
        if (e.state == gate::model::SwapState::begun) m_cut_short.push_back(e);
    // An interrupt lets a swap that began finish: only a kill leaves one half done.
    if (sig != SIGKILL) {
      EXPECT_TRUE(m_cut_short.empty()) << "an interrupt left a swap half done: " << r.all();
    }
    // An interrupt before the stopped swap began cancels it: that target keeps its old data.
    std::string point = c.point;
    // Stopped after both swaps were done but one's journal entry: each finishes, and gate says so.
    if (sig != SIGKILL && point.ends_with(".before-done")) {
      EXPECT_THAT(r.all(), HasSubstr("ROLLBACK INTERRUPTED after every target was restored and "
                                     "checked"));
    }
    if (sig != SIGKILL && point.size() > 10 && point.substr(point.size() - 10) == ".journaled") {
      EXPECT_EQ(swap_kind == "database"
                    ? PgServer::get().value(p.db(), "SELECT count(*) FROM orders")
                    : p.tree(),
                swap_kind == "database" ? orders_before : tree_before)
          << "the swap went on after the interrupt";
    }
    // The live directory is the old or the set's, never missing.
    if (c.standby) {
      EXPECT_THAT(p.tree(), AnyOf(Eq(tree_before), Eq(m_tree_in_set)));
    }
    p.expect_intact(before, {PgServer::get().password(), server().secret_access_key()});
    // Each database is old or restored, never half.
    EXPECT_THAT(p.orders(), AnyOf(Eq(orders_before), Eq(all_orders)));
    expect_next_gate_succeeds(p, all_orders);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Points, FaultPoints,
    ::testing::Values(
        PointCase{"run.preflight", Command::run}, PointCase{"run.mid-dump", Command::run},
        PointCase{"run.mid-archive", Command::run}, PointCase{"run.mid-read-back", Command::run},
        PointCase{"run.sealing", Command::run}, PointCase{"run.mid-record", Command::run},
        PointCase{"offsite.after-object", Command::run, true},
        PointCase{"offsite.before-manifest", Command::run, true},
        PointCase{"prune.mid-remove", Command::run, false, true},
        PointCase{"rollback.mid-safety-snapshot", Command::rollback},
        PointCase{"rollback.mid-restore", Command::rollback, false, false, 4},
        PointCase{"restore.volume-staged", Command::rollback, false, false, 4},
        PointCase{"restore.before-reopen", Command::rollback, false, false, 4},
        PointCase{"fetch.mid-download", Command::rollback_remote, true},
        PointCase{"prune.mid-remove", Command::prune},
        PointCase{"prune.remote-mid-set", Command::prune_remote, true},
        PointCase{"standby.journaled", Command::rollback, false, false, 4, true},
        PointCase{"standby.before-swap", Command::rollback, false, false, 4, true},
        PointCase{"standby.after-swap", Command::rollback, false, false, 4, true},
        PointCase{"standby.before-done", Command::rollback, false, false, 4, true},
        PointCase{"volume-standby.journaled", Command::rollback, false, false, 4, true},
        PointCase{"volume-standby.between-renames", Command::rollback, false, false, 4, true},
        PointCase{"volume-standby.before-done", Command::rollback, false, false, 4, true}),
    case_name);

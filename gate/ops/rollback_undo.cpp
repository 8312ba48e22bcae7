// `gate rollback --undo`: the swaps of the newest rollback through standbys
// swapped back. Phases: lock the root; repair what a kill cut short; show
// what will change; confirm; swap each target back and journal it.
#include "model/lock.hpp"
#include "model/swap_journal.hpp"
#include "ops/swaps.hpp"
#include "steps/swap.hpp"
#include "util/fault.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <map>
#include <optional>
#include <set>

namespace gate::ops {

namespace {

RunOutcome undo_failed(RunOutcome out, util::ErrorKind kind, const std::string &why,
                       const std::string &prefix = "UNDO NOT DONE: ") {
  out.ok = false;
  out.exit_code = util::exit_code_for(kind);
  out.reason = why;
  out.verdict = prefix + why;
  return out;
}

void show_undo_plan(const std::vector<model::SwapEntry> &entries, Reporter &reporter) {
  reporter.plan_line("undo rollback " + entries.front().rollback_id + " (set " +
                     entries.front().set_id + ")");
  for (const auto &e : entries)
    reporter.plan_line(fmt::format(
        "  {} {}: swap '{}' and '{}' back ({} now holds {}); no safety snapshot: nothing is "
        "dropped, the data leaving '{}' is kept as '{}'",
        e.kind, e.target, e.live, e.replaced, e.live,
        e.state == model::SwapState::done ? "the set's data" : "the data from before the rollback",
        e.live, e.replaced));
}

// One entry swapped back, journaled `swapping_back` first (with what the
// live name holds) so that a kill between the exchange and the journal's
// update is told apart by the next gate. A failure leaves the journal saying
// where the data is, as the kind's repair finds it.
util::Result<void> swap_back_journaled(const config::PipelineConfig &config,
                                       model::SwapJournal &journal, const steps::SwapOps &ops,
                                       model::SwapEntry &e) {
  TRY_ASSIGN(std::string identity, ops.live_identity(config, e));
  model::SwapEntry journaled = e;
  journaled.state = model::SwapState::swapping_back;
  journaled.back_from = e.state;
  journaled.live_was = identity;
  TRY(journal.record(journaled));
  auto swapped = ops.swap_back(config, e);
  if (!swapped) {
    if (ops.repair(config, journaled)) (void)journal.record(journaled);
    return swapped;
  }
  util::fault_point("undo.before-journal");
  return journal.record(e);
}

// Swaps every entry back; each is journaled as soon as it is done. Those in
// `finished` were swapped back by an undo a kill cut short (the repair at
// the start said so): they are not swapped again.
RunOutcome swap_all_back(const config::PipelineConfig &config, model::SwapJournal &journal,
                         std::vector<model::SwapEntry> entries,
                         const std::set<std::string> &finished, Reporter &reporter,
                         RunOutcome out) {
  std::vector<std::string> failed;
  for (auto &e : entries) {
    StepReport report{"undo", "swap back " + e.target};
    reporter.step_started("undo", report.step);
    auto start = std::chrono::steady_clock::now();
    const auto *ops = steps::swap_ops_for(e.kind);
    util::Result<void> swapped;
    if (!finished.count(e.target))
      swapped = ops ? swap_back_journaled(config, journal, *ops, e)
                    : util::Result<void>(util::fail("no swap operations for kind " + e.kind));
    report.ok = swapped.has_value();
    report.duration_ms = util::elapsed_ms(start);
    report.summary = !swapped ? "unchanged: " + swapped.error().message
                     : finished.count(e.target)
                         ? fmt::format("'{}' and '{}' had been swapped back by the undo that was "
                                       "cut short (now {})",
                                       e.live, e.replaced, model::to_string(e.state))
                         : fmt::format("'{}' and '{}' swapped back (now {})", e.live, e.replaced,
                                       model::to_string(e.state));
    if (!swapped) failed.push_back(e.target);
    reporter.step_finished(report);
    out.steps.push_back(report);
  }
  if (!failed.empty())
    return undo_failed(out, util::ErrorKind::rollback_failed,
                       "could not swap back " + util::join(failed, ", "), "UNDO FAILED: ");
  out.verdict = fmt::format(
      "OK: rollback {} {}; `gate rollback --undo` swaps again", entries.front().rollback_id,
      entries.front().state == model::SwapState::undone ? "undone" : "redone");
  return out;
}

// Repairs what a kill cut short (the lock is held) and returns the targets
// of the newest rollback whose swap back had already happened: the undo a
// kill interrupted is finished, not undone again by this one.
std::set<std::string> repair_cut_short_undo(const config::PipelineConfig &config) {
  std::map<std::string, model::SwapState> swapping; // target -> the state it started from
  if (auto before = model::SwapJournal::load(config.backup_root); before)
    for (const auto &e : before->last_rollback())
      if (e.state == model::SwapState::swapping_back) swapping[e.target] = e.back_from;
  for (const auto &line : repair_swaps(config))
    util::log_warn("{}", line);
  std::set<std::string> finished;
  if (auto after = model::SwapJournal::load(config.backup_root); after)
    for (const auto &e : after->last_rollback())
      if (auto it = swapping.find(e.target);
          it != swapping.end() && !model::cut_short(e.state) && e.state != it->second)
        finished.insert(e.target);
  return finished;
}

} // namespace

RunOutcome undo_rollback(const config::PipelineConfig &config, const UndoRequest &request,
                         Reporter &reporter) {
  RunOutcome out;
  out.event = "rollback";
  auto start = std::chrono::steady_clock::now();
  std::optional<model::RootLock> lock; // a dry run takes no lock and repairs nothing
  std::set<std::string> finished;      // swapped back by an undo a kill cut short
  if (!request.dry_run) {
    auto locked =
        model::RootLock::acquire(config.backup_root, config.lock_wait, request.command_line);
    if (!locked) return undo_failed(out, locked.error().kind, locked.error().message);
    lock.emplace(std::move(*locked));
    finished = repair_cut_short_undo(config);
  }
  auto journal = model::SwapJournal::load(config.backup_root);
  if (!journal) return undo_failed(out, journal.error().kind, journal.error().message);
  auto entries = journal->last_rollback();
  std::erase_if(entries, [](const model::SwapEntry &e) { return model::cut_short(e.state); });
  if (entries.empty())
    return undo_failed(out, util::ErrorKind::failed,
                       "there is no rollback through standbys to undo (the journal " +
                           (config.backup_root / ".gate-swaps.json").string() +
                           " holds none; a rollback by restore is undone with `gate rollback "
                           "<the safety snapshot's id>`)");
  out.set_id = entries.front().set_id;
  show_undo_plan(entries, reporter);
  if (request.dry_run) {
    out.verdict = "dry run: nothing was changed";
    return out;
  }
  if (request.confirm && !request.confirm())
    return undo_failed(out, util::ErrorKind::failed, "cancelled; nothing was changed");
  out = swap_all_back(config, *journal, entries, finished, reporter, out);
  out.duration_ms = util::elapsed_ms(start);
  return out;
}

} // namespace gate::ops

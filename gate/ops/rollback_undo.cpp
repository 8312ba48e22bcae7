// `gate rollback --undo`: the swaps of the newest rollback through standbys
// swapped back. Phases: lock the root; repair what a kill cut short; show
// what will change; confirm; swap each target back and journal it.
#include "model/lock.hpp"
#include "model/swap_journal.hpp"
#include "ops/swaps.hpp"
#include "steps/swap.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <optional>

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

// Swaps every entry back; each is journaled as soon as it is done.
RunOutcome swap_all_back(const config::PipelineConfig &config, model::SwapJournal &journal,
                         std::vector<model::SwapEntry> entries, Reporter &reporter,
                         RunOutcome out) {
  std::vector<std::string> failed;
  for (auto &e : entries) {
    StepReport report{"undo", "swap back " + e.target};
    reporter.step_started("undo", report.step);
    auto start = std::chrono::steady_clock::now();
    const auto *ops = steps::swap_ops_for(e.kind);
    auto swapped = ops ? ops->swap_back(config, e)
                       : util::Result<void>(util::fail("no swap operations for kind " + e.kind));
    if (swapped) swapped = journal.record(e);
    report.ok = swapped.has_value();
    report.duration_ms = util::elapsed_ms(start);
    report.summary = swapped ? fmt::format("'{}' and '{}' swapped back (now {})", e.live,
                                           e.replaced, model::to_string(e.state))
                             : "unchanged: " + swapped.error().message;
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

} // namespace

RunOutcome undo_rollback(const config::PipelineConfig &config, const UndoRequest &request,
                         Reporter &reporter) {
  RunOutcome out;
  out.event = "rollback";
  auto start = std::chrono::steady_clock::now();
  std::optional<model::RootLock> lock; // a dry run takes no lock and repairs nothing
  if (!request.dry_run) {
    auto locked =
        model::RootLock::acquire(config.backup_root, config.lock_wait, request.command_line);
    if (!locked) return undo_failed(out, locked.error().kind, locked.error().message);
    lock.emplace(std::move(*locked));
    for (const auto &line : repair_swaps(config))
      util::log_warn("{}", line);
  }
  auto journal = model::SwapJournal::load(config.backup_root);
  if (!journal) return undo_failed(out, journal.error().kind, journal.error().message);
  auto entries = journal->last_rollback();
  std::erase_if(entries,
                [](const model::SwapEntry &e) { return e.state == model::SwapState::begun; });
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
  out = swap_all_back(config, *journal, entries, reporter, out);
  out.duration_ms = util::elapsed_ms(start);
  return out;
}

} // namespace gate::ops

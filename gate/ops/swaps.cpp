#include "ops/swaps.hpp"

#include "model/swap_journal.hpp"
#include "steps/swap.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

namespace gate::ops {

namespace {

// The journal, or none (said once as a warning) when it cannot be read.
std::optional<model::SwapJournal> load_journal(const config::PipelineConfig &config) {
  auto journal = model::SwapJournal::load(config.backup_root);
  if (!journal) {
    util::log_warn("standby swaps: {}", journal.error().message);
    return std::nullopt;
  }
  return std::move(*journal);
}

} // namespace

std::vector<std::string> repair_swaps(const config::PipelineConfig &config) {
  std::vector<std::string> out;
  auto journal = load_journal(config);
  if (!journal) return out;
  // A copy: recording or forgetting an entry changes the journal's list.
  const std::vector<model::SwapEntry> entries = journal->entries();
  for (auto entry : entries) {
    if (!model::cut_short(entry.state)) continue;
    bool swapping_back = entry.state == model::SwapState::swapping_back;
    const auto *ops = steps::swap_ops_for(entry.kind);
    if (!ops) {
      out.push_back(fmt::format("a {} swap of '{}' was cut short, and this gate cannot repair "
                                "that kind: check '{}' by hand",
                                entry.kind, entry.target, entry.live));
      continue;
    }
    auto repaired = ops->repair(config, entry);
    if (!repaired) {
      out.push_back(fmt::format("a swap of '{}' was cut short and could not be repaired: {}",
                                entry.target, repaired.error().message));
      continue;
    }
    // A swap back ends done or undone, and stays journaled either way.
    auto kept = swapping_back || entry.state == model::SwapState::done
                    ? journal->record(entry)
                    : journal->forget(entry.rollback_id, entry.target);
    if (!kept) util::log_warn("standby swaps: {}", kept.error().message);
    out.push_back(*repaired);
  }
  return out;
}

std::vector<std::string> age_replaced_copies(const config::PipelineConfig &config) {
  std::vector<std::string> out;
  auto journal = load_journal(config);
  if (!journal) return out;
  const std::vector<model::SwapEntry> entries = journal->entries(); // record/forget change it
  for (auto entry : entries) {
    if (model::cut_short(entry.state)) continue;
    ++entry.runs_since;
    const auto *ops = steps::swap_ops_for(entry.kind);
    if (entry.runs_since < config.keep_replaced || !ops) {
      if (auto r = journal->record(entry); !r)
        util::log_warn("standby swaps: {}", r.error().message);
      continue;
    }
    if (auto dropped = ops->drop_replaced(config, entry); !dropped) {
      util::log_warn("could not drop '{}', the data a rollback replaced in '{}': {}",
                     entry.replaced, entry.live, dropped.error().message);
      continue;
    }
    if (auto r = journal->forget(entry.rollback_id, entry.target); !r)
      util::log_warn("standby swaps: {}", r.error().message);
    out.push_back(fmt::format("dropped '{}', the data rollback {} replaced in '{}' (keep_replaced: "
                              "{} successful run(s) have passed)",
                              entry.replaced, entry.rollback_id, entry.live, config.keep_replaced));
  }
  return out;
}

std::vector<std::string> replaced_copies(const config::PipelineConfig &config) {
  std::vector<std::string> out;
  auto journal = load_journal(config);
  if (!journal) return out;
  for (const auto &e : journal->entries()) {
    const char *holds = e.state == model::SwapState::undone ? "the standby's data (undone)"
                                                            : "the data before the rollback";
    out.push_back(fmt::format("{} {}: {} holds {} of '{}' (rollback {}, {}; dropped after {} more "
                              "successful run(s))",
                              e.kind, e.target, e.replaced, holds, e.live, e.rollback_id,
                              model::to_string(e.state),
                              std::max(0, config.keep_replaced - e.runs_since)));
  }
  return out;
}

} // namespace gate::ops

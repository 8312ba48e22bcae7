#include "ops/prune.hpp"

#include "model/backup_set.hpp"
#include "model/record.hpp"
#include "model/retention.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

#include <set>

namespace gate::ops {

namespace {
constexpr size_t k_failed_sets_kept = 3;
}

PruneResult select_for_pruning(const std::vector<model::SetInfo> &sets,
                               const std::optional<std::string> &record_id,
                               const config::Retention &retention, util::Clock::time_point now) {
  std::set<std::string> protect;
  if (record_id) protect.insert(*record_id);
  std::vector<model::RetentionCandidate> usable;
  std::vector<const model::SetInfo *> failed;
  const model::SetInfo *newest_verified = nullptr; // sets are listed newest first
  for (const auto &s : sets) {
    if (s.failed || !s.manifest) {
      failed.push_back(&s);
      continue;
    }
    auto created = util::parse_iso8601_utc(s.manifest->created_at);
    // A pre-rollback snapshot is the only copy of the data a rollback replaced: keep it a week at
    // least.
    if (s.manifest->kind == "pre-rollback" && created &&
        now - *created < std::chrono::hours(24 * 7))
      protect.insert(s.id);
    usable.push_back({s.id, s.manifest->kind, created.value_or(util::Clock::time_point{})});
    if (!newest_verified && s.manifest->verified_level()) newest_verified = &s;
  }
  if (newest_verified) protect.insert(newest_verified->id);
  auto decision = model::apply_retention(usable, retention, protect);
  PruneResult result;
  for (const auto &s : sets)
    if (!s.failed && s.manifest && decision.keep.count(s.id))
      result.kept.emplace_back(s.id, decision.keep[s.id]);
  for (const auto &id : decision.remove)
    for (const auto &s : sets)
      if (s.id == id && !s.failed) result.removed.push_back(id);
  for (size_t i = k_failed_sets_kept; i < failed.size(); ++i)
    result.removed.push_back(failed[i]->id);
  return result;
}

util::Result<void> refuse_removing_every_set(const std::vector<model::SetInfo> &sets,
                                             const PruneResult &result,
                                             const std::string &location) {
  std::set<std::string> removed(result.removed.begin(), result.removed.end());
  size_t usable = 0, left = 0;
  for (const auto &s : sets) {
    if (s.failed || !s.manifest) continue;
    ++usable;
    left += removed.count(s.id) ? 0 : 1;
  }
  if (usable == 0 || left > 0) return {};
  return util::fail(fmt::format(
      "{}: the retention policy would remove every set there; refusing (nothing was removed)",
      location));
}

util::Result<PruneResult> prune_sets(const config::PipelineConfig &config, PruneMode mode,
                                     Reporter &reporter) {
  if (!config.retention)
    return util::fail(util::ErrorKind::config,
                      "no retention policy in " + config.file.string() +
                          "\nhint: add retention: {keep_last: 3, keep_daily: 7}");
  model::LocalSetStore store(config.backup_root);
  TRY_ASSIGN(auto sets, store.list(model::IncludeFailed::yes));
  TRY_ASSIGN(auto record_id, model::read_record_id(config.record));
  PruneResult result = select_for_pruning(sets, record_id, *config.retention, util::Clock::now());
  TRY(refuse_removing_every_set(sets, result, store.location()));
  for (const auto &id : result.removed) {
    std::string name = id;
    for (const auto &s : sets)
      if (s.id == id) name = s.dir.filename().string();
    if (mode == PruneMode::dry_run) {
      reporter.plan_line(fmt::format("would remove {}", name));
      continue;
    }
    if (util::cancel_requested())
      return util::fail(util::ErrorKind::interrupted,
                        "interrupted: retention stopped before removing " + name);
    TRY(store.remove(id));
    util::log_info("retention: removed set '{}'", name);
    reporter.event("pruned", fmt::format("removed {}", name));
  }
  return result;
}

} // namespace gate::ops

#include "cli/status_facts.hpp"

#include "steps/restore_plan.hpp"
#include "util/fs.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace gate::cli {

std::optional<model::SetInfo> newest_verified(const std::vector<model::SetInfo> &sets) {
  for (const auto &s : sets)
    if (s.manifest && !s.failed && s.manifest->kind != "pre-rollback" &&
        s.manifest->verified_level() && !s.manifest->has_failed_verification())
      return s;
  return std::nullopt;
}

std::optional<long long> predicted_rollback_ms(const model::Manifest &m) {
  auto prediction = steps::predict_rollback(m);
  if (!prediction.known) return std::nullopt;
  return prediction.ms;
}

long long set_age_ms(const model::Manifest &m) {
  auto created = util::parse_iso8601_utc(m.created_at);
  if (!created) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(util::Clock::now() - *created)
      .count();
}

std::vector<Gauge> status_gauges(const config::PipelineConfig &config) {
  std::vector<Gauge> out;
  if (auto free = util::free_bytes(config.backup_root))
    out.push_back(
        {"gate_backup_root_free_bytes", "Free space on backup_root.", std::to_string(*free)});
  model::LocalSetStore store(config.backup_root);
  auto sets = store.list(model::IncludeFailed::no);
  if (!sets) return out;
  auto newest = newest_verified(*sets);
  out.push_back({"gate_verified_set_present",
                 "1 when a verified set that a rollback would use exists, else 0.",
                 newest ? "1" : "0"});
  if (!newest) return out;
  const auto &m = *newest->manifest;
  if (auto created = util::parse_iso8601_utc(m.created_at)) {
    auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(created->time_since_epoch()).count();
    out.push_back({"gate_verified_set_timestamp_seconds",
                   "When the newest verified set was made, in Unix time (alert on time() - this).",
                   std::to_string(seconds)});
    out.push_back({"gate_verified_set_age_seconds",
                   "Age of the newest verified set when this file was written.",
                   std::to_string(set_age_ms(m) / 1000)});
  }
  out.push_back({"gate_verified_set_bytes", "Size of the newest verified set.",
                 std::to_string(m.total_bytes())});
  if (auto predicted = predicted_rollback_ms(m))
    out.push_back(
        {"gate_predicted_rollback_seconds",
         "Predicted time to roll back to the newest verified set (from what it measured).",
         fmt::format("{:.3f}", *predicted / 1000.0)});
  return out;
}

} // namespace gate::cli

#include "steps/restore_plan.hpp"

#include "steps/postgres/facts.hpp"
#include "steps/postgres/restore.hpp"
#include "steps/postgres/target.hpp"
#include "steps/volume/restore.hpp"

#include "util/text.hpp"

#include <fmt/format.h>
#include <set>

namespace gate::steps {

namespace fs = std::filesystem;

util::Result<DatabaseChanges> database_changes(const config::PipelineConfig &config,
                                               const config::DatabaseTarget &target,
                                               const model::Artifact &artifact) {
  DatabaseChanges out;
  TRY_ASSIGN(out.dropped, tables_created_since(config, target, artifact));
  TRY_ASSIGN(auto pg, PgTarget::open(config, target));
  TRY_ASSIGN(auto conn, pg.connect("rollback plan"));
  TRY_ASSIGN(auto now, read_database_facts(*conn, {}, {}, false));
  std::set<std::string> live;
  for (const auto &t : now.tables)
    live.insert(t.qualified());
  for (const auto &t : tables_from_json(artifact.details)) {
    if (live.count(t.qualified()))
      ++out.replaced;
    else
      out.created.push_back(t.qualified());
  }
  return out;
}

DirectoryChanges directory_changes(const fs::path &dest, const model::Artifact &artifact) {
  DirectoryChanges out;
  std::error_code ec;
  out.exists = fs::is_directory(dest, ec);
  if (!out.exists) return out;
  auto patterns = artifact.details.value("exclude", std::vector<std::string>{});
  out.kept = excluded_entries(dest, patterns).size();
  for (fs::recursive_directory_iterator it(dest, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec))
    ++out.live_entries;
  return out;
}

namespace {

// The standby built from this very set, when the artifact records one.
const nlohmann::json *own_standby(const model::Manifest &m, const model::Artifact &artifact) {
  auto it = artifact.details.find("standby");
  if (it == artifact.details.end() || !it->is_object()) return nullptr;
  if (it->value("set_id", std::string()) != m.id) return nullptr;
  return &*it;
}

// A swap renames and then checks what it swapped in; its build measured that
// check (swap_ms), else the check is bounded by the build's own compare.
std::optional<Prediction> predicted_swap(const nlohmann::json &standby) {
  for (const char *key : {"swap_ms", "check_ms"})
    if (auto it = standby.find(key); it != standby.end() && it->is_number_integer())
      return Prediction{it->get<long long>(), "a standby swap, measured when it was built", true,
                        true};
  return std::nullopt;
}

} // namespace

std::optional<Prediction> predicted_restore(const model::Manifest &m,
                                            const model::Artifact &artifact, bool via_standby) {
  if (const auto *standby = via_standby ? own_standby(m, artifact) : nullptr)
    if (auto swap = predicted_swap(*standby)) return swap;
  for (const auto &v : m.verifications)
    if (v.ok && v.artifact == artifact.path && v.metrics.contains("restore_ms"))
      return Prediction{v.metrics["restore_ms"].get<long long>(), "measured by deep verify", true};
  if (artifact.kind == "volume" && artifact.details.contains("duration_ms"))
    return Prediction{artifact.details["duration_ms"].get<long long>(),
                      "as long as its backup took: it reads and writes as much", false};
  return std::nullopt;
}

std::vector<const model::Artifact *> restored_artifacts(const model::Manifest &m) {
  std::vector<const model::Artifact *> out;
  std::set<std::string> databases;
  for (const auto &a : m.artifacts)
    if (a.kind == "database" && databases.insert(a.target).second) {
      auto candidates = restore_candidates(m, a.target);
      if (!candidates.empty()) out.push_back(candidates.front());
    } else if (a.kind == "volume") {
      out.push_back(&a);
    }
  return out;
}

RollbackPrediction predict_rollback(const model::Manifest &m) {
  RollbackPrediction out;
  long long snapshot = 0, restore = 0;
  for (const auto *a : restored_artifacts(m)) {
    TargetPrediction t{a->target, a->kind, predicted_restore(m, *a), predicted_snapshot_ms(*a)};
    if (t.restore && t.restore->swap) t.snapshot = 0; // the replaced data is kept instead
    out.known = out.known && t.known();
    out.measured = out.measured && t.measured();
    snapshot = std::max(snapshot, t.snapshot.value_or(0));
    if (t.restore && t.restore->ms >= restore) {
      restore = t.restore->ms;
      out.dominant = t.target;
    }
    out.targets.push_back(std::move(t));
  }
  out.ms = snapshot + restore;
  return out;
}

std::string describe(const TargetPrediction &t) {
  if (!t.restore) return t.kind + " " + t.target + ": its restore time was never measured";
  if (t.restore->swap)
    return fmt::format("{} {}: about {} ({})", t.kind, t.target,
                       util::human_duration_ms(t.restore->ms), t.restore->basis);
  return fmt::format(
      "{} {}: about {} (restore {}, {}; safety snapshot {})", t.kind, t.target,
      util::human_duration_ms(t.ms()), util::human_duration_ms(t.restore->ms), t.restore->basis,
      t.snapshot ? "about " + util::human_duration_ms(*t.snapshot) : std::string("unknown"));
}

std::optional<long long> predicted_snapshot_ms(const model::Artifact &artifact) {
  if (!artifact.details.contains("duration_ms")) return std::nullopt;
  return artifact.details["duration_ms"].get<long long>();
}

} // namespace gate::steps

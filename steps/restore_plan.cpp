#include "steps/restore_plan.hpp"

#include "steps/postgres/facts.hpp"
#include "steps/postgres/restore.hpp"
#include "steps/postgres/target.hpp"
#include "steps/volume/restore.hpp"

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

std::optional<Prediction> predicted_restore(const model::Manifest &m,
                                            const model::Artifact &artifact) {
  for (const auto &v : m.verifications)
    if (v.ok && v.artifact == artifact.path && v.metrics.contains("restore_ms"))
      return Prediction{v.metrics["restore_ms"].get<long long>(), "measured by deep verify"};
  if (artifact.kind == "volume" && artifact.details.contains("duration_ms"))
    return Prediction{artifact.details["duration_ms"].get<long long>(),
                      "as long as its backup took: it reads and writes as much"};
  return std::nullopt;
}

std::optional<long long> predicted_snapshot_ms(const model::Artifact &artifact) {
  if (!artifact.details.contains("duration_ms")) return std::nullopt;
  return artifact.details["duration_ms"].get<long long>();
}

} // namespace gate::steps

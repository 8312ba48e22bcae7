// Putting a database back from a set. mode clean (default): one transaction
// that blocks new connections, ends other sessions, drops tables created
// since the backup and replays the dump (pg_restore's script through psql):
// it commits whole or changes nothing. mode recreate: the dump is restored
// into a new database which, once its row counts match, replaces the old one
// by an atomic rename. Either way the result is compared with the manifest,
// and the plain SQL dump is the fallback when the custom one fails.
#pragma once

#include "config/pipeline.hpp"
#include "engine/manifest.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <functional>

namespace gate::steps {

struct DatabaseRestoreResult {
  std::string used;   // the artifact restored ("databases/app.dump.zst")
  std::string note;   // e.g. "custom dump failed; restored from the SQL dump"
  long long ms = 0;
};

// Restores database `target` from the best artifact in `manifest`.
util::Result<DatabaseRestoreResult> restore_database(const config::PipelineConfig& config,
                                                     const config::DatabaseTarget& target,
                                                     const engine::Manifest& manifest,
                                                     const std::filesystem::path& set_dir,
                                                     const std::function<void(uint64_t)>& progress);

// Tables in the live database that the backup does not hold: a clean
// rollback drops them (empty for a backup limited by tables/exclude_tables).
util::Result<std::vector<std::string>> tables_created_since(const config::PipelineConfig& config,
                                                            const config::DatabaseTarget& target,
                                                            const engine::Artifact& artifact);

// Whether the target database exists on its server (it may have been
// dropped: then there is nothing to snapshot, and it is created to restore into).
util::Result<bool> database_exists(const config::PipelineConfig& config, const config::DatabaseTarget& target);

// Creates the (dropped) target database empty, owned by the connecting role,
// so that a rollback can restore into it.
util::Result<void> create_missing_database(const config::PipelineConfig& config, const config::DatabaseTarget& target);

// The artifacts a database rollback may use, best first (custom, directory, sql).
std::vector<const engine::Artifact*> restore_candidates(const engine::Manifest& manifest, const std::string& target);

} // namespace gate::steps

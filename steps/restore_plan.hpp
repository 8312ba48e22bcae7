// What a rollback would change, for its plan (`gate rollback --dry-run`): per
// database the tables that come back, go, or are replaced; per directory the
// entries replaced and the excluded ones kept; and a time predicted only from
// what was measured on this set, never from a guessed rate.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gate::steps {

struct DatabaseChanges {
  size_t replaced = 0;              // tables in the set that exist now: their rows are replaced
  std::vector<std::string> created; // tables in the set that are gone now: created again
  std::vector<std::string> dropped; // tables (and views) that exist now but not in the set
};

// Compares the live database with the dump's tables (nothing is dropped for a
// backup limited by tables/exclude_tables).
util::Result<DatabaseChanges> database_changes(const config::PipelineConfig &config,
                                               const config::DatabaseTarget &target,
                                               const model::Artifact &artifact);

struct DirectoryChanges {
  uint64_t live_entries = 0; // entries in the live directory now (all replaced or removed...)
  uint64_t kept = 0;         // ... but for these, which the set never held (exclude patterns)
  bool exists = false;
};

DirectoryChanges directory_changes(const std::filesystem::path &dest,
                                   const model::Artifact &artifact);

// The restore time of `artifact` as measured on this set: a deep verify's
// restore, else (volumes) its backup, which reads and writes as much. Empty
// when nothing measured it.
struct Prediction {
  long long ms = 0;
  std::string basis; // "measured by deep verify", "as long as its backup took"
};
std::optional<Prediction> predicted_restore(const model::Manifest &m,
                                            const model::Artifact &artifact);

// A safety snapshot backs up the live data as the set's backup did: its
// time is predicted from the set's backup time of the same target.
std::optional<long long> predicted_snapshot_ms(const model::Artifact &artifact);

} // namespace gate::steps

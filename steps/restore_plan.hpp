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

// The restore time of `artifact` as measured on this set: the swap of its
// standby when it has one built from this set, else a deep verify's restore,
// else (volumes) its backup, which reads and writes as much — an estimate,
// not a measurement (`measured` false). Empty when nothing measured it.
struct Prediction {
  long long ms = 0;
  std::string basis; // "measured by deep verify", "as long as its backup took"
  bool measured = false;
  bool swap = false; // through the standby: no safety snapshot is taken
};
// `via_standby` false: the cold path even when a standby is recorded.
std::optional<Prediction> predicted_restore(const model::Manifest &m,
                                            const model::Artifact &artifact,
                                            bool via_standby = true);

// A safety snapshot backs up the live data as the set's backup did: its
// time is predicted from the set's backup time of the same target.
std::optional<long long> predicted_snapshot_ms(const model::Artifact &artifact);

// The artifacts of `m` a rollback restores: per database the dump it tries
// first, and every volume.
std::vector<const model::Artifact *> restored_artifacts(const model::Manifest &m);

// One target's part in a rollback to the set.
struct TargetPrediction {
  std::string target;
  std::string kind;                  // "database" | "volume"
  std::optional<Prediction> restore; // the restore or the swap
  std::optional<long long> snapshot; // its safety snapshot; 0 on the swap path
  bool known() const { return restore && snapshot; }
  bool measured() const { return restore && restore->measured && snapshot; }
  long long ms() const { return (restore ? restore->ms : 0) + snapshot.value_or(0); }
};

// A whole rollback: the safety snapshots run side by side first, then the
// restores and swaps side by side, so the time is the longest snapshot plus
// the longest restore.
struct RollbackPrediction {
  std::vector<TargetPrediction> targets;
  long long ms = 0;
  bool known = true;    // every part has a prediction
  bool measured = true; // ... and none is an estimate
  std::string dominant; // the target whose restore takes longest
};
RollbackPrediction predict_rollback(const model::Manifest &m);

// "about 2m 10s (database app: restore measured by deep verify)".
std::string describe(const TargetPrediction &t);

} // namespace gate::steps

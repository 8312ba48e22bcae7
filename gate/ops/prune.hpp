// `gate prune` and retention after a successful run: removes the sets the
// policy does not keep, never the set the record points to, the newest
// verified one, or a pre-rollback snapshot younger than a week, and keeps the
// three newest failed sets for forensics.
#pragma once

#include "config/pipeline.hpp"
#include "model/set_store.hpp"
#include "ops/reporter.hpp"
#include "util/expected.hpp"
#include "util/time.hpp"

#include <string>
#include <utility>
#include <vector>

namespace gate::ops {

enum class PruneMode { dry_run, apply };

struct PruneResult {
  std::vector<std::pair<std::string, std::string>> kept; // id, why
  std::vector<std::string> removed;                      // ids (to be) removed
  // On a remote only:
  std::vector<std::string> incomplete; // this host's sets without manifest.json, over a day old
  std::vector<std::string> aborted;    // keys of multipart uploads over a day old
  std::string warning;                 // why the prune stopped short (AccessDenied)
};

// The decision alone: which of `sets` (newest first) the policy keeps and
// why, and which go — never the record's set, the newest verified one, or a
// pre-rollback snapshot younger than a week; the three newest failed sets
// stay for forensics.
PruneResult select_for_pruning(const std::vector<model::SetInfo> &sets,
                               const std::optional<std::string> &record_id,
                               const config::Retention &retention, util::Clock::time_point now);

// The last floor, behind those of select_for_pruning: fails, naming
// `location` (backup_root or the remote), when `result.removed` holds every
// usable set of `sets` (failed ones do not count), so a policy that would
// delete everything is refused before anything is removed.
util::Result<void> refuse_removing_every_set(const std::vector<model::SetInfo> &sets,
                                             const PruneResult &result,
                                             const std::string &location);

util::Result<PruneResult> prune_sets(const config::PipelineConfig &config, PruneMode mode,
                                     Reporter &reporter);

// Retention on the remote `remote_name` (ops/remote_prune.cpp): its own
// `retention`, else the pipeline's, over the sets of this project,
// environment and host only (other gates' sets on a shared prefix are never
// considered), with the same floors as select_for_pruning. Also removes this
// host's incomplete sets (no manifest.json) and aborts multipart uploads
// under the prefix, when over a day old. Deletes go in DeleteObjects batches,
// manifest.json first. An AccessDenied on delete (a backup-only key) stops
// the prune with `warning` set, naming the remote: not an error.
util::Result<PruneResult> prune_remote(const config::PipelineConfig &config,
                                       const std::string &remote_name, PruneMode mode,
                                       Reporter &reporter);

// After a successful run: prune_remote on every remote with a policy (its own
// or the pipeline's); failures and AccessDenied are warnings.
void prune_remotes_after_run(const config::PipelineConfig &config, Reporter &reporter);

} // namespace gate::ops

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
};

// The decision alone: which of `sets` (newest first) the policy keeps and
// why, and which go — never the record's set, the newest verified one, or a
// pre-rollback snapshot younger than a week; the three newest failed sets
// stay for forensics.
PruneResult select_for_pruning(const std::vector<model::SetInfo> &sets,
                               const std::optional<std::string> &record_id,
                               const config::Retention &retention, util::Clock::time_point now);

util::Result<PruneResult> prune_sets(const config::PipelineConfig &config, PruneMode mode,
                                     Reporter &reporter);

} // namespace gate::ops

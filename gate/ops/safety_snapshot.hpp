// The safety snapshot a rollback takes before it changes anything: a
// pre-rollback set holding the live data of every target the rollback
// replaces, backed up at once, read back while written, verified and sealed
// — or no set at all. The rollback starts only once this returned.
#pragma once

#include "config/pipeline.hpp"
#include "ops/reporter.hpp"
#include "steps/restore_job.hpp"

#include <memory>
#include <string>
#include <vector>

namespace gate::ops {

// The id of the sealed snapshot, or "" when no target had live data. An
// interrupt discards the partial set (ErrorKind::interrupted); a failed
// backup or verification keeps it as failed and fails naming the target.
util::Result<std::string>
take_safety_snapshot(const config::PipelineConfig &config,
                     const std::vector<std::unique_ptr<steps::RestoreJob>> &jobs,
                     Reporter &reporter);

} // namespace gate::ops

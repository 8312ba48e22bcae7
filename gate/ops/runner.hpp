// The stage loop: stages in order; a stage's steps in order (stopping at the
// first failure) or all at once when the stage is parallel. The first failed
// step stops the run: later stages do not start.
#pragma once

#include "ops/plan.hpp"
#include "ops/reporter.hpp"

#include <functional>
#include <optional>
#include <vector>

namespace gate::ops {

struct StagesResult {
  std::optional<util::Error> failure;
  std::string failed_stage;
  std::string failed_step;
  bool rollback_requested = false; // the failed step asked for a rollback
  std::vector<StepReport> reports;
  uint64_t bytes = 0;
};

// `before_stage` runs before each stage's steps and may fail the stage (the
// pipeline seals its set there before an exec step).
StagesResult
run_stages(Plan &plan, steps::RunContext &ctx, Reporter &reporter,
           const std::function<util::Result<void>(const PlannedStage &)> &before_stage);

} // namespace gate::ops

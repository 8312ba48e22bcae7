// The stages a command runs: pipeline.yml's, or the default pipeline
// (preflight -> backup every target -> verify everything -> record), built
// into step objects through the step registry.
#pragma once

#include "config/pipeline.hpp"
#include "steps/step.hpp"

#include <memory>
#include <string>
#include <vector>

namespace gate::ops {

struct PlannedStage {
  std::string name;
  bool parallel = false;
  std::vector<std::unique_ptr<steps::Step>> steps;
  config::Location where; // in pipeline.yml (empty for the default pipeline)
};

using Plan = std::vector<PlannedStage>;

// The pipeline's plan. `only_stages` (from --stage) keeps the named stages;
// an unknown name is a usage error listing the stages.
util::Result<Plan> build_pipeline_plan(const config::PipelineConfig &config,
                                       const std::vector<std::string> &only_stages);

// The plan of `gate backup [TARGET...]`: backup (parallel) then verify.
util::Result<Plan> build_backup_plan(const config::PipelineConfig &config,
                                     const std::vector<std::string> &targets);

// Every target a plan backs up.
std::vector<std::string> planned_targets(const Plan &plan);

} // namespace gate::ops

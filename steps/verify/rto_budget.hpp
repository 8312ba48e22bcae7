// `rto_budget:` (top level, and per database or volume): the longest
// rollback the team accepts. Added by the plan right after the last
// verification before the set is sealed; it predicts the rollback to this
// set from what the set measured and fails the run (exit 1) when the
// prediction is longer, naming what dominates. A restore time never measured
// is measured first, by a deep verify of that artifact: the budget is never
// checked against an estimate.
#pragma once

#include "steps/step.hpp"

namespace gate::steps {

// Whether `config` sets any rto_budget.
bool has_rto_budget(const config::PipelineConfig &config);

class RtoBudgetStep : public Step {
public:
  std::string label() const override { return "check the rollback time budget"; }
  StepCategory category() const override { return StepCategory::verify; }
  util::Result<void> check(const RunContext &) const override { return {}; }
  util::Result<StepResult> run(RunContext &ctx) override;
  std::string plan(const RunContext &ctx) const override;
};

} // namespace gate::steps

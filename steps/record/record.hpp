// `record: true`: seal the set (verifying whatever no verify step covered)
// and write .last-deployment-backup. Without this step a pipeline records
// before its first exec step and at its end.
#pragma once

#include "steps/step.hpp"

namespace gate::steps {

class RecordStep : public Step {
public:
  std::string label() const override { return "record"; }
  StepCategory category() const override { return StepCategory::record; }
  util::Result<void> check(const RunContext &) const override { return {}; }
  util::Result<StepResult> run(RunContext &ctx) override;
  std::string plan(const RunContext &ctx) const override;
};

util::Result<std::unique_ptr<Step>> make_record_step(const config::Node &node,
                                                     const config::PipelineConfig &config);

} // namespace gate::steps

// `verify: all|NAME` (with `deep: true` or `quick: true`): proves the set's
// artifacts restorable and records each result in the manifest. The same step
// serves `gate verify` on a stored set.
#pragma once

#include "steps/step.hpp"
#include "steps/verify_common.hpp"

namespace gate::steps {

class VerifyStep : public Step {
public:
  VerifyStep(std::string target, engine::VerifyLevel level) : m_target(std::move(target)), m_level(level) {}
  std::string label() const override;
  StepCategory category() const override { return StepCategory::verify; }
  util::Result<void> check(const RunContext& ctx) const override;
  util::Result<StepResult> run(RunContext& ctx) override;
  std::string plan(const RunContext& ctx) const override;

  // Verifies the artifacts of `set`; with `only_unverified`, only those no
  // verification has passed yet.
  util::Result<StepResult> verify_set(RunContext& ctx, engine::SetHandle& set, bool only_unverified);

private:
  std::string m_target; // "all" or a target name
  engine::VerifyLevel m_level;
};

util::Result<std::unique_ptr<Step>> make_verify_step(const config::Node& node, const config::PipelineConfig& config);

} // namespace gate::steps

// `verify: all|NAME` (with `deep: true` or `quick: true`): proves the set's
// artifacts restorable and records each result in the manifest. The same step
// serves `gate verify` on a stored set.
#pragma once

#include "steps/step.hpp"
#include "steps/verify/findings.hpp"

namespace gate::steps {

class VerifyStep : public Step {
public:
  // With `skip_verified`, artifacts that already passed a verification (the
  // default pipeline verifies each backup as soon as it is written) are
  // not read again.
  // With `content` (deep only), tables' content fingerprints are compared too.
  VerifyStep(std::string target, model::VerifyLevel level, bool skip_verified = false,
             bool content = false)
      : m_target(std::move(target)), m_level(level), m_skip_verified(skip_verified),
        m_content(content) {}
  std::string label() const override;
  StepCategory category() const override { return StepCategory::verify; }
  util::Result<void> check(const RunContext &ctx) const override;
  util::Result<StepResult> run(RunContext &ctx) override;
  std::string plan(const RunContext &ctx) const override;
  bool wants_content_fingerprints() const override { return m_content; }

  // Verifies the artifacts of `set`; with `only_unverified`, only those no
  // verification has passed yet.
  util::Result<StepResult> verify_set(RunContext &ctx, model::SetHandle &set, bool only_unverified);

private:
  util::Result<std::expected<std::string, std::string>> build_standbys(RunContext &ctx,
                                                                       model::SetHandle &set) const;
  std::string m_target; // "all" or a target name
  model::VerifyLevel m_level;
  bool m_skip_verified = false;
  bool m_content = false;
};

// A backup step followed at once by the verification of what it wrote: in a
// parallel stage the read-back of a small target overlaps the backup of a
// large one instead of waiting for it.
class VerifiedBackupStep : public Step {
public:
  VerifiedBackupStep(std::unique_ptr<Step> backup, model::VerifyLevel level)
      : m_backup(std::move(backup)), m_level(level) {}
  std::string label() const override { return m_backup->label(); }
  StepCategory category() const override { return StepCategory::backup; }
  util::Result<void> check(const RunContext &ctx) const override { return m_backup->check(ctx); }
  util::Result<StepResult> run(RunContext &ctx) override;
  std::string plan(const RunContext &ctx) const override;
  std::vector<std::string> targets() const override { return m_backup->targets(); }

private:
  std::unique_ptr<Step> m_backup;
  model::VerifyLevel m_level;
};

util::Result<std::unique_ptr<Step>> make_verify_step(const config::Node &node,
                                                     const config::PipelineConfig &config);

} // namespace gate::steps

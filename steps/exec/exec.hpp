// `exec: [argv...]`: runs a command (a migration) under the gate. No shell
// unless the argv asks for one. On a non-zero exit, a timeout or an interrupt
// the command's whole process group is stopped and on_failure decides:
// rollback (to the set this run made), abort, or continue.
#pragma once

#include "steps/step.hpp"

#include <chrono>
#include <map>

namespace gate::steps {

enum class OnFailure { rollback, abort, proceed };

class ExecStep : public Step {
public:
  ExecStep(std::vector<std::string> argv, std::map<std::string, std::string> env,
           std::filesystem::path cwd, std::optional<std::chrono::milliseconds> timeout,
           OnFailure on_failure)
      : m_argv(std::move(argv)), m_env(std::move(env)), m_cwd(std::move(cwd)), m_timeout(timeout),
        m_on_failure(on_failure) {}
  std::string label() const override;
  StepCategory category() const override { return StepCategory::exec; }
  util::Result<void> check(const RunContext &ctx) const override;
  util::Result<StepResult> run(RunContext &ctx) override;
  std::string plan(const RunContext &ctx) const override;
  bool needs_earlier_backup() const override { return m_on_failure == OnFailure::rollback; }

private:
  std::vector<std::string> m_argv;
  std::map<std::string, std::string> m_env;
  std::filesystem::path m_cwd;
  std::optional<std::chrono::milliseconds> m_timeout;
  OnFailure m_on_failure;
};

util::Result<std::unique_ptr<Step>> make_exec_step(const config::Node &node,
                                                   const config::PipelineConfig &config);

} // namespace gate::steps

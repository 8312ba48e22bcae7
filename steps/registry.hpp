// The explicit tables of what gate can do: step kinds (the first key of a
// step in pipeline.yml) and artifact kinds (how each kind of backup is
// verified and put back by a rollback). A new step kind is one row here.
#pragma once

#include "steps/restore_job.hpp"
#include "steps/step.hpp"
#include "steps/verify/findings.hpp"
#include "util/tar.hpp"

#include <memory>
#include <string>
#include <vector>

namespace gate::steps {

using Steps = std::vector<std::unique_ptr<Step>>;

// Builds the step(s) of one pipeline.yml mapping ({backup: all} gives one per
// target); errors carry file:line:col.
util::Result<Steps> make_steps(const config::StepSpec &spec, const config::PipelineConfig &config);

// The backup step for one target (database or volume).
util::Result<std::unique_ptr<Step>> make_backup_step(const std::string &target,
                                                     const config::PipelineConfig &config,
                                                     ReadBack read_back = ReadBack::later);

// Verifies one artifact at `level` with the function its kind registers.
util::Result<Finding> verify_artifact(const model::Artifact &artifact,
                                      const std::filesystem::path &set_dir,
                                      model::VerifyLevel level, const RunContext &ctx,
                                      const util::ProgressFn &progress);

// The standby of one artifact's target (`standby: true`), built after its
// verification during a run, by its kind; null when there is none to build.
util::Result<std::optional<Finding>> build_standby(const model::Artifact &artifact,
                                                   const std::filesystem::path &set_dir,
                                                   model::VerifyLevel level, const RunContext &ctx,
                                                   const util::ProgressFn &progress);

// What a rollback does with one artifact, by its kind: a job that restores
// it (null when the kind is not restored, or the set holds nothing
// restorable), or a note saying why not. `group` is the `--only` value that
// selects it ("db", "volumes"; empty for kinds rollback ignores).
struct RestoreChoice {
  std::unique_ptr<RestoreJob> job;
  std::string group;
  std::string not_restored;
};
util::Result<RestoreChoice> make_restore_job(const config::PipelineConfig &config,
                                             const model::Manifest &manifest,
                                             const model::Artifact &artifact,
                                             const RestoreDestination &destination);

// The step kinds, for "did you mean" and docs.
std::vector<std::string> step_kind_names();

} // namespace gate::steps

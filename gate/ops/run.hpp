// `gate run` and `gate backup`: lock the backup root, run the plan's stages
// in order (a stage's steps in order or in parallel), stop at the first
// failed check, seal the verified set, write the record, apply retention —
// and roll back when a migration under the gate fails.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "model/set_store.hpp"
#include "ops/reporter.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gate::ops {

enum class RunMode { deploy, scheduled };

struct RunRequest {
  RunMode mode = RunMode::deploy;
  std::vector<std::string> only_stages; // gate run --stage
  std::vector<std::string> targets;     // gate backup TARGET...
  bool dry_run = false;
  std::vector<std::string> allow_shrink; // --allow-shrink TARGET: a shrink intended by this deploy
  std::string command_line;              // shown to a second gate waiting for the lock
};

struct RunOutcome {
  int exit_code = 0;
  bool ok = true;
  std::string event;   // "success" | "failure" | "rollback" | "interrupted"
  std::string verdict; // the one line a person reads
  std::string failed_stage, failed_step, reason;
  std::string set_id;
  std::filesystem::path set_dir;
  nlohmann::json git;
  uint64_t bytes = 0;
  long long duration_ms = 0;
  std::vector<StepReport> steps;
  nlohmann::json rollback; // what a rollback did, when one ran
};

// The manifest fields every new set starts with: project, environment, gate
// version, host and the git commit of the working copy.
model::Manifest base_manifest(const config::PipelineConfig &config);

// The sets max_shrink compares with: verified sets that backed up the data
// as the deploy found it. A pre-rollback snapshot holds the damaged state a
// rollback undid, so it is never a baseline.
std::vector<model::Manifest> shrink_baselines(const model::SetStore &store);

RunOutcome run_pipeline(const config::PipelineConfig &config, const RunRequest &request,
                        Reporter &reporter);

// `gate check`: builds the plan and runs every step's pre-flight, plus the
// check steps themselves (they change nothing). No lock, no set.
RunOutcome check_pipeline(const config::PipelineConfig &config, Reporter &reporter);

} // namespace gate::ops

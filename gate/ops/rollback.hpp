// `gate rollback`: verify the set, show the plan, take a safety snapshot of
// what will be overwritten, restore databases (row counts checked against the
// manifest) and volumes (staged beside the target, swapped in whole), and
// report each target's state with the command to finish by hand.
#pragma once

#include "config/pipeline.hpp"
#include "ops/reporter.hpp"
#include "ops/run.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace gate::ops {

enum class RollbackOnly { all, databases, volumes };

struct RollbackRequest {
  std::string set_id; // empty: --last
  // --remote NAME: restore that remote's copy (fetched into backup_root
  // first). Empty: the local set, or a remote's copy when backup_root has no
  // usable one.
  std::string remote;
  RollbackOnly only = RollbackOnly::all;
  std::map<std::string, std::filesystem::path> redirect; // --target NAME=DEST
  bool dry_run = false;
  bool safety_backup = true;
  bool use_standby = true; // false: --no-standby (restore from the dump even with a standby)
  std::optional<std::filesystem::path> identity_file; // --identity: decrypts an encrypted set
  // Asked before anything changes; returning false cancels (exit 1, nothing changed).
  std::function<bool()> confirm;
  bool lock_held = false; // the caller (a pipeline's exec step) holds the lock
  std::string command_line;
};

RunOutcome rollback(const config::PipelineConfig &config, const RollbackRequest &request,
                    Reporter &reporter);

// The set `--last` means: the one the record names if it is usable, else the
// newest usable set. Fails when there is none.
util::Result<std::string> resolve_last_set(const config::PipelineConfig &config);

} // namespace gate::ops

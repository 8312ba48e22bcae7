// One target a rollback puts back, as its artifact kind does it: the table in
// steps/registry.cpp maps each kind (database, volume) to the factory of its
// job, and rollback drives every job through this interface alone. A job is
// resolved against the configuration and the live system before anything
// changes; its restore ends in a typed RestoreOutcome, never a message to
// parse.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "steps/step.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace gate::steps {

enum class RestoreState {
  restored,               // the set's data is live, checked against the manifest
  restored_but_different, // the live data was replaced but differs from the manifest
  restored_not_resumed,   // restored and checked; the containers using it did not start again
  not_restored,           // the live data is wholly as it was before
};

struct RestoreOutcome {
  RestoreState state = RestoreState::not_restored;
  std::string state_text; // for people: "restored", "unchanged (wholly old)"...
  std::string detail;     // what was checked, or why it failed
  bool ok() const { return state == RestoreState::restored; }
};

using PlanLine = std::function<void(const std::string &)>;

class RestoreJob {
public:
  virtual ~RestoreJob() = default;
  virtual const std::string &target() const = 0;
  virtual const model::Artifact &artifact() const = 0;
  // The `gate rollback --only` value that selects this kind ("db", "volumes").
  virtual const char *only_flag() const = 0;
  // Whether there is live data the restore replaces (else nothing to snapshot).
  virtual bool replaces_live_data() const = 0;
  // Whether the restore is the swap of a standby built from this set (then
  // the replaced data is kept and no safety snapshot is taken).
  virtual bool swaps_in_standby() const { return false; }
  // The plan lines: what changes, how long the restore is predicted to take.
  virtual void plan(const model::Manifest &manifest, const PlanLine &line) const = 0;
  // After the confirmation, before the safety snapshot: what must hold or
  // exist for the restore (privileges; a dropped database or removed named
  // volume created again). On failure the live data is untouched.
  virtual util::Result<void> prepare() = 0;
  // The step that backs up the live data first, or null when there is none.
  virtual std::unique_ptr<Step> snapshot_step() = 0;
  virtual RestoreOutcome restore(const model::Manifest &manifest,
                                 const std::filesystem::path &set_dir,
                                 const std::function<void(uint64_t)> &progress) = 0;
};

// Where a rollback puts a target: its configured place, or (volumes) another
// directory given with --target NAME=DIR.
// An encrypted set is decrypted from `set_dir` with `identity_file`
// (--identity; steps/decrypt.hpp).
// A standby (`standby: true`) is swapped in when `use_standby` and it belongs
// to the set; the swap is journaled in `backup_root` under `rollback_id`.
struct RestoreDestination {
  std::optional<std::filesystem::path> redirect;
  std::filesystem::path set_dir;
  std::optional<std::filesystem::path> identity_file;
  std::filesystem::path backup_root;
  std::string rollback_id; // a timestamp, shared by the swaps of one rollback
  bool use_standby = true; // false: --no-standby, the restore path always
};

} // namespace gate::steps

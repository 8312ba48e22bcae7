// The step interface: every unit of work a pipeline, `gate backup`,
// `gate verify` or `gate rollback` performs. Steps see the configuration, the
// set they work on and util/, never the CLI.
#pragma once

#include "config/pipeline.hpp"
#include "model/backup_set.hpp"
#include "model/manifest.hpp"
#include "util/expected.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace gate::steps {

enum class Outcome { passed, failed };

// When a backup step reads what it wrote back: in a verify step later, or
// while writing (a reader follows the file, so the read-back costs almost no
// extra time; the default pipeline does this).
enum class ReadBack { later, while_writing };

// What the runner must know about a step to order the run around it.
enum class StepCategory { check, backup, verify, record, exec };

struct StepResult {
  Outcome outcome = Outcome::passed;
  std::string summary; // one line: what was done ("12.3 MiB custom dump, 14 tables")
  std::string reason;  // why it failed
  uint64_t bytes = 0;
  bool rollback_requested = false; // an exec step with on_failure: rollback failed
};

inline StepResult passed(std::string summary, uint64_t bytes = 0) {
  return StepResult{Outcome::passed, std::move(summary), {}, bytes, false};
}
inline StepResult failed(std::string reason) {
  return StepResult{Outcome::failed, {}, std::move(reason), 0, false};
}

// Everything a step may use while it runs.
struct RunContext {
  const config::PipelineConfig &config;
  model::SetStore &store;
  // The set being written or examined; open_set() creates it on first use.
  // Steps that run in parallel read it only after their own open_set(),
  // which sets it once, under a lock.
  model::SetHandle *set = nullptr;
  std::function<util::Result<model::SetHandle *>()> open_set;
  // The baselines max_shrink compares with: the verified sets of the
  // deploy's own kinds (never a pre-rollback safety snapshot), newest first.
  // Each target and format is compared with the newest baseline holding it.
  std::vector<model::Manifest> baselines;
  // Targets whose shrink the user allowed for this run (--allow-shrink).
  std::vector<std::string> allow_shrink;
  // Called by the record step: seal the set (verifying what is unverified)
  // and write the record.
  std::function<util::Result<void>()> seal_and_record;
  // Progress of the running step: bytes done and expected (0: unknown).
  std::function<void(const std::string &step, uint64_t done, uint64_t total)> progress;
  bool dry_run = false;
  // False for `gate backup`: a scheduled set leaves the standbys alone, so
  // that each stays the recorded deploy set's, the one `rollback --last` uses.
  bool build_standbys = true;
  // Compression threads each stream may use: the cores shared among the
  // steps running at once (a parallel stage sets it), so the whole run uses
  // about one thread per core and memory stays bounded.
  int compression_threads = 0; // 0: one per core
  // Content fingerprints: database backups hash every table's ordered rows in
  // the dump's snapshot, and a deep verification compares them after its
  // test restore. Set for a run whose plan has a verify step with content: true.
  bool content_fingerprints = false;
  // --identity FILE: the age identity that decrypts an encrypted set (else
  // GATE_AGE_IDENTITY_FILE, else encryption.identity_file; steps/decrypt.hpp).
  std::optional<std::filesystem::path> identity_file;
};

class Step {
public:
  virtual ~Step() = default;
  // "backup app", "check connections", "verify all (deep)".
  virtual std::string label() const = 0;
  virtual StepCategory category() const = 0;
  // Pre-flight: binaries, paths, credentials. Changes nothing.
  virtual util::Result<void> check(const RunContext &ctx) const = 0;
  // A negative verdict (checksum mismatch) is Outcome::failed; an Error means
  // the step could not decide (connection refused, disk full).
  virtual util::Result<StepResult> run(RunContext &ctx) = 0;
  // One line for --dry-run: what run() would do.
  virtual std::string plan(const RunContext &ctx) const = 0;
  // Targets this step backs up (disk-space estimates, --only filters).
  virtual std::vector<std::string> targets() const { return {}; }
  // True when the step relies on a set made earlier in the same run (an exec
  // step that rolls back on failure).
  virtual bool needs_earlier_backup() const { return false; }
  // True for a verify step that compares content fingerprints: the backups
  // before it must record them.
  virtual bool wants_content_fingerprints() const { return false; }
};

} // namespace gate::steps

// Standbys of volumes (`standby: true`): the archive, once written, is
// extracted again beside the live directory, on its filesystem, into
// "<parent>/.<base>.gate-standby", checked against the manifest and kept, so
// that a rollback is two renames instead of an extraction. The standby's
// identity is a fingerprint of its tree (stat only: path, type, mode, owner,
// size, mtime of every entry), recorded in the manifest and checked again
// before a rollback trusts it. Deep verify uses the same extraction into a
// scratch directory it removes, to measure the restore time.
#pragma once

#include "model/manifest.hpp"
#include "steps/verify/findings.hpp"
#include "util/expected.hpp"
#include "util/tar.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace gate::steps {

// "<parent>/.<base>.gate-standby": where the standby of `live` is kept.
std::filesystem::path standby_path(const std::filesystem::path &live);
// "<parent>/.<base>.replaced-<rollback_id>": the live data a standby rollback replaced.
std::filesystem::path replaced_path(const std::filesystem::path &live,
                                    const std::string &rollback_id);

// What identifies a tree: entry count, regular-file bytes (hard links once),
// and SHA-256 over every entry's relative path, type, mode, uid, gid, size
// and mtime, visited in name order (the root without its mtime, which a
// rename may touch).
struct TreeFingerprint {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  std::string sha256;
};
util::Result<TreeFingerprint> tree_fingerprint(const std::filesystem::path &root);

// A directory made for one piece of work and removed on every way out
// (errors, interrupts: the removal runs under a CancelShield).
class ScratchDir {
public:
  // Removes what an earlier, killed gate left at `path`, then creates it (0700).
  static util::Result<std::unique_ptr<ScratchDir>> create(const std::filesystem::path &path);
  ~ScratchDir();
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
  const std::filesystem::path &path() const { return m_path; }
  // The directory stays (it was renamed into use); the destructor leaves it.
  void release() { m_path.clear(); }

private:
  explicit ScratchDir(std::filesystem::path path) : m_path(std::move(path)) {}
  std::filesystem::path m_path;
};

// An extraction as a rollback does it, compared with the manifest (checksum,
// entries, bytes), and its time: the measured restore time.
struct MeasuredExtraction {
  Finding finding;
  long long restore_ms = 0;
};
util::Result<MeasuredExtraction> extract_and_measure(const model::Artifact &artifact,
                                                     const std::filesystem::path &set_dir,
                                                     const std::filesystem::path &into,
                                                     const util::ProgressFn &progress);

// Deep verification of a volume: extracted for real into a scratch directory
// beside the live data where it can be written (else under `backup_root`),
// compared, timed (metrics.restore_ms) and removed.
util::Result<Finding> verify_volume_by_extraction(const model::Artifact &artifact,
                                                  const std::filesystem::path &set_dir,
                                                  const std::filesystem::path &backup_root,
                                                  const util::ProgressFn &progress);

// Pre-flight of `standby: true` on the volume `target` living at `live`:
// refused when the standby would be on another filesystem (the live
// directory is a mount point), an error naming the sizes when the filesystem
// has no room for another copy of the volume's content.
util::Result<void> check_standby_possible(const std::string &target,
                                          const std::filesystem::path &live);

// Builds the standby of `live` from the archive of `artifact` (set `set_id`):
// extracted into "<standby>.new", compared with the manifest, then put in
// the place of the older standby, which goes only now. A finding that is
// not ok leaves the older standby as it was.
struct BuiltStandby {
  Finding finding;
  nlohmann::json details; // the artifact's details["standby"]
  long long restore_ms = 0;
};
util::Result<BuiltStandby> build_standby(const model::Artifact &artifact,
                                         const std::filesystem::path &set_dir,
                                         const std::filesystem::path &live,
                                         const std::string &set_id,
                                         const util::ProgressFn &progress);

// Whether a rollback of `artifact` from set `set_id` into `live` may swap
// its standby in: it is recorded, belongs to this set, is where it was put
// and its fingerprint still matches. `why_not` says why not, for the plan.
struct StandbyChoice {
  bool use = false;
  std::filesystem::path path;
  std::string why_not;
};
StandbyChoice choose_standby(const model::Artifact &artifact, const std::string &set_id,
                             const std::filesystem::path &live);

} // namespace gate::steps

// Restoring a volume archive: extracted with libarchive's secure flags into a
// staging directory beside the destination, checked against the manifest
// (checksum, entry count, bytes), then swapped in with one atomic rename
// exchange. The destination is at every moment wholly old or wholly new; the
// old data is removed only after the swap. What the set never held (paths the
// volume's `exclude` patterns matched) is carried from the live tree into the
// staged one before the swap, so it survives the rollback.
#pragma once

#include "model/manifest.hpp"
#include "util/expected.hpp"
#include "util/tar.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace gate::steps {

struct VolumeRestoreResult {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  std::string note;              // e.g. "the destination did not exist; created"
  std::vector<std::string> kept; // excluded paths carried over from the live tree
};

// Restores `artifact` (a volume archive in `set_dir`) into `dest`.
util::Result<VolumeRestoreResult> restore_volume(const model::Artifact &artifact,
                                                 const std::filesystem::path &set_dir,
                                                 const std::filesystem::path &dest,
                                                 const std::string &set_id,
                                                 const util::ProgressFn &progress);

// Extracts the archive of `artifact` into the existing empty directory
// `into`, as every restore does (owners when root, modes, xattrs, ACLs),
// hashing and counting on the way. The caller compares with the manifest.
util::Result<util::TarStats> extract_volume_archive(const model::Artifact &artifact,
                                                    const std::filesystem::path &set_dir,
                                                    const std::filesystem::path &into,
                                                    const util::ProgressFn &progress);

// The staging directory used for `dest` ("<parent>/.<name>.gate-staging").
std::filesystem::path staging_path(const std::filesystem::path &dest);

// The entries of the live tree `live` that match the volume's exclude
// patterns (relative paths; an excluded directory is listed, not its
// contents). A rollback keeps them: the set never held them.
std::vector<std::string> excluded_entries(const std::filesystem::path &live,
                                          const std::vector<std::string> &patterns);

} // namespace gate::steps

// Verification of a volume archive: quick (sizes, checksum), full (every
// entry and byte read back by libarchive while the file is hashed, entry
// count and byte total compared with the manifest) or deep (extracted for
// real into a scratch directory, timed: metrics.restore_ms; steps/volume/standby.hpp).
#pragma once

#include "steps/verify/findings.hpp"
#include "util/tar.hpp"

namespace gate::steps {

// Compares what a read of the archive found with the manifest's entry.
Finding compare_volume_read(const model::Artifact &artifact, const util::TarStats &read);

util::Result<Finding> verify_volume(const model::Artifact &artifact,
                                    const std::filesystem::path &set_dir, model::VerifyLevel level,
                                    const std::filesystem::path &backup_root,
                                    const util::ProgressFn &progress);

} // namespace gate::steps

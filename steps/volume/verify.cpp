#include "steps/volume/verify.hpp"

#include "steps/volume/standby.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

namespace gate::steps {

util::Result<Finding> verify_volume(const model::Artifact &artifact,
                                    const std::filesystem::path &set_dir, model::VerifyLevel level,
                                    const std::filesystem::path &backup_root,
                                    const util::ProgressFn &progress) {
  if (level == model::VerifyLevel::quick) return verify_files_quick(artifact, set_dir);
  Finding sizes = verify_sizes(artifact, set_dir);
  if (!sizes.ok) return sizes;
  // Deep: extracted for real, as a rollback would, and timed.
  if (level == model::VerifyLevel::deep)
    return verify_volume_by_extraction(artifact, set_dir, backup_root, progress);
  const auto &file = artifact.files.front();
  auto stats = util::tar_read(set_dir / file.path, progress);
  if (!stats) {
    if (stats.error().kind == util::ErrorKind::interrupted) return std::unexpected(stats.error());
    return finding_failed(stats.error().message);
  }
  return compare_volume_read(artifact, *stats);
}

Finding compare_volume_read(const model::Artifact &artifact, const util::TarStats &read) {
  const auto &file = artifact.files.front();
  if (read.sha256 != file.sha256)
    return finding_failed(fmt::format("'{}' fails its checksum: sha256 {} but the manifest says {}",
                                      file.path, read.sha256, file.sha256));
  uint64_t entries = artifact.details.value("entries", uint64_t{0});
  uint64_t bytes = artifact.details.value("content_bytes", uint64_t{0});
  if (read.entries != entries)
    return finding_failed(fmt::format("'{}' holds {} entries, the manifest says {}", file.path,
                                      read.entries, entries));
  if (read.content_bytes != bytes)
    return finding_failed(fmt::format("'{}' holds {} bytes of file data, the manifest says {}",
                                      file.path, read.content_bytes, bytes));
  return finding_ok(fmt::format("{} entries and {} read back, checksum matches", read.entries,
                                util::human_bytes(read.content_bytes)));
}

} // namespace gate::steps

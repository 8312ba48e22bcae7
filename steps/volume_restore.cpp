#include "steps/volume_restore.hpp"

#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gate::steps {

namespace fs = std::filesystem;

fs::path staging_path(const fs::path& dest) {
  fs::path clean = dest.lexically_normal();
  if (clean.filename().empty()) clean = clean.parent_path();
  return clean.parent_path() / ("." + clean.filename().string() + ".gate-staging");
}

util::Result<VolumeRestoreResult> restore_volume(const engine::Artifact& a, const fs::path& set_dir,
                                                 const fs::path& dest_in, const std::string& set_id,
                                                 const util::ProgressFn& progress) {
  fs::path dest = dest_in.lexically_normal();
  if (dest.filename().empty()) dest = dest.parent_path();
  fs::path parent = dest.parent_path();
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    return util::fail("unable to restore into '" + dest.string() + "': its parent directory does not exist");
  fs::path staging = staging_path(dest);
  // A staging directory left by an interrupted rollback holds nothing anyone needs.
  if (fs::exists(staging, ec)) {
    util::log_warn("removing '{}' left by an interrupted restore", staging.string());
    TRY(util::remove_tree(staging));
  }
  if (::mkdir(staging.c_str(), 0700) != 0)
    return util::fail("unable to create staging directory '" + staging.string() + "': " + util::errno_text(errno));

  util::ExtractOptions options;
  options.owners = ::geteuid() == 0;
  options.progress = progress;
  auto extracted = util::tar_extract(set_dir / a.path, staging, options);
  auto abandon = [&](const std::string& why) -> util::Result<VolumeRestoreResult> {
    util::CancelShield shield;
    (void)util::remove_tree(staging);
    return util::fail(why + "; '" + dest.string() + "' was not touched");
  };
  if (!extracted) {
    if (extracted.error().kind == util::ErrorKind::interrupted) {
      util::CancelShield shield;
      (void)util::remove_tree(staging);
      return std::unexpected(extracted.error());
    }
    return abandon(extracted.error().message);
  }
  const auto& file = a.files.front();
  if (extracted->sha256 != file.sha256)
    return abandon(fmt::format("'{}' fails its checksum while restoring", file.path));
  uint64_t entries = a.details.value("entries", uint64_t{0});
  uint64_t bytes = a.details.value("content_bytes", uint64_t{0});
  if (extracted->entries != entries || extracted->content_bytes != bytes)
    return abandon(fmt::format("extracted {} entries and {} bytes, the manifest says {} and {}", extracted->entries,
                               extracted->content_bytes, entries, bytes));
  TRY(util::sync_filesystem(staging)); // durable before it replaces anything

  VolumeRestoreResult result{extracted->entries, extracted->content_bytes, {}};
  if (!fs::exists(dest, ec)) {
    if (::rename(staging.c_str(), dest.c_str()) != 0)
      return abandon("unable to move the restored tree into place: " + util::errno_text(errno));
    result.note = "the destination did not exist; created it";
  } else {
    // One atomic exchange: readers see the old tree or the new one, never a mix.
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0) {
      int e = errno;
      if (e == EBUSY)
        return abandon("'" + dest.string() + "' is a mount point and cannot be swapped; restore elsewhere with "
                       "--target " + a.target + "=DIR and copy");
      return abandon("unable to swap the restored tree into place: " + util::errno_text(e));
    }
    // The old tree now sits at the staging path; it goes only after the swap succeeded.
    util::CancelShield shield;
    if (auto r = util::remove_tree(staging); !r)
      util::log_warn("restored '{}', but the old data at '{}' could not be removed: {}", dest.string(),
                     staging.string(), r.error().message);
  }
  (void)util::fsync_path(parent);
  return result;
}

} // namespace gate::steps

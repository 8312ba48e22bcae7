#include "util/archive_io.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/tar.hpp"
#include "util/text.hpp"

#include <unistd.h>
#include <vector>

namespace gate::util {

namespace {

// Refuses names that are absolute or climb out with "..": the destination is
// prefixed to every name, so these are the only ways out besides symlinks,
// which libarchive's SECURE_SYMLINKS refuses to write through.
Result<std::string> contained_name(const char *name, const std::string &what) {
  std::string n = name ? name : "";
  if (n.empty()) return fail("archive entry with an empty " + what);
  if (n[0] == '/') return fail("refusing archive entry with absolute " + what + " '" + n + "'");
  for (const auto &part : split(n, '/'))
    if (part == "..")
      return fail("refusing archive entry whose " + what + " '" + n + "' contains '..'");
  return n;
}

// Where an entry is written: the destination itself for ".", else below it.
std::string target_path(const std::filesystem::path &root, std::string_view name) {
  return name == "." || name == "./" ? root.string() : (root / name).string();
}

// A disk writer that restores times, permissions, ACLs, xattrs and flags
// (owners only when asked) and refuses ".." and writing through symlinks.
ArchivePtr make_disk_writer(const ExtractOptions &options) {
  ArchivePtr writer(archive_write_disk_new(), ArchiveKind::write);
  struct archive *w = writer.get();
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL |
              ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS;
  if (options.owners) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(w, flags);
  archive_write_disk_set_standard_lookup(w);
  return writer;
}

// Writes one entry (its header just read from `a`) below `root`.
Result<void> extract_entry(struct archive *a, struct archive *w, struct archive_entry *entry,
                           const std::filesystem::path &root,
                           const std::filesystem::path &archive_path, const ExtractOptions &options,
                           TarStats &stats) {
  TRY_ASSIGN(std::string name, contained_name(archive_entry_pathname(entry), "path"));
  std::string target = target_path(root, name);
  archive_entry_copy_pathname(entry, target.c_str());
  if (const char *link = archive_entry_hardlink(entry)) {
    TRY_ASSIGN(std::string link_name, contained_name(link, "hard link target"));
    archive_entry_copy_hardlink(entry, (root / link_name).string().c_str());
  }
  ++stats.entries;
  if (archive_entry_filetype(entry) == AE_IFREG) ++stats.files;
  if (archive_write_header(w, entry) < ARCHIVE_WARN)
    return fail("unable to extract '" + name + "' from '" + archive_path.string() +
                "': " + archive_message(w, "refused"));
  // Block by block at their offsets: holes of sparse files stay holes.
  TRY_ASSIGN(uint64_t bytes,
             read_entry_data(
                 a, entry, archive_path,
                 [&](const void *data, size_t size, int64_t offset) -> Result<void> {
                   // A failed write(2) (ENOSPC) is only ARCHIVE_WARN: the
                   // file would be left short, so anything but OK fails.
                   if (archive_write_data_block(w, data, size, offset) != ARCHIVE_OK)
                     return fail(
                         "unable to write '" + target + "': " + archive_message(w, "write failed") +
                         (archive_errno(w) > 0 ? " (" + errno_text(archive_errno(w)) + ")" : ""));
                   if (options.progress)
                     options.progress(stats.content_bytes + static_cast<uint64_t>(offset) + size);
                   return {};
                 }));
  stats.content_bytes += bytes;
  if (archive_write_finish_entry(w) < ARCHIVE_WARN)
    return fail("unable to finish '" + target + "': " + archive_message(w, "failed"));
  return {};
}

} // namespace

Result<TarStats> tar_extract(const std::filesystem::path &archive_path,
                             const std::filesystem::path &dest, const ExtractOptions &options) {
  std::error_code ec;
  std::filesystem::path root = std::filesystem::canonical(dest, ec);
  if (ec) return fail("unable to extract into '" + dest.string() + "': " + ec.message());

  TRY_ASSIGN(auto in, HashingFileInput::open(archive_path));
  ArchivePtr reader(archive_read_new(), ArchiveKind::read);
  struct archive *a = reader.get();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  TRY(open_read(a, *in, archive_path));
  ArchivePtr writer = make_disk_writer(options);
  struct archive *w = writer.get();

  TarStats stats;
  while (true) {
    if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
    struct archive_entry *entry = nullptr;
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(archive_failure("read", archive_path, a));
    TRY(extract_entry(a, w, entry, root, archive_path, options, stats));
  }
  // Directory modes and times are applied at close (after their contents).
  if (archive_write_close(w) < ARCHIVE_WARN)
    return fail("unable to finish extraction into '" + dest.string() +
                "': " + archive_message(w, "failed"));
  TRY(in->check());
  reader.reset();
  TRY_ASSIGN(auto totals, in->finish());
  stats.archive_bytes = totals.bytes;
  stats.sha256 = totals.sha256;
  return stats;
}

} // namespace gate::util

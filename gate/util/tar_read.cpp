#include "util/archive_io.hpp"
#include "util/cancel.hpp"
#include "util/tar.hpp"

namespace gate::util {

Result<TarStats> tar_read(const std::filesystem::path &archive_path, const ProgressFn &progress,
                          GrowthSignal *follow) {
  TRY_ASSIGN(auto in, HashingFileInput::open(archive_path, follow));
  ArchivePtr archive(archive_read_new(), ArchiveKind::read);
  struct archive *a = archive.get();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  TRY(open_read(a, *in, archive_path));
  TarStats stats;
  while (true) {
    if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
    struct archive_entry *entry = nullptr;
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(archive_failure("read", archive_path, a));
    ++stats.entries;
    if (archive_entry_filetype(entry) == AE_IFREG) ++stats.files;
    TRY_ASSIGN(uint64_t bytes, read_entry_data(a, entry, archive_path,
                                               [&](const void *, size_t, int64_t) -> Result<void> {
                                                 if (progress) progress(in->bytes_read());
                                                 return {};
                                               }));
    stats.content_bytes += bytes;
  }
  TRY(in->check());
  archive.reset();
  TRY_ASSIGN(auto totals, in->finish());
  stats.archive_bytes = totals.bytes;
  stats.sha256 = totals.sha256;
  return stats;
}

} // namespace gate::util

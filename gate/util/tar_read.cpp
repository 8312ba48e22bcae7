#include "util/archive_io.hpp"
#include "util/cancel.hpp"
#include "util/tar.hpp"

#include <vector>

namespace gate::util {

Result<TarStats> tar_read(const std::filesystem::path& archive_path, const ProgressFn& progress,
                          GrowthSignal* follow) {
  TRY_ASSIGN(auto in, HashingFileInput::open(archive_path, follow));
  ArchivePtr archive(archive_read_new(), ArchiveKind::read);
  struct archive* a = archive.get();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  TRY(open_read(a, *in, archive_path));
  TarStats stats;
  std::vector<char> buf(1 << 18);
  while (true) {
    if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(archive_failure("read", archive_path, a));
    ++stats.entries;
    if (archive_entry_filetype(entry) == AE_IFREG) ++stats.files;
    while (true) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0) return fail(archive_failure("read", archive_path, a) + " (in entry '" + entry_name(entry) + "')");
      if (n == 0) break;
      stats.content_bytes += static_cast<uint64_t>(n);
      if (progress) progress(in->bytes_read());
    }
  }
  TRY(in->check());
  archive.reset();
  TRY_ASSIGN(auto totals, in->finish());
  stats.archive_bytes = totals.bytes;
  stats.sha256 = totals.sha256;
  return stats;
}

} // namespace gate::util

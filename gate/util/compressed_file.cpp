#include "util/compressed_file.hpp"

#include "util/archive_io.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace gate::util {

const char *codec_suffix(Codec codec) {
  switch (codec) {
  case Codec::zstd:
    return ".zst";
  case Codec::gzip:
    return ".gz";
  case Codec::none:
    return "";
  }
  return "";
}

std::string libarchive_version() {
  return archive_version_details();
}

struct CompressedWriter::Impl {
  std::filesystem::path path;
  std::unique_ptr<HashingFileOutput> out;
  ArchivePtr archive;
  uint64_t raw_bytes = 0;
  bool finished = false;
};

Result<std::unique_ptr<CompressedWriter>>
CompressedWriter::create(const std::filesystem::path &path, CodecOptions options,
                         GrowthSignal *growth) {
  auto w = std::unique_ptr<CompressedWriter>(new CompressedWriter());
  w->m_impl = std::make_unique<Impl>();
  auto &impl = *w->m_impl;
  impl.path = path;
  TRY_ASSIGN(impl.out, HashingFileOutput::create(path, growth));
  impl.archive = ArchivePtr(archive_write_new(), ArchiveKind::write);
  struct archive *a = impl.archive.get();
  TRY(set_write_codec(a, options));
  archive_write_set_format_raw(a);
  TRY(open_write(a, *impl.out, path));
  ArchiveEntryPtr entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), "data");
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0600);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK)
    return fail(archive_failure("write", path, a));
  return w;
}

CompressedWriter::~CompressedWriter() {
  if (m_impl && !m_impl->finished) {
    m_impl->archive.reset();
    m_impl->out.reset();
    ::unlink(m_impl->path.c_str());
  }
}

Result<void> CompressedWriter::write(const void *data, size_t size) {
  struct archive *a = m_impl->archive.get();
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    la_ssize_t n = archive_write_data(a, p, size);
    if (n < 0) return fail(archive_failure("write", m_impl->path, a));
    p += n;
    size -= static_cast<size_t>(n);
    m_impl->raw_bytes += static_cast<uint64_t>(n);
  }
  return {};
}

Result<WrittenFile> CompressedWriter::finish() {
  auto &impl = *m_impl;
  if (archive_write_close(impl.archive.get()) != ARCHIVE_OK)
    return fail(archive_failure("write", impl.path, impl.archive.get()));
  TRY(impl.out->check());
  impl.archive.reset();
  TRY_ASSIGN(auto out, impl.out->finish());
  impl.finished = true;
  return WrittenFile{out.bytes, impl.raw_bytes, out.sha256};
}

Result<ReadFile> read_compressed(const std::filesystem::path &path,
                                 const std::function<Result<void>(const char *, size_t)> &sink,
                                 GrowthSignal *follow) {
  TRY_ASSIGN(auto in, HashingFileInput::open(path, follow));
  ArchivePtr archive(archive_read_new(), ArchiveKind::read);
  struct archive *a = archive.get();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  TRY(open_read(a, *in, path));
  struct archive_entry *entry = nullptr;
  int r = archive_read_next_header(a, &entry);
  if (r == ARCHIVE_EOF) return fail("unable to read '" + path.string() + "': the file is empty");
  if (r != ARCHIVE_OK) return fail(archive_failure("read", path, a));
  ReadFile result;
  std::vector<char> buf(1 << 18);
  while (true) {
    if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) return fail(archive_failure("read", path, a));
    if (n == 0) break;
    result.raw_bytes += static_cast<uint64_t>(n);
    if (sink) TRY(sink(buf.data(), static_cast<size_t>(n)));
  }
  TRY(in->check());
  archive.reset();
  TRY_ASSIGN(auto totals, in->finish());
  result.bytes = totals.bytes;
  result.sha256 = totals.sha256;
  return result;
}

} // namespace gate::util

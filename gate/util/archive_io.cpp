#include "util/archive_io.hpp"

#include "util/fs.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace gate::util {

Result<std::unique_ptr<HashingFileOutput>>
HashingFileOutput::create(const std::filesystem::path &path, GrowthSignal *growth) {
  auto out = std::make_unique<HashingFileOutput>();
  out->m_path = path;
  out->m_growth = growth;
  out->m_fd.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out->m_fd) return fail("unable to create '" + path.string() + "': " + errno_text(errno));
  return out;
}

Result<void> HashingFileOutput::write(const void *data, size_t size) {
  for (const char *p = static_cast<const char *>(data);
       p < static_cast<const char *>(data) + size;) {
    ssize_t n = ::write(m_fd.get(), p, static_cast<const char *>(data) + size - p);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (m_errno == 0) {
        m_errno = errno;
        m_error = "unable to write '" + m_path.string() + "': " + errno_text(m_errno);
      }
      return fail(m_error);
    }
    p += n;
  }
  m_hash.update(data, size);
  m_bytes += size;
  if (m_growth) m_growth->wrote(m_bytes);
  return {};
}

HashingFileOutput::~HashingFileOutput() {
  if (m_growth && !m_finished) m_growth->finish(false);
}

Result<void> HashingFileOutput::check() const {
  if (!m_error.empty()) return fail(m_error);
  return {};
}

Result<StreamTotals> HashingFileOutput::finish() {
  TRY(check());
  if (::fsync(m_fd.get()) != 0)
    return fail("unable to fsync '" + m_path.string() + "': " + errno_text(errno));
  m_fd.reset();
  m_finished = true;
  if (m_growth) m_growth->finish(true);
  return StreamTotals{m_bytes, m_hash.hex_digest()};
}

Result<std::unique_ptr<HashingFileInput>> HashingFileInput::open(const std::filesystem::path &path,
                                                                 GrowthSignal *follow) {
  auto in = std::make_unique<HashingFileInput>();
  in->m_path = path;
  in->m_follow = follow;
  if (follow) {
    // The file exists once the writer wrote something (or gave up).
    auto state = follow->wait_beyond(0);
    if (state.finished && !state.ok)
      return fail("unable to read '" + path.string() + "': its writer failed");
  }
  in->m_fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in->m_fd) return fail("unable to read '" + path.string() + "': " + errno_text(errno));
  struct stat st {};
  if (::fstat(in->m_fd.get(), &st) == 0) in->m_size = static_cast<uint64_t>(st.st_size);
  ::posix_fadvise(in->m_fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return in;
}

ssize_t HashingFileInput::read(void *buf, size_t size) {
  while (true) {
    ssize_t n = ::read(m_fd.get(), buf, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      m_error = "unable to read '" + m_path.string() + "': " + errno_text(errno);
      return -1;
    }
    if (n == 0 && m_follow) {
      auto state = m_follow->wait_beyond(m_bytes);
      if (state.total > m_bytes) continue; // more arrived
      if (!state.ok) {
        m_error = "unable to read '" + m_path.string() + "': its writer failed";
        return -1;
      }
    }
    m_hash.update(buf, static_cast<size_t>(n));
    m_bytes += static_cast<uint64_t>(n);
    return n;
  }
}

Result<void> HashingFileInput::check() const {
  if (!m_error.empty()) return fail(m_error);
  return {};
}

Result<StreamTotals> HashingFileInput::finish() {
  std::vector<char> buf(1 << 16);
  while (true) {
    ssize_t n = read(buf.data(), buf.size());
    if (n < 0) return fail(m_error);
    if (n == 0) break;
  }
  m_fd.reset();
  return StreamTotals{m_bytes, m_hash.hex_digest()};
}

Result<void> set_write_codec(struct archive *a, const CodecOptions &options) {
  int r = ARCHIVE_OK;
  switch (options.codec) {
  case Codec::zstd: {
    r = archive_write_add_filter_zstd(a);
    if (r != ARCHIVE_OK) break;
    // Level 1: on this class of machine it compresses about as well as 3 for
    // backup data, faster, and with far less memory (bench/results.md).
    int level = options.level > 0 ? options.level : 1;
    unsigned threads = options.threads > 0 ? static_cast<unsigned>(options.threads)
                                           : std::max(1u, std::thread::hardware_concurrency());
    r = archive_write_set_filter_option(a, "zstd", "compression-level",
                                        std::to_string(level).c_str());
    if (r == ARCHIVE_OK && threads > 1)
      r = archive_write_set_filter_option(a, "zstd", "threads", std::to_string(threads).c_str());
    break;
  }
  case Codec::gzip: {
    r = archive_write_add_filter_gzip(a);
    int level = options.level > 0 ? options.level : 6;
    if (r == ARCHIVE_OK)
      r = archive_write_set_filter_option(a, "gzip", "compression-level",
                                          std::to_string(level).c_str());
    break;
  }
  case Codec::none:
    r = archive_write_add_filter_none(a);
    break;
  }
  if (r != ARCHIVE_OK) return fail("unable to set up compression: " + archive_message(a));
  return {};
}

namespace {
// libarchive reports a failed callback with no message of its own ("unknown
// libarchive error"): the cause (ENOSPC...) is handed to it here.
la_ssize_t write_cb(struct archive *a, void *client, const void *buf, size_t n) {
  auto *out = static_cast<HashingFileOutput *>(client);
  if (!out->write(buf, n)) {
    archive_set_error(a, out->error_number(), "%s", errno_text(out->error_number()).c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

struct ReadClient {
  HashingFileInput *in;
  std::vector<char> buf = std::vector<char>(1 << 20);
};

la_ssize_t read_cb(struct archive *, void *client, const void **out) {
  auto *c = static_cast<ReadClient *>(client);
  *out = c->buf.data();
  return c->in->read(c->buf.data(), c->buf.size());
}

int close_read_cb(struct archive *, void *client) {
  delete static_cast<ReadClient *>(client);
  return ARCHIVE_OK;
}
} // namespace

Result<void> open_write(struct archive *a, HashingFileOutput &out,
                        const std::filesystem::path &path) {
  archive_write_set_bytes_in_last_block(a, 1); // no padding after the compressed stream
  if (archive_write_open2(a, &out, nullptr, write_cb, nullptr, nullptr) != ARCHIVE_OK)
    return fail(archive_failure("write", path, a));
  return {};
}

Result<void> open_read(struct archive *a, HashingFileInput &in, const std::filesystem::path &path) {
  auto *client = new ReadClient{&in};
  if (archive_read_open2(a, client, nullptr, read_cb, nullptr, close_read_cb) != ARCHIVE_OK)
    return fail(archive_failure("read", path, a));
  return {};
}

std::string archive_failure(const std::string &verb, const std::filesystem::path &path,
                            struct archive *a) {
  const char *msg = archive_error_string(a);
  return "unable to " + verb + " '" + path.string() +
         "': " + (msg ? msg : "unknown libarchive error");
}

Result<uint64_t> read_entry_data(struct archive *a, struct archive_entry *entry,
                                 const std::filesystem::path &path, const DataBlockFn &block) {
  uint64_t stored = 0;
  while (true) {
    const void *data = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(a, &data, &size, &offset);
    if (r == ARCHIVE_EOF) {
      if (archive_entry_hardlink(entry) || archive_entry_filetype(entry) != AE_IFREG) return stored;
      // At the end, libarchive reports the file's full size as the offset (a trailing hole
      // included).
      return std::max<uint64_t>(stored, static_cast<uint64_t>(std::max<la_int64_t>(offset, 0)));
    }
    if (r < ARCHIVE_WARN)
      return fail(archive_failure("read", path, a) + " (in entry '" + entry_name(entry) + "')");
    if (size == 0) continue;
    TRY(block(data, size, offset));
    stored += size;
  }
}

} // namespace gate::util

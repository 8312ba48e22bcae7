// libarchive plumbing shared by util's archive files (compressed_file, tar_*).
// Only util .cpp files include this header: no libarchive type leaves util.
#pragma once

#include "util/compressed_file.hpp"
#include "util/expected.hpp"
#include "util/fd.hpp"
#include "util/growth.hpp"
#include "util/sha256.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace gate::util {

enum class ArchiveKind { read, write };

// Owns a struct archive*, freeing it with the right function.
class ArchivePtr {
public:
  ArchivePtr() = default;
  ArchivePtr(struct archive *a, ArchiveKind kind) : m_a(a), m_kind(kind) {}
  ArchivePtr(ArchivePtr &&o) noexcept : m_a(std::exchange(o.m_a, nullptr)), m_kind(o.m_kind) {}
  ArchivePtr &operator=(ArchivePtr &&o) noexcept {
    reset();
    m_a = std::exchange(o.m_a, nullptr);
    m_kind = o.m_kind;
    return *this;
  }
  ~ArchivePtr() { reset(); }
  struct archive *get() const {
    return m_a;
  }
  void reset() {
    if (!m_a) return;
    if (m_kind == ArchiveKind::read)
      archive_read_free(m_a);
    else
      archive_write_free(m_a);
    m_a = nullptr;
  }

private:
  struct archive *m_a = nullptr;
  ArchiveKind m_kind = ArchiveKind::read;
};

struct EntryDeleter {
  void operator()(struct archive_entry *e) const { archive_entry_free(e); }
};
using ArchiveEntryPtr = std::unique_ptr<struct archive_entry, EntryDeleter>;

struct StreamTotals {
  uint64_t bytes = 0;
  std::string sha256;
};

// The output end of an archive: hashes and counts every byte it writes.
class HashingFileOutput {
public:
  // Creates `path` (must not exist), mode 0600. With `growth`, every write
  // and the end are announced to a reader following the file.
  static Result<std::unique_ptr<HashingFileOutput>> create(const std::filesystem::path &path,
                                                           GrowthSignal *growth = nullptr);
  ~HashingFileOutput();
  Result<void> write(const void *data, size_t size);
  // The first write error, if any (libarchive only sees "-1").
  Result<void> check() const;
  // The errno of the first failed write (ENOSPC...), 0 if none.
  int error_number() const { return m_errno; }
  // fsyncs and closes.
  Result<StreamTotals> finish();
  const std::filesystem::path &path() const { return m_path; }

private:
  std::filesystem::path m_path;
  UniqueFd m_fd;
  Sha256 m_hash;
  uint64_t m_bytes = 0;
  std::string m_error;
  int m_errno = 0;
  GrowthSignal *m_growth = nullptr;
  bool m_finished = false;
};

// The input end: hashes every byte read, and the rest of the file on finish()
// (libarchive may stop before trailing padding).
class HashingFileInput {
public:
  // With `follow`, reading waits at the end of the file for the writer to
  // add more, until it announces the end.
  static Result<std::unique_ptr<HashingFileInput>> open(const std::filesystem::path &path,
                                                        GrowthSignal *follow = nullptr);
  ssize_t read(void *buf, size_t size);
  Result<void> check() const;
  Result<StreamTotals> finish();
  uint64_t bytes_read() const { return m_bytes; }
  uint64_t file_size() const { return m_size; }

private:
  std::filesystem::path m_path;
  UniqueFd m_fd;
  Sha256 m_hash;
  uint64_t m_bytes = 0;
  uint64_t m_size = 0;
  std::string m_error;
  GrowthSignal *m_follow = nullptr;
};

Result<void> set_write_codec(struct archive *a, const CodecOptions &options);
Result<void> open_write(struct archive *a, HashingFileOutput &out,
                        const std::filesystem::path &path);
Result<void> open_read(struct archive *a, HashingFileInput &in, const std::filesystem::path &path);
// An entry's name, or "?" when a damaged archive has none.
inline std::string entry_name(struct archive_entry *e) {
  const char *n = e ? archive_entry_pathname(e) : nullptr;
  return n ? n : "?";
}
// libarchive's last error message, never null.
inline std::string archive_message(struct archive *a,
                                   const char *fallback = "unknown libarchive error") {
  const char *m = archive_error_string(a);
  return m ? m : fallback;
}

// "unable to <verb> '<path>': <libarchive's message>"
std::string archive_failure(const std::string &verb, const std::filesystem::path &path,
                            struct archive *a);

// Called with each stored block of the current entry's data and its offset in the file.
using DataBlockFn = std::function<Result<void>(const void *data, size_t size, int64_t offset)>;

// Reads the current entry's data block by block. Holes of sparse files are
// not stored and not passed on; the result is the entry's content size as the
// file has it, holes included (what the writer counted), or 0 for a hard link,
// whose data is stored with the first name.
Result<uint64_t> read_entry_data(struct archive *a, struct archive_entry *entry,
                                 const std::filesystem::path &path, const DataBlockFn &block);

} // namespace gate::util

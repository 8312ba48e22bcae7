// Directory trees as pax tar archives (libarchive): owners, modes, mtimes,
// symlinks, hard links, xattrs and ACLs. Creation hashes and counts while it
// writes; reading counts entries and bytes while it hashes; extraction refuses
// entries that would land outside the destination.
#pragma once

#include "util/compressed_file.hpp"
#include "util/expected.hpp"
#include "util/growth.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace gate::util {

// Called with bytes done so far (file content bytes).
using ProgressFn = std::function<void(uint64_t done)>;

struct TarCreateOptions {
  CodecOptions codec;
  std::vector<std::string> exclude; // globs relative to the source root
  ProgressFn progress;
  GrowthSignal *growth = nullptr; // lets a reader follow the archive as it is written
};

struct TarStats {
  uint64_t entries = 0;             // every header written (the root "." included)
  uint64_t files = 0;               // regular files
  uint64_t content_bytes = 0;       // bytes of regular-file data
  uint64_t archive_bytes = 0;       // the archive's size on disk
  std::string sha256;               // of the archive file
  std::vector<std::string> changed; // "path: why" for files that vanished or changed while read
  std::vector<std::string> warnings;
};

// Archives the tree at `source` into a new file `out`. Entry names are
// relative to `source` ("." for the root itself).
Result<TarStats> tar_create(const std::filesystem::path &source, const std::filesystem::path &out,
                            const TarCreateOptions &options);

// Reads every entry and every byte of an archive, counting entries and file
// bytes, and hashes the archive file on the way.
// With `follow`, reads the archive while its writer is still adding to it.
Result<TarStats> tar_read(const std::filesystem::path &archive, const ProgressFn &progress,
                          GrowthSignal *follow = nullptr);

struct ExtractOptions {
  bool owners = true; // restore uid/gid (needs root)
  ProgressFn progress;
};

// Extracts `archive` into the existing empty directory `dest`. Entries with
// absolute paths or ".." components, and any write through a symlink, are
// refused: nothing is ever written outside `dest`.
Result<TarStats> tar_extract(const std::filesystem::path &archive,
                             const std::filesystem::path &dest, const ExtractOptions &options);

// True when `relative` (an entry name) matches one of the exclude globs;
// "dir/**" also matches "dir" itself.
bool excluded(const std::string &relative, const std::vector<std::string> &patterns);

} // namespace gate::util

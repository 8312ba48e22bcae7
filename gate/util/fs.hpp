// Small filesystem helpers with durable writes: everything gate reports as
// written has been fsynced, and files that must never be seen half-written are
// replaced atomically.
#pragma once

#include "util/expected.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace gate::util {

namespace fs = std::filesystem;

// strerror(errnum) as a std::string.
std::string errno_text(int errnum);

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
Result<void> write_all(int fd, const void *data, size_t size, const std::string &what);

// `p` as given when absolute, else `base / p` normalised: how a relative path
// in a configuration file resolves against that file's directory.
fs::path resolve_against(const fs::path &base, const std::string &p);

// Reads a whole (small) file.
Result<std::string> read_file(const fs::path &path);

// Replaces `path` with `content`: temp file beside it, fsync, rename, fsync of
// the directory. Readers see the old or the new content, never a mix.
// `fault`: a fault point (util/fault.hpp) between the written temporary file and its rename.
Result<void> write_file_atomic(const fs::path &path, std::string_view content, mode_t mode,
                               const char *fault = nullptr);

// Creates `path` (and missing parents) with `mode` for the leaf. Existing is fine.
Result<void> make_dirs(const fs::path &path, mode_t mode);

// fsyncs one file or directory.
Result<void> fsync_path(const fs::path &path);

// fsyncs every file and directory under `root`, then `root` itself.
Result<void> fsync_tree(const fs::path &root);

// Makes everything written on the filesystem holding `path` durable with one
// syncfs(2): for a tree of thousands of small files (a restored volume) one
// call instead of an fsync per file and directory.
Result<void> sync_filesystem(const fs::path &path);

// Removes `path` recursively; a missing path is fine.
Result<void> remove_tree(const fs::path &path);

// Bytes available to an unprivileged writer on the filesystem holding `path`.
Result<uint64_t> free_bytes(const fs::path &path);

// Sum of the sizes of regular files under `root` (not following symlinks).
Result<uint64_t> tree_bytes(const fs::path &root);

// This machine's host name (manifests, alerts, scratch-database owners).
std::string host_name();

// Proves `dir` (or, when it does not exist yet, the directory it would be
// created in) a directory this process can write to: a probe file is created
// and removed. Fails naming the path and the cause (not a directory,
// read-only filesystem, permission denied).
Result<void> probe_writable_dir(const fs::path &dir);

// True when `path` is a directory containing no entries.
bool is_empty_dir(const fs::path &path);

} // namespace gate::util

// Single compressed files (a pg_dump stream, a CSV export) written and read
// through libarchive's zstd/gzip filters, hashing and counting on the way so
// nothing is read twice. Memory stays flat whatever the size.
#pragma once

#include "util/expected.hpp"
#include "util/growth.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace gate::util {

enum class Codec { zstd, gzip, none };

// File name suffix for a codec: ".zst", ".gz", "".
const char *codec_suffix(Codec codec);

struct CodecOptions {
  Codec codec = Codec::zstd;
  int level = 0;   // 0: a fast default (zstd 1, gzip 6)
  int threads = 0; // zstd worker threads; 0: one per core
};

struct WrittenFile {
  uint64_t bytes = 0;     // bytes on disk
  uint64_t raw_bytes = 0; // bytes before compression
  std::string sha256;     // of the bytes on disk
};

// Streams data into a new compressed file (0600). Call finish() to flush and
// fsync; a writer destroyed unfinished removes its file.
class CompressedWriter {
public:
  // With `growth`, a reader may follow the file while it is written.
  static Result<std::unique_ptr<CompressedWriter>>
  create(const std::filesystem::path &path, CodecOptions options, GrowthSignal *growth = nullptr);
  ~CompressedWriter();
  Result<void> write(const void *data, size_t size);
  Result<WrittenFile> finish();

private:
  CompressedWriter() = default;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

struct ReadFile {
  uint64_t bytes = 0;     // bytes on disk
  uint64_t raw_bytes = 0; // bytes after decompression
  std::string sha256;     // of the bytes on disk
};

// Reads a whole compressed file (any codec libarchive detects), handing the
// decompressed bytes to `sink` (may be empty) and hashing the file itself.
// A sink returning an error stops the read.
// With `follow`, reads the file while its writer is still adding to it.
Result<ReadFile> read_compressed(const std::filesystem::path &path,
                                 const std::function<Result<void>(const char *, size_t)> &sink,
                                 GrowthSignal *follow = nullptr);

// The libarchive version string ("libarchive 3.6.2 zlib/1.2.13 ...").
std::string libarchive_version();

} // namespace gate::util

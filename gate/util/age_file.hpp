// age files on disk and on file descriptors: sources and sinks over fds, and
// whole-file encryption and decryption that hash both sides on the way (the
// manifest records ciphertext and plaintext sizes and SHA-256s).
#pragma once

#include "util/age_stream.hpp"

#include <filesystem>

namespace gate::util::age {

// Reads `fd` (not owned); errors name `name`.
Source fd_source(int fd, std::string name);
// Writes all bytes to `fd` (not owned); errors name `name`.
Sink fd_sink(int fd, std::string name);

struct AgeFileStats {
  uint64_t plaintext_bytes = 0;
  uint64_t ciphertext_bytes = 0;
  std::string plaintext_sha256;
  std::string ciphertext_sha256;
};

// Whether a new file is fsynced before it is renamed into place: `later` when
// the caller makes the whole tree durable itself (a set is fsynced at seal).
enum class Durability { now, later };

// Encrypts `input` into a new file `output` (0600): written beside it under a
// temporary name, fsynced (unless `later`), renamed into place. On failure
// nothing is left at `output` or beside it.
Result<AgeFileStats> encrypt_file(const std::filesystem::path &input,
                                  const std::filesystem::path &output, const Recipients &recipients,
                                  Durability durability = Durability::now);

// Decrypts `input` into a new file `output` (0600) the same way: `output`
// appears only once every chunk verified and the input ended where it should.
// With `failure`, reports which check failed.
Result<AgeFileStats> decrypt_file(const std::filesystem::path &input,
                                  const std::filesystem::path &output, const Identities &identities,
                                  AgeFailure *failure = nullptr);

// Decrypts `input`, handing each verified chunk to `sink` (a pipe to
// pg_restore, tar). On failure the sink has received only verified chunks
// (a prefix of the plaintext). With `failure`, reports which check failed.
Result<AgeFileStats> decrypt_file_to_sink(const std::filesystem::path &input, const Sink &sink,
                                          const Identities &identities,
                                          AgeFailure *failure = nullptr);

} // namespace gate::util::age

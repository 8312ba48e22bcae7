// Streaming age v1 encryption and decryption (C2SP age.md, STREAM payload in
// 64 KiB chunks) with flat memory: a few chunks whatever the file's size.
//
// The decryptor releases plaintext one verified chunk at a time, and the
// final chunk only once the end of the input is confirmed, so a consumer
// (pg_restore, tar) never sees a byte that failed authentication, and never
// sees the end of a truncated or extended file as a clean end.
#pragma once

#include "util/age_crypto.hpp"
#include "util/age_header.hpp"
#include "util/age_keys.hpp"
#include "util/expected.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gate::util::age {

constexpr size_t k_chunk_size = 64 * 1024;
constexpr size_t k_sealed_chunk_size = k_chunk_size + k_aead_tag_size;
constexpr size_t k_payload_nonce_size = 16;

// Encrypts a stream to a set of recipients, writing the age file to a sink as
// data is fed. Never writes post-quantum (hybrid) stanzas.
class AgeEncryptor {
public:
  // Writes the header and payload nonce to `sink` at once. Fails on invalid
  // recipients (none; a passphrase mixed with recipients), a sink error, or
  // when OpenSSL cannot supply randomness.
  static Result<std::unique_ptr<AgeEncryptor>> create(const Recipients &recipients, Sink sink);
  ~AgeEncryptor();

  // Encrypts and writes every full chunk but the last; holds back up to one
  // chunk, since only finish() knows which chunk is final.
  Result<void> write(const void *data, size_t size);
  // Writes the final chunk (empty only when nothing was written at all).
  Result<void> finish();

  uint64_t plaintext_bytes() const;
  uint64_t ciphertext_bytes() const;

private:
  AgeEncryptor() = default;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Which check a decryption failed, for callers (and tests) that must tell a
// wrong key from a damaged file without reading the message.
enum class AgeFailure {
  none,
  io,       // the source could not be read
  header,   // malformed header, or a stanza gate knows is malformed
  no_match, // no identity (or passphrase) opens the file
  hmac,     // the header MAC does not verify: tampered header
  payload,  // a chunk fails authentication, is truncated, or data trails it
};

// Reads an age file from a source and yields verified plaintext.
class AgeDecryptor {
public:
  // `name` (usually the file's path) starts every error message.
  AgeDecryptor(Source source, std::string name);
  ~AgeDecryptor();

  // Reads the header, unwraps the file key with `identities`, checks the
  // header MAC and reads the payload nonce.
  Result<void> open(const Identities &identities);

  // The next verified plaintext chunk; an empty view once the final chunk was
  // verified and the input proven to end there. The view stays valid until
  // the next call. Fails (releasing nothing of the bad chunk) on a chunk that
  // does not authenticate, a file cut short or ending without a final chunk,
  // an empty final chunk after others, and data after the final chunk.
  Result<std::string_view> next();

  // Reads every chunk into `sink`; returns the plaintext size.
  Result<uint64_t> read_all(const Sink &sink);

  AgeFailure failure() const;
  uint64_t ciphertext_bytes() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace gate::util::age

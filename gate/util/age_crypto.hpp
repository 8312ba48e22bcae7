// The primitives of the age format over OpenSSL 3 EVP: X25519, HKDF-SHA256,
// ChaCha20-Poly1305, scrypt, HMAC-SHA256 and the system's random bytes. Every
// function works on raw byte strings; none puts key material in a message.
#pragma once

#include "util/expected.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gate::util::age {

// Key material (file keys, X25519 secrets, wrap keys, passphrases): wiped when
// it is freed so that no copy outlives its use in freed heap memory.
class Secret {
public:
  Secret() = default;
  explicit Secret(std::string bytes) : m_bytes(std::move(bytes)) {}
  Secret(const Secret &other) : m_bytes(other.m_bytes) {}
  Secret(Secret &&other) noexcept;
  Secret &operator=(const Secret &other);
  Secret &operator=(Secret &&other) noexcept;
  ~Secret();

  const std::string &bytes() const { return m_bytes; }
  size_t size() const { return m_bytes.size(); }
  bool empty() const { return m_bytes.empty(); }

private:
  void wipe();
  std::string m_bytes;
};

constexpr size_t k_x25519_key_size = 32;
constexpr size_t k_file_key_size = 16;
constexpr size_t k_aead_tag_size = 16;

// Overwrites memory that held plaintext or keys (not optimised away).
void wipe_bytes(void *data, size_t size);

// `size` bytes from OpenSSL's CSPRNG; fails only if it cannot be seeded.
Result<Secret> random_bytes(size_t size);

// The X25519 public key (scalar multiple of the base point) of a 32-byte secret.
Result<std::string> x25519_public(const Secret &secret);

// X25519(secret, peer_public). Fails on a low-order peer point, whose shared
// secret is all zeros (the spec forbids it); the check is explicit as well.
Result<Secret> x25519_shared(const Secret &secret, std::string_view peer_public);

// HKDF-SHA256 (RFC 5869) with an optional (empty) salt.
Result<Secret> hkdf_sha256(const Secret &ikm, std::string_view salt, std::string_view info,
                           size_t length);

// scrypt(passphrase, salt, N = 2^log_n, r = 8, p = 1) → 32 bytes.
Result<Secret> scrypt_derive(const Secret &passphrase, std::string_view salt, int log_n);

// HMAC-SHA256 under `key`, raw 32 bytes.
std::string hmac_sha256(const Secret &key, std::string_view data);

// Constant-time equality of two byte strings of the same length.
bool equal_constant_time(std::string_view a, std::string_view b);

// ChaCha20-Poly1305 with a 32-byte key, reusing one EVP context for many
// messages (one STREAM chunk each). seal() appends the 16-byte tag; open()
// returns false when the tag does not verify (nothing is returned then).
class ChaChaPoly {
public:
  static Result<ChaChaPoly> create(const Secret &key);
  ChaChaPoly(ChaChaPoly &&) noexcept;
  ChaChaPoly &operator=(ChaChaPoly &&) noexcept;
  ~ChaChaPoly();

  // Encrypts `plain` (size bytes) with the 12-byte nonce into `out`
  // (size + 16 bytes).
  Result<void> seal(const unsigned char *nonce, const char *plain, size_t size, char *out);
  // Decrypts `sealed` (size >= 16 bytes) into `out` (size - 16 bytes).
  bool open(const unsigned char *nonce, const char *sealed, size_t size, char *out);

private:
  ChaChaPoly() = default;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// One-shot ChaCha20-Poly1305 with the all-zero nonce, as stanza bodies use.
Result<std::string> seal_zero_nonce(const Secret &key, std::string_view plain);
// nullopt when the tag does not verify (a wrong key or a tampered body).
Result<std::optional<Secret>> open_zero_nonce(const Secret &key, std::string_view sealed);

} // namespace gate::util::age

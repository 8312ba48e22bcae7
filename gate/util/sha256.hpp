// SHA-256 and HMAC-SHA256 over OpenSSL EVP, incremental so that data is hashed
// while it streams (no second read of a backup).
#pragma once

#include "util/expected.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace gate::util {

class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256 &&) noexcept;
  Sha256 &operator=(Sha256 &&) noexcept;

  void update(const void *data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lowercase hex digest; the object must not be updated afterwards.
  std::string hex_digest();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Hex SHA-256 of a whole file, read in chunks.
Result<std::string> sha256_file(const std::filesystem::path &path);

// Hex SHA-256 of a string.
std::string sha256_hex(std::string_view data);

// Hex HMAC-SHA256 of `data` under `key` (webhook signatures).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Raw (32-byte, binary) HMAC-SHA256 of `data` under `key`, for key chains such
// as AWS Signature V4's signing key.
std::string hmac_sha256_raw(std::string_view key, std::string_view data);

// Lowercase hex of arbitrary bytes.
std::string hex_encode(std::string_view bytes);

} // namespace gate::util

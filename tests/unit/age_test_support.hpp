// Helpers shared by the age unit tests: test data, in-memory sources,
// encrypting and decrypting strings, fresh key pairs.
#pragma once

#include "util/age_file.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>

namespace gate::test_age {

using namespace gate::util;
using namespace gate::util::age;

// The spec's example: secret 32×0x42.
inline constexpr const char *k_spec_identity =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
inline constexpr const char *k_spec_recipient =
    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

inline std::string test_bytes(size_t size, unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::string out(size, '\0');
  for (auto &c : out)
    c = static_cast<char>(gen());
  return out;
}

inline Source memory_source(const std::string &data) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, pos](char *d, size_t n) -> Result<size_t> {
    size_t k = std::min(n, data.size() - *pos);
    std::memcpy(d, data.data() + *pos, k);
    *pos += k;
    return k;
  };
}

inline std::string encrypt(const std::string &plain, const Recipients &to, size_t piece = 10000) {
  std::string out;
  auto enc = AgeEncryptor::create(to, [&](const char *d, size_t n) -> Result<void> {
    out.append(d, n);
    return {};
  });
  EXPECT_TRUE(enc) << enc.error().message;
  for (size_t i = 0; i < plain.size(); i += piece)
    EXPECT_TRUE((*enc)->write(plain.data() + i, std::min(piece, plain.size() - i)));
  EXPECT_TRUE((*enc)->finish());
  EXPECT_EQ((*enc)->ciphertext_bytes(), out.size());
  EXPECT_EQ((*enc)->plaintext_bytes(), plain.size());
  return out;
}

struct Decrypted {
  AgeFailure failure = AgeFailure::none;
  std::string released;
  std::string message;
};

inline Decrypted decrypt(const std::string &file, const Identities &ids) {
  AgeDecryptor dec(memory_source(file), "test.age");
  Decrypted out;
  if (auto r = dec.open(ids); !r) {
    out.message = r.error().message;
  } else if (auto all = dec.read_all([&](const char *d, size_t n) -> Result<void> {
               out.released.append(d, n);
               return {};
             });
             !all) {
    out.message = all.error().message;
  }
  out.failure = dec.failure();
  return out;
}

struct KeyPair {
  X25519Identity identity;
  Recipients to;
  Identities from;
};

inline KeyPair make_keys() {
  auto id = X25519Identity::generate();
  EXPECT_TRUE(id);
  KeyPair k{*id, {}, {}};
  k.to.x25519.push_back(id->recipient());
  k.from.x25519.push_back(*id);
  return k;
}

inline size_t header_size(const std::string &file) {
  return file.find("\n--- ") + 1 + 4 + 43 + 1;
}

} // namespace gate::test_age

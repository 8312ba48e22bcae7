// util/age_stream and util/age_file: round trips at the chunk boundaries,
// tampering of every kind, and the promise that only verified plaintext is
// released.
#include "unit/age_test_support.hpp"
#include "util/age_encoding.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace gate::test_age;
namespace fs = std::filesystem;

TEST(AgeStream, RoundTripsAtEveryChunkBoundary) {
  auto k = make_keys();
  for (size_t size : {size_t{0}, size_t{1}, k_chunk_size - 1, k_chunk_size, k_chunk_size + 1,
                      2 * k_chunk_size, size_t{3 * 1024 * 1024 + 17}}) {
    SCOPED_TRACE(size);
    std::string plain = test_bytes(size, static_cast<unsigned>(size));
    std::string file = encrypt(plain, k.to);
    // One sealed chunk per started 64 KiB, and exactly one for empty input:
    // a full final chunk carries the final flag, no empty chunk follows it.
    size_t chunks = size == 0 ? 1 : (size + k_chunk_size - 1) / k_chunk_size;
    EXPECT_EQ(file.size(), header_size(file) + k_payload_nonce_size + size + chunks * 16);
    auto out = decrypt(file, k.from);
    EXPECT_EQ(out.failure, AgeFailure::none) << out.message;
    EXPECT_EQ(out.released, plain);
  }
}

TEST(AgeStream, WritesTheCanonicalHeaderWithoutPostQuantumStanzas) {
  auto k = make_keys();
  auto second = make_keys();
  k.to.x25519.push_back(second.to.x25519[0]);
  std::string file = encrypt("hello", k.to);
  std::string header = file.substr(0, header_size(file));
  EXPECT_EQ(header.rfind("age-encryption.org/v1\n-> X25519 ", 0), 0u);
  size_t stanzas = 0;
  for (size_t p = header.find("\n-> "); p != std::string::npos; p = header.find("\n-> ", p + 1))
    ++stanzas;
  EXPECT_EQ(stanzas, 2u);
  EXPECT_EQ(header.find("mlkem"), std::string::npos);
  // Each recipient opens it alone.
  EXPECT_EQ(decrypt(file, second.from).released, "hello");
}

TEST(AgeStream, ScryptRoundTripAndWorkFactorLimit) {
  Recipients to;
  to.passphrase = Secret("correct horse");
  to.scrypt_log_n = 10;
  std::string plain = test_bytes(70000);
  std::string file = encrypt(plain, to);
  EXPECT_NE(file.find("\n-> scrypt "), std::string::npos);
  EXPECT_NE(file.find(" 10\n"), std::string::npos);
  Identities right;
  right.passphrase = Secret("correct horse");
  EXPECT_EQ(decrypt(file, right).released, plain);

  Identities wrong;
  wrong.passphrase = Secret("battery staple");
  auto w = decrypt(file, wrong);
  EXPECT_EQ(w.failure, AgeFailure::no_match);
  EXPECT_EQ(w.message.find("battery"), std::string::npos);
  EXPECT_TRUE(w.released.empty());

  auto k = make_keys();
  auto x = decrypt(file, k.from);
  EXPECT_EQ(x.failure, AgeFailure::no_match);
  EXPECT_NE(x.message.find("passphrase-encrypted"), std::string::npos) << x.message;

  right.scrypt_max_log_n = 9;
  auto limited = decrypt(file, right);
  EXPECT_EQ(limited.failure, AgeFailure::header);
  EXPECT_NE(limited.message.find("over the limit of 9"), std::string::npos) << limited.message;
}

TEST(AgeStream, WrongIdentityIsNoMatch) {
  auto k = make_keys();
  auto other = make_keys();
  auto out = decrypt(encrypt("secret rows", k.to), other.from);
  EXPECT_EQ(out.failure, AgeFailure::no_match);
  EXPECT_EQ(out.message, "unable to decrypt 'test.age': no identity matches any of the file's "
                         "recipients");
}

TEST(AgeStream, TamperedHeaderFailsTheMac) {
  auto k = make_keys();
  auto second = make_keys();
  Recipients to = k.to;
  to.x25519.push_back(second.to.x25519[0]);
  std::string file = encrypt("data", to);
  // Drop the second recipient's stanza: the first still unwraps the file key,
  // but the MAC covers the whole header.
  size_t second_stanza = file.find("\n-> X25519 ", file.find("-> X25519 ") + 1) + 1;
  size_t mac = file.find("\n--- ") + 1;
  std::string tampered = file.substr(0, second_stanza) + file.substr(mac);
  auto out = decrypt(tampered, k.from);
  EXPECT_EQ(out.failure, AgeFailure::hmac) << out.message;
  EXPECT_TRUE(out.released.empty());
}

TEST(AgeStream, OnlyVerifiedChunksAreReleased) {
  auto k = make_keys();
  std::string plain = test_bytes(3 * k_chunk_size + 100);
  std::string file = encrypt(plain, k.to);
  size_t payload = header_size(file) + k_payload_nonce_size;
  // A bit flipped in chunk 1: chunk 0 is released, nothing of chunk 1 or later.
  std::string flipped = file;
  flipped[payload + k_sealed_chunk_size + 5] ^= 0x01;
  auto out = decrypt(flipped, k.from);
  EXPECT_EQ(out.failure, AgeFailure::payload);
  EXPECT_EQ(out.released, plain.substr(0, k_chunk_size));
  EXPECT_NE(out.message.find("chunk 1 (offset 65536 of the plaintext) fails authentication"),
            std::string::npos)
      << out.message;
}

TEST(AgeStream, TruncationAnywhereIsRefused) {
  auto k = make_keys();
  std::string plain = test_bytes(2 * k_chunk_size);
  std::string file = encrypt(plain, k.to);
  size_t payload = header_size(file) + k_payload_nonce_size;
  struct Cut {
    size_t at;
    AgeFailure failure;
    size_t released;
  };
  for (Cut cut : {Cut{10, AgeFailure::header, 0}, Cut{payload - 5, AgeFailure::header, 0},
                  Cut{payload, AgeFailure::payload, 0}, Cut{payload + 10, AgeFailure::payload, 0},
                  Cut{payload + k_sealed_chunk_size, AgeFailure::payload, 0},
                  Cut{payload + k_sealed_chunk_size + 1, AgeFailure::payload, k_chunk_size},
                  Cut{file.size() - 1, AgeFailure::payload, k_chunk_size}}) {
    SCOPED_TRACE(cut.at);
    auto out = decrypt(file.substr(0, cut.at), k.from);
    EXPECT_EQ(out.failure, cut.failure) << out.message;
    EXPECT_EQ(out.released.size(), cut.released);
  }
  auto exact = decrypt(file.substr(0, payload + k_sealed_chunk_size), k.from);
  EXPECT_NE(exact.message.find("without a final chunk: it is truncated"), std::string::npos)
      << exact.message;
}

TEST(AgeStream, TrailingDataIsRefusedAndTheFinalChunkWithheld) {
  auto k = make_keys();
  for (size_t size : {size_t{100}, k_chunk_size}) {
    SCOPED_TRACE(size);
    std::string file = encrypt(test_bytes(size), k.to);
    for (std::string extra : {std::string("x"), std::string(5000, 'y')}) {
      auto out = decrypt(file + extra, k.from);
      EXPECT_EQ(out.failure, AgeFailure::payload) << out.message;
      EXPECT_TRUE(out.released.empty());
    }
  }
  auto full = decrypt(encrypt(test_bytes(k_chunk_size), k.to) + "x", k.from);
  EXPECT_NE(full.message.find("data follows the final chunk 0"), std::string::npos) << full.message;
}

TEST(AgeStream, OverlongHeaderLinesAreRefused) {
  std::string file = "age-encryption.org/v1\n-> grease " + std::string(5000, 'a') + "\n\n--- x\n";
  auto out = decrypt(file, make_keys().from);
  EXPECT_EQ(out.failure, AgeFailure::header);
  EXPECT_NE(out.message.find("longer than the limit"), std::string::npos) << out.message;
  auto not_age = decrypt("PGDMP\x01\x02", make_keys().from);
  EXPECT_EQ(not_age.failure, AgeFailure::header);
  EXPECT_NE(not_age.message.find("not an age file"), std::string::npos) << not_age.message;
}

TEST(AgeFile, EncryptAndDecryptFilesWithHashesAndNoLeftoversOnFailure) {
  fs::path dir = fs::temp_directory_path() / ("gate-unit-age-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string plain = test_bytes(200000);
  std::ofstream(dir / "in.bin", std::ios::binary) << plain;
  auto k = make_keys();
  auto enc = encrypt_file(dir / "in.bin", dir / "in.bin.age", k.to);
  ASSERT_TRUE(enc) << enc.error().message;
  EXPECT_EQ(enc->plaintext_bytes, plain.size());
  EXPECT_EQ(enc->plaintext_sha256, sha256_hex(plain));
  EXPECT_EQ(enc->ciphertext_bytes, fs::file_size(dir / "in.bin.age"));
  EXPECT_EQ(enc->ciphertext_sha256, *sha256_file(dir / "in.bin.age"));
  EXPECT_EQ(fs::status(dir / "in.bin.age").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  auto dec = decrypt_file(dir / "in.bin.age", dir / "out.bin", k.from);
  ASSERT_TRUE(dec) << dec.error().message;
  EXPECT_EQ(dec->plaintext_sha256, enc->plaintext_sha256);
  EXPECT_EQ(dec->ciphertext_sha256, enc->ciphertext_sha256);
  EXPECT_EQ(*sha256_file(dir / "out.bin"), sha256_hex(plain));

  fs::resize_file(dir / "in.bin.age", enc->ciphertext_bytes - 1);
  AgeFailure why = AgeFailure::none;
  auto cut = decrypt_file_to_sink(
      dir / "in.bin.age", [](const char *, size_t) -> Result<void> { return {}; }, k.from, &why);
  EXPECT_EQ(why, AgeFailure::payload);
  auto bad = decrypt_file(dir / "in.bin.age", dir / "cut.bin", k.from);
  ASSERT_FALSE(bad);
  EXPECT_EQ(
      bad.error().message.rfind("unable to decrypt '" + (dir / "in.bin.age").string() + "'", 0),
      0u);
  size_t entries = 0;
  for ([[maybe_unused]] auto &e : fs::directory_iterator(dir))
    ++entries;
  EXPECT_EQ(entries, 3u); // in.bin, in.bin.age, out.bin: no cut.bin, no temporary
  fs::remove_all(dir);
}

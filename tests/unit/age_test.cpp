// util/age_*: keys and their files, round trips at the chunk boundaries,
// tampering of every kind, and the promise that only verified plaintext is
// released. The CCTV vectors are in age_vectors_test.cpp; interop with the
// real age CLI in tests/integration/age_test.cpp.
#include "util/age_encoding.hpp"
#include "util/age_file.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

using namespace gate::util;
using namespace gate::util::age;
namespace fs = std::filesystem;

namespace {

// The spec's example: secret 32×0x42.
constexpr const char *k_spec_identity =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
constexpr const char *k_spec_recipient =
    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

std::string test_bytes(size_t size, unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::string out(size, '\0');
  for (auto &c : out)
    c = static_cast<char>(gen());
  return out;
}

Source memory_source(const std::string &data) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, pos](char *d, size_t n) -> Result<size_t> {
    size_t k = std::min(n, data.size() - *pos);
    std::memcpy(d, data.data() + *pos, k);
    *pos += k;
    return k;
  };
}

std::string encrypt(const std::string &plain, const Recipients &to, size_t piece = 10000) {
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

Decrypted decrypt(const std::string &file, const Identities &ids) {
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

KeyPair make_keys() {
  auto id = X25519Identity::generate();
  EXPECT_TRUE(id);
  KeyPair k{*id, {}, {}};
  k.to.x25519.push_back(id->recipient());
  k.from.x25519.push_back(*id);
  return k;
}

size_t header_size(const std::string &file) {
  return file.find("\n--- ") + 1 + 4 + 43 + 1;
}

} // namespace

TEST(AgeKeys, SpecExampleKeyPairRoundTripsThroughBech32) {
  auto id = parse_identity(k_spec_identity);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->secret.bytes(), std::string(32, '\x42'));
  EXPECT_EQ(id->recipient().encode(), k_spec_recipient);
  EXPECT_EQ(id->encode().bytes(), k_spec_identity);
  auto r = parse_recipient(k_spec_recipient);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->public_key, id->public_key);
}

TEST(AgeKeys, Bech32FollowsBip173) {
  EXPECT_TRUE(bech32_decode("A12UEL5L", nullptr));
  EXPECT_TRUE(bech32_decode("a12uel5l", nullptr));
  EXPECT_TRUE(bech32_decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", nullptr));
  std::string why;
  EXPECT_FALSE(bech32_decode("A12uEL5L", &why));
  EXPECT_EQ(why, "mixed upper and lower case");
  EXPECT_FALSE(bech32_decode("a12uel5m", &why));
  EXPECT_EQ(why, "bad checksum");
  EXPECT_FALSE(bech32_decode("10a06t8", &why)); // empty human-readable part
  EXPECT_FALSE(bech32_decode("pzry9x0s0muk", &why));
  // 8 data characters = 40 bits = 5 bytes; 3 characters leave 7 bits: invalid.
  auto enc = bech32_encode("age", "\x01\x02\x03\x04\x05");
  EXPECT_EQ(bech32_decode(enc, nullptr)->data, "\x01\x02\x03\x04\x05");
}

TEST(AgeKeys, MalformedRecipientsAreRefusedClearly) {
  std::string bad_checksum = std::string(k_spec_recipient);
  bad_checksum.back() = bad_checksum.back() == 'j' ? 'k' : 'j';
  auto r = parse_recipient(bad_checksum);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::config);
  EXPECT_NE(r.error().message.find("bad checksum"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(bad_checksum), std::string::npos);

  std::string upper = k_spec_recipient;
  for (auto &c : upper)
    c = static_cast<char>(std::toupper(c));
  EXPECT_FALSE(parse_recipient(upper));
  EXPECT_FALSE(parse_recipient("age1qqqqqqqqqqqq"));
  auto other_prefix = bech32_encode("agf", std::string(32, '\x42'));
  EXPECT_NE(parse_recipient(other_prefix).error().message.find("must start with 'age1'"),
            std::string::npos);
  auto short_key = bech32_encode("age", std::string(31, '\x42'));
  EXPECT_NE(parse_recipient(short_key).error().message.find("32-byte"), std::string::npos);
  auto secret = parse_recipient(k_spec_identity);
  ASSERT_FALSE(secret);
  EXPECT_EQ(secret.error().message.find(k_spec_identity), std::string::npos);
}

TEST(AgeKeys, RecipientsFileSkipsCommentsAndNamesTheBadLine) {
  auto ok = parse_recipients_text(std::string("# team keys\n\n") + k_spec_recipient +
                                      "\n  # indented comment\n" + k_spec_recipient + "\r\n",
                                  "keys.txt");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->size(), 2u);

  auto bad = parse_recipients_text(std::string("# team\n") + k_spec_recipient + "\nage1nope\n",
                                   "keys.txt");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("keys.txt:3: malformed age recipient 'age1nope'", 0), 0u)
      << bad.error().message;

  auto secret = parse_recipients_text(std::string(k_spec_identity) + "\n", "keys.txt");
  ASSERT_FALSE(secret);
  EXPECT_EQ(secret.error().message.rfind("keys.txt:1: a secret key", 0), 0u);
  EXPECT_EQ(secret.error().message.find("GFPYYSJZ"), std::string::npos);

  auto empty = parse_recipients_text("# nothing\n\n", "keys.txt");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "keys.txt: no age1... recipient in the file");
  auto missing = read_recipients_file("/nonexistent/keys.txt");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("'/nonexistent/keys.txt'"), std::string::npos);
}

TEST(AgeKeys, IdentityFileInAgeKeygenFormatAndErrorsWithoutTheSecret) {
  auto id = parse_identity(k_spec_identity);
  ASSERT_TRUE(id);
  Secret text = identity_file_text(*id, "2026-12-01T13:00:00Z");
  EXPECT_NE(text.bytes().find(std::string("# public key: ") + k_spec_recipient + "\n"),
            std::string::npos);
  auto parsed = parse_identity_text(text.bytes(), "key.txt");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].public_key, id->public_key);

  std::string damaged = k_spec_identity;
  damaged[20] = damaged[20] == 'Q' ? 'P' : 'Q';
  auto bad = parse_identity_text("# created: x\n\n" + damaged + "\n", "key.txt");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("key.txt:3: malformed age identity", 0), 0u)
      << bad.error().message;
  EXPECT_EQ(bad.error().message.find(damaged.substr(16, 20)), std::string::npos);

  auto lower = parse_identity_text(std::string(k_spec_identity).replace(0, 16, "age-secret-key-1"),
                                   "key.txt");
  ASSERT_FALSE(lower);
  EXPECT_EQ(lower.error().message.find("GFPYYSJZ"), std::string::npos);
  EXPECT_EQ(lower.error().message.find("gfpyysjz"), std::string::npos);
  EXPECT_NE(parse_identity_text(std::string(k_spec_recipient), "key.txt")
                .error()
                .message.find("key.txt:1: a public key"),
            std::string::npos);
  EXPECT_NE(parse_identity_text("# only comments\n", "key.txt").error().message.find("no age "),
            std::string::npos);
}

TEST(AgeKeys, PassphraseMustBeAlone) {
  auto k = make_keys();
  Recipients both = k.to;
  both.passphrase = Secret("pw");
  auto r = AgeEncryptor::create(both, [](const char *, size_t) -> Result<void> { return {}; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::config);
  EXPECT_NE(r.error().message.find("cannot be combined"), std::string::npos);
  EXPECT_FALSE(AgeEncryptor::create({}, [](const char *, size_t) -> Result<void> { return {}; }));
}

TEST(AgeBase64, OnlyCanonicalUnpaddedBase64IsAccepted) {
  EXPECT_EQ(base64_encode_raw("age"), "YWdl");
  EXPECT_EQ(base64_encode_raw("ag"), "YWc");
  EXPECT_EQ(*base64_decode_strict("YWc"), "ag");
  EXPECT_FALSE(base64_decode_strict("YWc="));   // padding
  EXPECT_FALSE(base64_decode_strict("YWd"));    // non-zero trailing bits
  EXPECT_FALSE(base64_decode_strict("YWdl\n")); // LF
  EXPECT_FALSE(base64_decode_strict("Y"));      // impossible length
  EXPECT_FALSE(base64_decode_strict("YW-l"));   // URL alphabet
}

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

// util/age_keys and util/age_encoding: keys, their files and their text
// encodings. Streams are in age_stream_test.cpp, the CCTV vectors in
// age_vectors_test.cpp, interop with the real age CLI in
// tests/integration/age_test.cpp.
#include "unit/age_test_support.hpp"
#include "util/age_encoding.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace gate::test_age;
namespace fs = std::filesystem;

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

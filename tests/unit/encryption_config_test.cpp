// config/encryption: the `encryption:` section of pipeline.yml, its errors
// with line:col, recipients files and the deferred passphrase.
#include "config/pipeline.hpp"
#include "util/redact.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <unistd.h>

using gate::config::parse_pipeline;
using ::testing::HasSubstr;

namespace {

constexpr const char *k_recipient =
    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
constexpr const char *k_identity =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";

std::string pipeline(const std::string &encryption) {
  return "version: 1\nvolumes:\n  - {name: data, path: /srv/data}\nencryption:\n" + encryption;
}

std::string encryption_error_of(const std::string &yaml, const std::string &file = "pipeline.yml") {
  auto r = parse_pipeline(yaml, file);
  EXPECT_FALSE(r.has_value());
  if (r) return {};
  EXPECT_EQ(r.error().kind, gate::util::ErrorKind::config);
  return r.error().message;
}

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("gate-unit-enc-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string &name, const std::string &text) const {
    std::ofstream(path / name) << text;
  }
};

} // namespace

TEST(EncryptionConfig, RecipientsAndDefaults) {
  auto r = parse_pipeline(pipeline(std::string("  recipients: [") + k_recipient + "]\n"),
                          "/etc/app/pipeline.yml");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->encryption);
  EXPECT_EQ(r->encryption->recipients.at(0).encode(), k_recipient);
  EXPECT_FALSE(r->encryption->local);
  EXPECT_TRUE(r->encryption->identity_file.empty());
  auto to = gate::config::encryption_recipients(*r->encryption);
  ASSERT_TRUE(to) << to.error().message;
  EXPECT_EQ(to->x25519.size(), 1u);
  EXPECT_FALSE(to->passphrase);
  EXPECT_FALSE(
      parse_pipeline(pipeline("  local: true\n  recipients: [" + std::string(k_recipient) + "]\n"),
                     "p.yml")
          ->encryption->recipients.empty());
  auto none = parse_pipeline("version: 1\nvolumes:\n  - {name: data, path: /srv/data}\n", "p.yml");
  EXPECT_FALSE(none->encryption);
}

TEST(EncryptionConfig, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(encryption_error_of(pipeline("  recipient: [x]\n")),
            "pipeline.yml:5:3: unknown key 'recipient' in encryption (did you mean 'recipients'?)");
  std::string bad = k_recipient;
  bad.back() = 'q';
  EXPECT_THAT(encryption_error_of(pipeline(std::string("  recipients:\n    - ") + k_recipient +
                                           "\n    - " + bad + "\n")),
              HasSubstr("pipeline.yml:7:7: malformed age recipient '" + bad + "': bad checksum"));
  EXPECT_EQ(encryption_error_of(pipeline("  local: true\n")),
            "pipeline.yml:5:3: encryption needs recipients, a recipients_file or a passphrase");
  EXPECT_THAT(encryption_error_of(pipeline("  local: maybe\n  passphrase: ${GATE_TEST_PW}\n")),
              HasSubstr("pipeline.yml:5:10:"));
  auto secret = encryption_error_of(pipeline(std::string("  recipients: [") + k_identity + "]\n"));
  EXPECT_THAT(secret, HasSubstr("pipeline.yml:5:16: a secret key"));
  EXPECT_THAT(secret, ::testing::Not(HasSubstr("GFPYYSJZ")));
}

TEST(EncryptionConfig, PassphraseIsAloneFromTheEnvironmentAndDeferred) {
  EXPECT_EQ(encryption_error_of(pipeline(std::string("  recipients: [") + k_recipient +
                                         "]\n  passphrase: ${GATE_TEST_PW}\n")),
            "pipeline.yml:6:15: a passphrase cannot be combined with recipients: age allows a "
            "passphrase (scrypt) only on its own");
  EXPECT_EQ(
      encryption_error_of(pipeline("  passphrase: hunter2\n")),
      "pipeline.yml:5:15: the passphrase must come from the environment (passphrase: ${VAR})");

  ::unsetenv("GATE_TEST_UNSET_PW");
  auto unset = parse_pipeline(pipeline("  passphrase: ${GATE_TEST_UNSET_PW}\n"), "pipeline.yml");
  ASSERT_TRUE(unset) << unset.error().message; // only using it needs the variable
  auto to = gate::config::encryption_recipients(*unset->encryption);
  ASSERT_FALSE(to);
  EXPECT_THAT(to.error().message, HasSubstr("pipeline.yml:5:15:"));
  EXPECT_THAT(to.error().message, HasSubstr("GATE_TEST_UNSET_PW"));

  ::setenv("GATE_TEST_PW", "pw-for-the-config-test", 1);
  auto set = parse_pipeline(pipeline("  passphrase: ${GATE_TEST_PW}\n"), "pipeline.yml");
  ASSERT_TRUE(set) << set.error().message;
  auto r = gate::config::encryption_recipients(*set->encryption);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->passphrase->bytes(), "pw-for-the-config-test");
  EXPECT_EQ(gate::util::redact("x pw-for-the-config-test y"), "x *** y");
  auto ids = gate::config::encryption_identities(*set->encryption);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_TRUE(ids->passphrase);
  ::unsetenv("GATE_TEST_PW");
}

TEST(EncryptionConfig, RecipientsFileAndIdentityFile) {
  TempDir dir;
  dir.write("keys.txt", std::string("# on-call\n\n") + k_recipient + "\n");
  dir.write("bad.txt", std::string("# on-call\n") + k_recipient + "\nage1bogus\n");
  dir.write("key.txt", std::string("# public key: ") + k_recipient + "\n" + k_identity + "\n");
  std::string file = (dir.path / "pipeline.yml").string();
  auto r =
      parse_pipeline(pipeline("  recipients_file: keys.txt\n  identity_file: key.txt\n"), file);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->encryption->recipients_file, dir.path / "keys.txt");
  EXPECT_EQ(r->encryption->recipients.size(), 1u);
  auto ids = gate::config::encryption_identities(*r->encryption);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(ids->x25519.at(0).recipient().encode(), k_recipient);

  EXPECT_EQ(encryption_error_of(pipeline("  recipients_file: bad.txt\n"), file),
            file + ":5:20: " + (dir.path / "bad.txt").string() +
                ":3: malformed age recipient 'age1bogus': too short for a checksum");
  EXPECT_THAT(encryption_error_of(pipeline("  recipients_file: missing.txt\n"), file),
              HasSubstr(file + ":5:20: unable to read '" + (dir.path / "missing.txt").string()));

  auto no_identity = parse_pipeline(pipeline("  recipients_file: keys.txt\n"), file);
  auto missing = gate::config::encryption_identities(*no_identity->encryption);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("pass --identity FILE"));
  auto wrong = gate::config::encryption_identities(*no_identity->encryption, dir.path / "keys.txt");
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().message, HasSubstr("keys.txt:3: a public key"));
}

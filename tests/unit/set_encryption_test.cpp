// Encrypting a set's artifacts (model/set_encryption), the manifest fields it
// records, the plaintext view readers get, and the plain `age -d` commands.
#include "model/manifest.hpp"
#include "model/restore_doc.hpp"
#include "model/set_encryption.hpp"
#include "util/age_file.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

using namespace gate;
namespace fs = std::filesystem;
namespace age = util::age;

namespace {

struct EncryptionRoot {
  fs::path path = fs::temp_directory_path() / ("gate-unit-enc-" + std::to_string(::getpid()));
  EncryptionRoot() { fs::create_directories(path / "databases"); }
  ~EncryptionRoot() { fs::remove_all(path); }
};

model::Artifact dump_artifact(const fs::path &dir, const std::string &content) {
  std::ofstream(dir / "databases/app.dump.zst") << content;
  model::Artifact a;
  a.target = "app";
  a.kind = "database";
  a.format = "custom";
  a.path = "databases/app.dump.zst";
  a.files.push_back({a.path, content.size(), util::sha256_hex(content)});
  a.details["restore"] = {"zstd -dc '{set}/databases/app.dump.zst' | pg_restore --dbname=X",
                          "pg_restore -l '{set}/databases/app.dump.zst'"};
  return a;
}

age::X25519Identity identity() {
  return *age::X25519Identity::from_secret(age::Secret(std::string(32, '\x42')));
}

} // namespace

TEST(SetEncryption, AnArtifactIsReplacedByCiphertextThatDecryptsToTheVerifiedPlaintext) {
  EncryptionRoot root;
  auto a = dump_artifact(root.path, std::string(200000, 'x'));
  age::Recipients to;
  to.x25519.push_back(identity().recipient());
  auto sealed = model::encrypt_artifact(a, root.path, root.path, to, true);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_FALSE(fs::exists(root.path / "databases/app.dump.zst"));
  const auto &f = sealed->files.front();
  EXPECT_EQ(f.path, "databases/app.dump.zst.age");
  EXPECT_EQ(f.bytes, fs::file_size(root.path / f.path));
  EXPECT_EQ(f.sha256, *util::sha256_file(root.path / f.path));
  ASSERT_TRUE(f.plaintext);
  EXPECT_EQ(f.plaintext->sha256, a.files.front().sha256);
  EXPECT_EQ(sealed->encryption["recipients"][0], identity().recipient().encode());
  // The manifest keeps it all; the plaintext view is what was written.
  model::Manifest m;
  m.id = "s";
  m.created_at = "2026-12-01T00:00:00Z";
  m.artifacts.push_back(*sealed);
  auto back = model::manifest_from_json(model::to_json(m));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->artifacts[0].files[0].plaintext->bytes, 200000u);
  EXPECT_EQ(back->encrypted_to(), std::vector<std::string>{identity().recipient().encode()});
  auto plain = model::plaintext_view(back->artifacts[0]);
  EXPECT_EQ(plain.files[0].path, "databases/app.dump.zst");
  EXPECT_EQ(plain.files[0].sha256, a.files[0].sha256);
  EXPECT_FALSE(plain.encrypted());
  age::Identities ids;
  ids.x25519.push_back(identity());
  auto out = age::decrypt_file(root.path / f.path, root.path / "plain", ids);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->plaintext_sha256, a.files[0].sha256);
}

TEST(SetEncryption, AFileChangedSinceItWasVerifiedIsNotEncryptedAndLeavesNothing) {
  EncryptionRoot root;
  auto a = dump_artifact(root.path, "verified");
  std::ofstream(root.path / "databases/app.dump.zst") << "changed!";
  age::Recipients to;
  to.x25519.push_back(identity().recipient());
  auto sealed = model::encrypt_artifact(a, root.path, root.path, to, true);
  ASSERT_FALSE(sealed);
  EXPECT_NE(sealed.error().message.find("changed after it was verified"), std::string::npos);
  EXPECT_FALSE(fs::exists(root.path / "databases/app.dump.zst.age"));
  EXPECT_TRUE(fs::exists(root.path / "databases/app.dump.zst"));
}

TEST(SetEncryption, APassphraseIsRecordedAsScryptNeverItself) {
  age::Recipients to;
  to.passphrase = age::Secret(std::string("hunter2-passphrase"));
  auto j = model::encryption_description(to);
  EXPECT_EQ(j.dump(), R"({"format":"age-v1","passphrase":"scrypt"})");
}

TEST(SetEncryption, PlainCommandsReadThroughAgeDecrypt) {
  EncryptionRoot root;
  auto a = dump_artifact(root.path, "x");
  a.files[0] = {"databases/app.dump.zst.age", 40, "c", model::StoredFile::Plaintext{1, "p"}};
  a.encryption = {{"format", "age-v1"}, {"recipients", {"age1abc"}}};
  auto lines = model::plain_restore_commands(a, "/b/s");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "# encrypted to age1abc: key.txt is the identity file (age-keygen's)");
  EXPECT_EQ(lines[1], "age -d -i key.txt '/b/s/databases/app.dump.zst.age' | zstd -dc | "
                      "pg_restore --dbname=X");
  EXPECT_EQ(lines[2],
            "age -d -i key.txt '/b/s/databases/app.dump.zst.age' | pg_restore -l /dev/stdin");
}

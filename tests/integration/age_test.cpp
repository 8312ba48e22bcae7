// gate's age format against the real age CLI (Debian's age 1.1.1): every file
// gate encrypts decrypts with `age -d -i` to the same bytes, and gate decrypts
// what `age -r`, `age -R` and `age -p` wrote; key files pass both ways.
#include "integration/harness.hpp"
#include "util/age_file.hpp"
#include "util/sha256.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gate::test;
using namespace gate::util;
using namespace gate::util::age;
using ::testing::HasSubstr;

namespace {

// Sizes around the 64 KiB chunk boundaries, and several MiB.
const size_t k_sizes[] = {0, 1, 65535, 65536, 65537, 5 * 1024 * 1024 + 3};

struct AgeKey {
  fs::path file;
  std::string recipient;
};

AgeKey keygen(const TempDir &dir, const std::string &name) {
  fs::path file = dir / name;
  auto gen = run({"age-keygen", "-o", file.string()});
  EXPECT_EQ(gen.exit_code, 0) << "age-keygen (Debian package 'age') is needed: " << gen.all();
  auto pub = run({"age-keygen", "-y", file.string()});
  EXPECT_EQ(pub.exit_code, 0) << pub.all();
  std::string recipient = pub.out.substr(0, pub.out.find('\n'));
  return {file, recipient};
}

fs::path random_file(const TempDir &dir, size_t size) {
  fs::path path = dir / ("plain-" + std::to_string(size));
  EXPECT_EQ(sh("head -c " + std::to_string(size) + " /dev/urandom > " + path.string()).exit_code,
            0);
  return path;
}

Recipients to(const std::vector<std::string> &keys) {
  Recipients r;
  for (const auto &k : keys) {
    auto parsed = parse_recipient(k);
    EXPECT_TRUE(parsed) << parsed.error().message;
    if (parsed) r.x25519.push_back(*parsed);
  }
  return r;
}

Identities from(const fs::path &identity_file) {
  Identities ids;
  auto parsed = read_identity_file(identity_file);
  EXPECT_TRUE(parsed) << parsed.error().message;
  if (parsed) ids.x25519 = std::move(*parsed);
  return ids;
}

// Runs `age` on a pseudo-terminal, answering every passphrase prompt with
// `passphrase` (age reads passphrases only from a terminal).
CommandResult age_on_tty(const std::vector<std::string> &args, const std::string &passphrase) {
  std::string script = R"PY(
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp("age", ["age"] + sys.argv[2:])
buf = b""
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    buf += data
    if buf.rstrip().endswith(b":"):
        os.write(fd, sys.argv[1].encode() + b"\n")
        buf = b""
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
)PY";
  std::vector<std::string> argv = {"python3", "-c", script, passphrase};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// SHA-256 of what `age -d -i identity sealed` writes to stdout (age creates an
// `-o` file only on its first write, so an empty plaintext leaves none).
std::string age_decrypt_sha256(const fs::path &identity, const fs::path &sealed) {
  auto r = sh("set -o pipefail; age -d -i '" + identity.string() + "' '" + sealed.string() +
              "' | sha256sum");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  return r.out.substr(0, r.out.find(' '));
}

std::string sha256_of(const fs::path &path) {
  auto r = sha256_file(path);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : std::string();
}

} // namespace

TEST(Age, FilesGateEncryptsDecryptWithAgeCli) {
  TempDir dir;
  auto key = keygen(dir, "key.txt");
  auto other = keygen(dir, "other.txt");
  for (size_t size : k_sizes) {
    SCOPED_TRACE(size);
    fs::path plain = random_file(dir, size);
    fs::path sealed = plain.string() + ".age";
    auto stats = encrypt_file(plain, sealed, to({other.recipient, key.recipient}));
    ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_EQ(stats->plaintext_sha256, sha256_of(plain));
    EXPECT_EQ(age_decrypt_sha256(key.file, sealed), stats->plaintext_sha256);
    EXPECT_EQ(age_decrypt_sha256(other.file, sealed), stats->plaintext_sha256);
  }
}

TEST(Age, FilesAgeCliEncryptsDecryptWithGate) {
  TempDir dir;
  auto key = keygen(dir, "key.txt");
  auto other = keygen(dir, "other.txt");
  write_file(dir / "recipients.txt",
             "# on-call\n" + other.recipient + "\n\n" + key.recipient + "\n");
  for (size_t size : k_sizes) {
    SCOPED_TRACE(size);
    fs::path plain = random_file(dir, size);
    fs::path by_r = dir / "by-r.age", by_file = dir / "by-R.age";
    ASSERT_EQ(run({"age", "-r", key.recipient, "-o", by_r.string(), plain.string()}).exit_code, 0);
    ASSERT_EQ(run({"age", "-R", (dir / "recipients.txt").string(), "-o", by_file.string(),
                   plain.string()})
                  .exit_code,
              0);
    for (const auto &sealed : {by_r, by_file}) {
      auto stats = decrypt_file(sealed, dir / "out", from(key.file));
      ASSERT_TRUE(stats) << stats.error().message;
      EXPECT_EQ(stats->plaintext_sha256, sha256_of(plain));
      EXPECT_EQ(stats->ciphertext_sha256, sha256_of(sealed));
      fs::remove(dir / "out");
    }
    auto wrong = decrypt_file(by_r, dir / "out", from(other.file));
    ASSERT_FALSE(wrong);
    EXPECT_THAT(wrong.error().message, HasSubstr("no identity matches"));
    EXPECT_FALSE(fs::exists(dir / "out"));
  }
}

TEST(Age, RecipientsFileGateReadsIsTheOneAgeReads) {
  TempDir dir;
  auto key = keygen(dir, "key.txt");
  write_file(dir / "recipients.txt", "# team\n" + key.recipient + "\n");
  auto parsed = read_recipients_file(dir / "recipients.txt");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].encode(), key.recipient);
}

TEST(Age, IdentityFilesGateWritesAreReadByAge) {
  TempDir dir;
  auto id = X25519Identity::generate();
  ASSERT_TRUE(id);
  write_file(dir / "gate-key.txt", identity_file_text(*id, "2026-12-01T00:00:00Z").bytes());
  auto pub = run({"age-keygen", "-y", (dir / "gate-key.txt").string()});
  ASSERT_EQ(pub.exit_code, 0) << pub.all();
  EXPECT_EQ(pub.out, id->recipient().encode() + "\n");
  fs::path plain = random_file(dir, 70000);
  Recipients r;
  r.x25519.push_back(id->recipient());
  ASSERT_TRUE(encrypt_file(plain, dir / "p.age", r));
  EXPECT_EQ(age_decrypt_sha256(dir / "gate-key.txt", dir / "p.age"), sha256_of(plain));
}

TEST(Age, DamagedFilesAreRefusedByGateAsByAge) {
  TempDir dir;
  auto key = keygen(dir, "key.txt");
  fs::path plain = random_file(dir, 200000);
  auto stats = encrypt_file(plain, dir / "p.age", to({key.recipient}));
  ASSERT_TRUE(stats);
  // A bit flipped in the middle of the payload, a byte appended, a cut.
  std::string bytes = read_file(dir / "p.age");
  bytes[100000] ^= 0x01;
  write_file(dir / "flip.age", bytes);
  sh("cp p.age trail.age && printf x >> trail.age && head -c -1 p.age > cut.age", dir.path());
  for (const char *name : {"flip.age", "trail.age", "cut.age"}) {
    SCOPED_TRACE(name);
    EXPECT_NE(run({"age", "-d", "-i", key.file.string(), "-o", "/dev/null", (dir / name).string()})
                  .exit_code,
              0);
    auto r = decrypt_file(dir / name, dir / "out", from(key.file));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr((dir / name).string()));
    EXPECT_FALSE(fs::exists(dir / "out"));
  }
}

TEST(Age, PassphraseFilesInteroperateThroughATerminal) {
  TempDir dir;
  fs::path plain = random_file(dir, 70000);
  // age -p → gate.
  auto e = age_on_tty({"-p", "-o", (dir / "by-age.age").string(), plain.string()}, "s3cret pass");
  ASSERT_EQ(e.exit_code, 0) << e.all();
  Identities ids;
  ids.passphrase = Secret("s3cret pass");
  auto stats = decrypt_file(dir / "by-age.age", dir / "out", ids);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->plaintext_sha256, sha256_of(plain));
  // gate → age -d.
  Recipients r;
  r.passphrase = Secret("s3cret pass");
  ASSERT_TRUE(encrypt_file(plain, dir / "by-gate.age", r));
  auto d = age_on_tty({"-d", "-o", (dir / "out2").string(), (dir / "by-gate.age").string()},
                      "s3cret pass");
  ASSERT_EQ(d.exit_code, 0) << d.all();
  EXPECT_EQ(sha256_of(dir / "out2"), sha256_of(plain));
}

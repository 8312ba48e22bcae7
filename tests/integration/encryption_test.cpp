// Encrypted sets (age): a local set stored encrypted, read by the real
// `age -d -i`; verify, deep verify and rollback without an identity, with a
// wrong one and with the right one; damaged ciphertext; off-site copies
// encrypted while the local set stays plaintext; secrets nowhere.
#include "integration/harness.hpp"
#include "integration/s3_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

struct KeyFile {
  fs::path file;
  std::string recipient;
};

KeyFile key_file(const fs::path &file) {
  auto gen = run({"age-keygen", "-o", file.string()});
  EXPECT_EQ(gen.exit_code, 0) << "age-keygen (Debian package 'age') is needed: " << gen.all();
  auto pub = run({"age-keygen", "-y", file.string()});
  EXPECT_EQ(pub.exit_code, 0) << pub.all();
  return {file, pub.out.substr(0, pub.out.find('\n'))};
}

nlohmann::json manifest_of(const fs::path &set_dir) {
  return nlohmann::json::parse(read_file(set_dir / "manifest.json"));
}

std::string sha256sum_of(const fs::path &file) {
  auto r = run({"sha256sum", file.string()});
  return r.out.substr(0, 64);
}

// Every artifact file decrypts with `age -d -i` to the plaintext the manifest records.
void expect_age_decrypts_every_file(const fs::path &set_dir, const fs::path &key) {
  auto m = manifest_of(set_dir);
  int files = 0;
  for (const auto &a : m["artifacts"])
    for (const auto &f : a["files"]) {
      std::string path = f["path"];
      ASSERT_TRUE(path.ends_with(".age")) << path;
      ASSERT_TRUE(f.contains("plaintext_sha256")) << path;
      TempDir out;
      auto d = run({"age", "-d", "-i", key.string(), "-o", (out / "plain").string(),
                    (set_dir / path).string()});
      ASSERT_EQ(d.exit_code, 0) << path << ": " << d.all();
      EXPECT_EQ(sha256sum_of(out / "plain"), f["plaintext_sha256"].get<std::string>()) << path;
      EXPECT_EQ(fs::file_size(out / "plain"), f["plaintext_bytes"].get<uint64_t>()) << path;
      ++files;
    }
  EXPECT_GT(files, 2);
}

// Nothing gate leaves under backup_root but sets: no decrypted or staged copy.
void expect_no_working_copies(const fs::path &root) {
  for (const auto &e : fs::directory_iterator(root)) {
    std::string name = e.path().filename().string();
    EXPECT_FALSE(name.starts_with(".decrypted-") || name.starts_with(".offsite-")) << name;
  }
}

// Damages the volume's ciphertext in `set` with a Python statement on `data`,
// and rewrites manifest and checksums to match it: only the age
// authentication can catch it.
void damage_volume_file(const fs::path &set, const std::string &damage,
                        const fs::path &script_file) {
  std::string script = R"(
import hashlib, json, sys
set_dir = sys.argv[1]
m = json.load(open(set_dir + '/manifest.json'))
f = [f for a in m['artifacts'] if a['kind'] == 'volume' for f in a['files']][0]
data = bytearray(open(set_dir + '/' + f['path'], 'rb').read())
)" + damage + R"(
open(set_dir + '/' + f['path'], 'wb').write(data)
f['sha256'] = hashlib.sha256(data).hexdigest(); f['bytes'] = len(data)
json.dump(m, open(set_dir + '/manifest.json', 'w'))
lines = ['%s  %s' % (x['sha256'], x['path']) for x in sorted((x for a in m['artifacts'] for x in a['files']), key=lambda x: x['path'])]
open(set_dir + '/checksums.sha256', 'w').write('\n'.join(lines) + '\n')
)";
  write_file(script_file, script);
  ASSERT_EQ(run({"python3", script_file.string(), set.string()}).exit_code, 0);
}

class EncryptedSets : public ::testing::Test {
protected:
  void write_config(const std::string &db, const std::string &encryption,
                    const std::string &extra = "") {
    PgServer::get().create_database(db);
    fill_sample_database(db, 40);
    if (!fs::exists(m_dir / "files")) make_sample_tree(m_dir / "files", 8);
    write_pipeline(m_dir.path(), "databases:\n  - name: app\n    url: " + PgServer::get().url(db) +
                                     "\n    formats: [custom, directory]\n"
                                     "volumes:\n  - name: files\n    path: ./files\n" +
                                     "encryption:\n" + encryption + extra);
  }
  void write_local_config(const std::string &db) {
    write_config(db, "  recipients: [" + m_key.recipient + "]\n  local: true\n");
  }
  std::string rows(const std::string &db) {
    return PgServer::get().value(db, "SELECT count(*) FROM customers");
  }
  fs::path backups() const { return m_dir / "backups"; }

  TempDir m_dir;
  TempDir m_keys;
  KeyFile m_key = key_file(m_keys / "key.txt");
};

} // namespace

TEST_F(EncryptedSets, ALocalSetIsStoredAsCiphertextThatAgeDecryptsAndSha256sumChecks) {
  write_local_config("enc_local");
  auto r = run_gate({"run"}, m_dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  std::string id = newest_set(backups());
  fs::path set = backups() / id;
  expect_age_decrypts_every_file(set, m_key.file);
  // No plaintext copy: every file on disk is the ciphertext the manifest lists.
  auto plain = sh("find . -type f ! -name '*.age' ! -name manifest.json ! -name checksums.sha256 "
                  "! -name RESTORE.md ! -name gate.log",
                  set);
  EXPECT_EQ(plain.out, "") << plain.all();
  EXPECT_EQ(sh("sha256sum -c --quiet checksums.sha256", set).exit_code, 0);
  auto m = manifest_of(set);
  for (const auto &a : m["artifacts"])
    EXPECT_EQ(a["encryption"]["recipients"][0].get<std::string>(), m_key.recipient);
  expect_no_working_copies(backups());
  // The plain commands work: RESTORE.md's pipeline through age, zstd and pg_restore.
  std::string restore_md = read_file(set / "RESTORE.md");
  EXPECT_THAT(restore_md, HasSubstr("age -d -i key.txt '" + set.string() +
                                    "/databases/app.dump.zst.age' | zstd -dc | pg_restore"));
  // (pg_restore -l reads only the table of contents: the dump goes to a file first.)
  TempDir out;
  auto toc = sh("age -d -i " + m_key.file.string() + " databases/app.dump.zst.age | zstd -dc > " +
                    (out / "app.dump").string() + " && " + PgServer::get().bindir() +
                    "/pg_restore -l " + (out / "app.dump").string() + " | grep -c 'TABLE DATA'",
                set);
  EXPECT_EQ(toc.exit_code, 0) << toc.all();
  auto show = run_gate({"show", id}, m_dir.path());
  EXPECT_THAT(show.out, HasSubstr("encrypted   age, to " + m_key.recipient));
  EXPECT_THAT(show.out, HasSubstr("age -d -i key.txt"));
  auto list = run_gate({"list", "--json"}, m_dir.path());
  auto sets = nlohmann::json::parse(list.out);
  EXPECT_EQ(sets[0]["encrypted_to"][0].get<std::string>(), m_key.recipient);
}

TEST_F(EncryptedSets, WithoutAnIdentityVerifySaysWhatItCheckedAndDeepVerifyAndRollbackRefuse) {
  write_local_config("enc_noid");
  ASSERT_EQ(run_gate({"run"}, m_dir.path()).exit_code, 0);
  std::string id = newest_set(backups());
  auto quick = run_gate({"verify", id, "--quick"}, m_dir.path());
  EXPECT_EQ(quick.exit_code, 0) << quick.all();
  auto full = run_gate({"verify", id, "-v"}, m_dir.path());
  EXPECT_EQ(full.exit_code, 0) << full.all();
  EXPECT_THAT(full.all(), HasSubstr("its plaintext was read back before it was encrypted"));
  std::string refusal = "set " + id + " is encrypted to " + m_key.recipient;
  auto deep = run_gate({"verify", id, "--deep"}, m_dir.path());
  EXPECT_EQ(deep.exit_code, 2) << deep.all();
  EXPECT_THAT(deep.all(), HasSubstr(refusal));
  EXPECT_THAT(deep.all(), HasSubstr("pass --identity FILE"));
  PgServer::get().psql("enc_noid", "TRUNCATE customers CASCADE");
  auto rollback = run_gate({"rollback", id, "--yes"}, m_dir.path());
  EXPECT_EQ(rollback.exit_code, 2) << rollback.all();
  EXPECT_THAT(rollback.all(), HasSubstr(refusal));
  // Another key, and a file that is no identity at all, are refused the same way.
  KeyFile other = key_file(m_keys / "other.txt");
  auto wrong = run_gate({"rollback", id, "--yes", "--identity", other.file.string()}, m_dir.path());
  EXPECT_EQ(wrong.exit_code, 2) << wrong.all();
  EXPECT_THAT(wrong.all(), HasSubstr(refusal));
  EXPECT_THAT(wrong.all(), HasSubstr("does not open"));
  write_file(m_keys / "bad.txt", "AGE-SECRET-KEY-1NOTAKEY\n");
  auto bad =
      run_gate({"verify", id, "--deep", "--identity", (m_keys / "bad.txt").string()}, m_dir.path());
  EXPECT_EQ(bad.exit_code, 2) << bad.all();
  EXPECT_THAT(bad.all(), HasSubstr(refusal));
  EXPECT_THAT(bad.all(), HasSubstr("bad.txt:1"));
  EXPECT_THAT(bad.all(), Not(HasSubstr("NOTAKEY")));
  // Nothing changed: the rows stay deleted, no safety snapshot was taken, the set is usable.
  EXPECT_EQ(rows("enc_noid"), "0");
  auto list = run_gate({"list", "--json"}, m_dir.path());
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), 1u) << list.out;
  expect_no_working_copies(backups());
}

TEST_F(EncryptedSets, TheIdentityDecryptsForDeepVerifyAndRollback) {
  write_local_config("enc_id");
  ASSERT_EQ(run_gate({"run"}, m_dir.path()).exit_code, 0);
  std::string id = newest_set(backups());
  std::string before = rows("enc_id");
  auto deep =
      run_gate({"verify", id, "--deep", "--identity", m_key.file.string(), "-v"}, m_dir.path());
  EXPECT_EQ(deep.exit_code, 0) << deep.all();
  EXPECT_THAT(deep.all(), HasSubstr("decrypted, every chunk authenticated"));
  // GATE_AGE_IDENTITY_FILE stands for --identity.
  auto full = run_gate({"verify", id, "-v"}, m_dir.path(),
                       {{"GATE_AGE_IDENTITY_FILE", m_key.file.string()}});
  EXPECT_EQ(full.exit_code, 0) << full.all();
  EXPECT_THAT(full.all(), HasSubstr("decrypted"));
  PgServer::get().psql("enc_id", "TRUNCATE customers CASCADE");
  write_file(m_dir / "files" / "added-later.txt", "not in the set\n");
  auto rollback =
      run_gate({"rollback", id, "--yes", "--identity", m_key.file.string()}, m_dir.path());
  ASSERT_EQ(rollback.exit_code, 0) << rollback.all();
  EXPECT_EQ(rows("enc_id"), before);
  EXPECT_FALSE(fs::exists(m_dir / "files" / "added-later.txt"));
  expect_no_working_copies(backups());
}

TEST_F(EncryptedSets, DamagedCiphertextFailsVerifyWithTheIdentityNamingTheFile) {
  write_local_config("enc_damaged");
  ASSERT_EQ(run_gate({"run"}, m_dir.path()).exit_code, 0);
  std::string id = newest_set(backups());
  ASSERT_EQ(sh("cp -a backups pristine", m_dir.path()).exit_code, 0);
  // Each damage, with manifest and checksums rewritten to match it: only the
  // age authentication can catch it.
  const std::map<std::string, std::string> damages = {
      {"truncated", "data = data[:-100]"},
      {"bit-flipped", "data[len(data) - 5000] ^= 1"},
      {"header-tampered", "data[data.index(b'\\n') + 5] ^= 1"},
      {"appended", "data += b'trailing'"},
  };
  for (const auto &[name, damage] : damages) {
    SCOPED_TRACE(name);
    ASSERT_EQ(sh("rm -rf backups && cp -a pristine backups", m_dir.path()).exit_code, 0);
    fs::path set = backups() / id;
    damage_volume_file(set, damage, m_keys / "damage.py");
    auto verify = run_gate({"verify", id, "--identity", m_key.file.string()}, m_dir.path());
    EXPECT_EQ(verify.exit_code, 1) << verify.all();
    EXPECT_THAT(verify.all(), HasSubstr("volumes/files.tar"));
    EXPECT_THAT(verify.all(), HasSubstr("does not decrypt"));
    expect_no_working_copies(backups());
  }
}

// A rollback refused because a file of the set is damaged changed nothing:
// exit 1 (docs/exit-codes.md), not the 2 of a missing or wrong identity, even
// when the damage makes the file's header unreadable to the right key.
TEST_F(EncryptedSets, ARollbackOfADamagedEncryptedFileIsRefusedWithExit1) {
  write_local_config("enc_rb_damaged");
  ASSERT_EQ(run_gate({"run"}, m_dir.path()).exit_code, 0);
  std::string id = newest_set(backups());
  PgServer::get().psql("enc_rb_damaged", "TRUNCATE customers CASCADE");
  ASSERT_EQ(sh("cp -a backups pristine", m_dir.path()).exit_code, 0);
  for (const std::string damage : {"data[data.index(b'\\n') + 5] ^= 1", "data[-5000] ^= 1"}) {
    SCOPED_TRACE(damage);
    ASSERT_EQ(sh("rm -rf backups && cp -a pristine backups", m_dir.path()).exit_code, 0);
    damage_volume_file(backups() / id, damage, m_keys / "damage.py");
    auto r = run_gate({"rollback", id, "--yes", "--identity", m_key.file.string()}, m_dir.path());
    EXPECT_EQ(r.exit_code, 1) << r.all();
    EXPECT_THAT(r.out, HasSubstr("ROLLBACK NOT DONE"));
    EXPECT_THAT(r.all(), HasSubstr("volumes/files.tar"));
    EXPECT_THAT(r.all(), HasSubstr("nothing was changed"));
    EXPECT_THAT(r.all(), Not(HasSubstr("does not open")));
    EXPECT_EQ(rows("enc_rb_damaged"), "0");
    EXPECT_EQ(sh("ls -d backups/pre-rollback-*", m_dir.path()).exit_code, 2) << "no snapshot";
    expect_no_working_copies(backups());
  }
}

TEST_F(EncryptedSets, APassphraseSetDecryptsWithItsVariableAndNoSecretIsWrittenAnywhere) {
  const std::string pass = "correct-horse-battery-staple-42";
  write_config("enc_pass", "  passphrase: ${GATE_TEST_PASSPHRASE}\n  local: true\n");
  std::map<std::string, std::string> env{{"GATE_TEST_PASSPHRASE", pass}};
  auto run1 = run_gate({"run", "-v"}, m_dir.path(), env);
  ASSERT_EQ(run1.exit_code, 0) << run1.all();
  std::string id = newest_set(backups());
  auto m = manifest_of(backups() / id);
  EXPECT_EQ(m["artifacts"][0]["encryption"]["passphrase"], "scrypt");
  auto deep = run_gate({"verify", id, "--deep", "-v"}, m_dir.path(), env);
  EXPECT_EQ(deep.exit_code, 0) << deep.all();
  auto refused = run_gate({"verify", id, "--deep"}, m_dir.path());
  EXPECT_NE(refused.exit_code, 0);
  // An X25519 set read with --identity: the secret key is not echoed either.
  write_config("enc_pass", "  recipients: [" + m_key.recipient + "]\n  local: true\n");
  auto run2 = run_gate({"run", "-v"}, m_dir.path());
  ASSERT_EQ(run2.exit_code, 0) << run2.all();
  std::string id2 = newest_set(backups());
  auto rollback =
      run_gate({"rollback", id2, "--yes", "-v", "--identity", m_key.file.string()}, m_dir.path());
  ASSERT_EQ(rollback.exit_code, 0) << rollback.all();
  std::string secret = read_file(m_key.file);
  secret = secret.substr(secret.find("AGE-SECRET-KEY-"), 74);
  for (const auto *r : {&run1, &deep, &refused, &run2, &rollback}) {
    EXPECT_THAT(r->all(), Not(HasSubstr(pass)));
    EXPECT_THAT(r->all(), Not(HasSubstr(secret)));
  }
  for (const auto &needle : {pass, secret}) {
    auto grep = sh("! grep -rqaF -- '" + needle + "' backups pipeline.yml", m_dir.path());
    EXPECT_EQ(grep.exit_code, 0) << "found in "
                                 << sh("grep -rlaF -- '" + needle + "' backups", m_dir.path()).out;
  }
}

namespace {

constexpr const char *k_encrypted_bucket = "gate-encrypted";

class EncryptedOffsite : public EncryptedSets {
protected:
  static void SetUpTestSuite() { s_server = new S3Server({k_encrypted_bucket}); }
  static void TearDownTestSuite() {
    delete s_server;
    s_server = nullptr;
  }
  std::map<std::string, std::string> env() const {
    return {{"AWS_ACCESS_KEY_ID", s_server->access_key_id()},
            {"AWS_SECRET_ACCESS_KEY", s_server->secret_access_key()}};
  }
  static S3Server *s_server;
};
S3Server *EncryptedOffsite::s_server = nullptr;

} // namespace

TEST_F(EncryptedOffsite, TheRemoteCopyIsCiphertextWhileTheLocalSetStaysPlaintext) {
  write_config("enc_offsite", "  recipients: [" + m_key.recipient + "]\n",
               std::string("remotes:\n  - name: offsite\n    url: s3://") + k_encrypted_bucket +
                   "/hosts/enc\n    endpoint: " + s_server->endpoint() + "\n");
  auto r = run_gate({"run"}, m_dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  std::string id = newest_set(backups());
  fs::path local = backups() / id;
  EXPECT_TRUE(fs::exists(local / "databases/app.dump.zst"));
  EXPECT_FALSE(fs::exists(local / "databases/app.dump.zst.age"));
  EXPECT_TRUE(manifest_of(local)["artifacts"][0]["encryption"].is_null());
  TempDir down;
  auto cp = s_server->aws({"s3", "cp", "--recursive",
                           std::string("s3://") + k_encrypted_bucket + "/hosts/enc/" + id + "/",
                           down.path().string()});
  ASSERT_EQ(cp.exit_code, 0) << cp.all();
  auto check = sh("sha256sum -c --quiet checksums.sha256", down.path());
  EXPECT_EQ(check.exit_code, 0) << check.all();
  expect_age_decrypts_every_file(down.path(), m_key.file);
  auto plain = sh("find . -type f ! -name '*.age' ! -name manifest.json ! -name checksums.sha256 "
                  "! -name RESTORE.md ! -name gate.log",
                  down.path());
  EXPECT_EQ(plain.out, "") << plain.all();
  // The remote plaintext is byte for byte the local one.
  auto remote_manifest =
      manifest_of(down.path()); // alive for the loop (a temporary's member is not)
  for (const auto &a : remote_manifest["artifacts"])
    for (const auto &f : a["files"]) {
      std::string path = f["path"];
      EXPECT_EQ(f["plaintext_sha256"].get<std::string>(),
                sha256sum_of(local / path.substr(0, path.size() - 4)));
    }
  EXPECT_THAT(read_file(down / "RESTORE.md"), HasSubstr("age -d -i key.txt"));
  expect_no_working_copies(backups());
}

TEST_F(EncryptedSets, ASetThatFailsIsKeptOnlyAsCiphertext) {
  PgServer::get().create_database("enc_failed");
  fill_sample_database("enc_failed", 10);
  write_pipeline(m_dir.path(),
                 "databases:\n  - name: app\n    url: " + PgServer::get().url("enc_failed") +
                     "\n    min_size: 1GiB\nencryption:\n  recipients: [" + m_key.recipient +
                     "]\n  local: true\n");
  auto r = run_gate({"run"}, m_dir.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("below min_size"));
  auto failed = sh("ls -d .failed-*", backups());
  ASSERT_EQ(failed.exit_code, 0) << failed.all();
  fs::path set = backups() / failed.out.substr(0, failed.out.find('\n'));
  auto plain = sh("find . -type f ! -name '*.age' ! -name manifest.json ! -name checksums.sha256 "
                  "! -name gate.log",
                  set);
  EXPECT_EQ(plain.out, "") << plain.all();
  EXPECT_TRUE(fs::exists(set / "databases/app.dump.zst.age"));
  EXPECT_EQ(sh("sha256sum -c --quiet checksums.sha256", set).exit_code, 0);
}

namespace {

constexpr const char *k_canary = "plaintext-canary-5e1f0c";

// The files under `dir` whose content, decompressed when it is zstd or gzip,
// holds the canary: where plaintext data sits.
std::string files_holding_canary(const fs::path &dir) {
  return sh(std::string("find . -type f -print0 | while IFS= read -r -d '' f; do "
                        "(zstd -dcfq -- \"$f\" 2>/dev/null || cat -- \"$f\") | grep -aF ") +
                k_canary + " >/dev/null && echo \"$f\"; done; true", // no -q: no SIGPIPE
            dir)
      .out;
}

// The files under `dir` that are neither ciphertext nor the readable metadata.
std::string unencrypted_data_files(const fs::path &dir) {
  return sh("find . -type f ! -name '*.age' ! -name manifest.json ! -name checksums.sha256 "
            "! -name RESTORE.md ! -name gate.log ! -name .gate.lock ! -name .gate-last-run.json",
            dir)
      .out;
}

} // namespace

// A gate killed with SIGKILL after it wrote plaintext into .partial-ID, and one
// interrupted there: the set the next run keeps as .failed-ID holds no plaintext.
TEST_F(EncryptedSets, AKilledOrInterruptedGateLeavesNoPlaintextUnderBackupRoot) {
  // A plain SQL dump and a tar: once decompressed, the canary is in them as written.
  write_config("enc_killed", "  recipients: [" + m_key.recipient + "]\n  local: true\n");
  std::string pipeline = read_file(m_dir / "pipeline.yml");
  pipeline.replace(pipeline.find("[custom, directory]"), 19, "[sql]");
  write_file(m_dir / "pipeline.yml", pipeline);
  PgServer::get().psql("enc_killed",
                       std::string("INSERT INTO customers (name) VALUES ('") + k_canary + "')");
  write_file(m_dir / "files" / "canary.txt", std::string(k_canary) + "\n");
  auto gate = start_gate_at_fault({"run"}, m_dir.path(), "set.after-artifact");
  // The control: at this point the plaintext is there, and the scan finds it.
  EXPECT_THAT(files_holding_canary(backups()), HasSubstr(".partial-"));
  ::kill(gate->pid(), SIGKILL);
  (void)gate->wait();
  auto next = run_gate({"run"}, m_dir.path());
  ASSERT_EQ(next.exit_code, 0) << next.all();
  EXPECT_THAT(next.all(), HasSubstr("left unfinished by a gate that died"));
  auto failed = sh("ls -d .failed-*", backups());
  ASSERT_EQ(failed.exit_code, 0) << failed.all();
  fs::path kept = backups() / failed.out.substr(0, failed.out.find('\n'));
  EXPECT_TRUE(fs::exists(kept / "gate.log"));
  EXPECT_THAT(manifest_of(kept)["failure"].get<std::string>(), HasSubstr("plaintext files were"));
  EXPECT_EQ(files_holding_canary(backups()), "");
  EXPECT_EQ(unencrypted_data_files(backups()), "");
  auto list = run_gate({"list", "--all"}, m_dir.path());
  EXPECT_EQ(list.exit_code, 0) << list.all();
  EXPECT_THAT(list.out, HasSubstr(kept.filename().string().substr(8))) << list.all();
  // Interrupted at the same point (SIGTERM): the unfinished set is removed.
  auto interrupted = start_gate_at_fault({"run"}, m_dir.path(), "set.after-artifact");
  EXPECT_THAT(files_holding_canary(backups()), HasSubstr(".partial-"));
  ::kill(interrupted->pid(), SIGTERM);
  auto stopped = finish_gate(*interrupted);
  EXPECT_NE(stopped.exit_code, 0) << stopped.all();
  EXPECT_EQ(files_holding_canary(backups()), "");
  EXPECT_EQ(unencrypted_data_files(backups()), "");
}

// Disaster recovery of an encrypted remote copy: a new host with pipeline.yml,
// the credentials and the identity, no backup_root, no record.
TEST_F(EncryptedOffsite, AnEncryptedRemoteSetIsRestoredOnAHostWithNoLocalSet) {
  write_config("enc_dr", "  recipients: [" + m_key.recipient + "]\n",
               std::string("remotes:\n  - name: offsite\n    url: s3://") + k_encrypted_bucket +
                   "/hosts/enc_dr\n    endpoint: " + s_server->endpoint() + "\n");
  ASSERT_EQ(run_gate({"run"}, m_dir.path(), env()).exit_code, 0);
  std::string before = rows("enc_dr");
  fs::remove_all(backups());
  fs::remove(m_dir / ".last-deployment-backup");
  PgServer::get().psql("enc_dr", "DELETE FROM orders; DELETE FROM customers");
  auto plain = run_gate({"verify", "--remote", "offsite", "--last"}, m_dir.path(), env());
  EXPECT_EQ(plain.exit_code, 0) << plain.all(); // the ciphertext, by SHA-256
  auto opened =
      run_gate({"verify", "--remote", "offsite", "--last", "--identity", m_key.file.string()},
               m_dir.path(), env());
  EXPECT_EQ(opened.exit_code, 0) << opened.all();
  // Without the identity, fetch and rollback refuse and change nothing.
  auto fetch = run_gate({"fetch", "--remote", "offsite", "--last"}, m_dir.path(), env());
  EXPECT_EQ(fetch.exit_code, 2) << fetch.all();
  EXPECT_THAT(fetch.all(), HasSubstr("pass --identity FILE"));
  auto refused =
      run_gate({"rollback", "--last", "--remote", "offsite", "--yes"}, m_dir.path(), env());
  EXPECT_EQ(refused.exit_code, 2) << refused.all();
  EXPECT_THAT(refused.all(), HasSubstr("pass --identity FILE"));
  EXPECT_EQ(rows("enc_dr"), "0");
  auto r = run_gate(
      {"rollback", "--last", "--remote", "offsite", "--yes", "--identity", m_key.file.string()},
      m_dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(rows("enc_dr"), before);
  EXPECT_NE(before, "0");
  auto leaked = sh("grep -rl 'AGE-SECRET-KEY' . || true", m_dir.path());
  EXPECT_EQ(leaked.out, "") << leaked.all();
}

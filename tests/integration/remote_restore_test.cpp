// Sets read back from a remote (a real s3rver checking Signature V4):
// `gate verify --remote` at each level, a set uploaded by `aws s3 cp` is
// accepted, corrupted and missing objects are named; `gate fetch` brings a
// set home verified; `gate rollback` restores from the remote alone after
// backup_root and the record are gone, and its plan says which copy it uses.
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

constexpr const char *k_restore_bucket = "gate-restore";

class RemoteRestore : public S3Suite {
protected:
  static void SetUpTestSuite() { start_server(k_restore_bucket); }

  std::string pipeline_body(const std::string &db, const std::string &prefix) const {
    return "databases:\n  - name: app\n    url: " + PgServer::get().url(db) +
           "\nvolumes:\n  - name: files\n    path: ./files\n"
           "remotes:\n  - name: offsite\n    url: s3://" +
           k_restore_bucket + "/" + prefix + "\n    endpoint: " + server().endpoint() + "\n";
  }
  // A database and a directory, copied to the remote `offsite` under hosts/DB.
  void write_config(const std::string &db) {
    PgServer::get().create_database(db);
    fill_sample_database(db, 40);
    make_sample_tree(m_dir / "files", 6);
    write_pipeline(m_dir.path(), pipeline_body(db, "hosts/" + db));
  }
  // `gate run`, and the id of the set it made and copied.
  std::string backed_up(const std::string &db) {
    write_config(db);
    auto r = run_gate({"run"}, m_dir.path(), env());
    EXPECT_EQ(r.exit_code, 0) << r.all();
    return newest_set(m_dir / "backups");
  }
  // The path inside the set of its first file whose name matches `glob`.
  std::string file_in_set(const std::string &id, const std::string &glob) {
    auto found = sh("cd backups/" + id + " && find . -name '" + glob + "' | head -1 | cut -c3-",
                    m_dir.path());
    std::string path = found.out;
    if (!path.empty()) path.pop_back();
    return path;
  }
  std::string uri(const std::string &db, const std::string &id, const std::string &path) const {
    return std::string("s3://") + k_restore_bucket + "/hosts/" + db + "/" + id + "/" + path;
  }
  std::string leftover_feeds() const {
    return sh("ls -d /dev/shm/gate-remote-verify-* ${TMPDIR:-/tmp}/gate-remote-verify-* "
              "2>/dev/null | wc -l")
        .out;
  }
};

} // namespace

TEST_F(RemoteRestore, VerifyRemoteAtEachLevel) {
  std::string id = backed_up("rr_levels");
  std::string feeds_before = leftover_feeds();
  auto quick = run_gate({"verify", "--remote", "offsite", id, "--quick"}, m_dir.path(), env());
  EXPECT_EQ(quick.exit_code, 0) << quick.all();
  EXPECT_THAT(quick.out, HasSubstr("objects present with their recorded sizes"));
  auto full = run_gate({"verify", "--remote", "offsite", "--last"}, m_dir.path(), env());
  EXPECT_EQ(full.exit_code, 0) << full.all();
  EXPECT_THAT(full.out, HasSubstr("OK: set " + id + " on remote offsite verified (full)"));
  EXPECT_THAT(full.out, HasSubstr("nothing written to disk"));
  auto deep =
      run_gate({"--verbose", "verify", "--remote", "offsite", id, "--deep"}, m_dir.path(), env());
  EXPECT_EQ(deep.exit_code, 0) << deep.all();
  EXPECT_THAT(deep.out, HasSubstr("verified (deep)"));
  EXPECT_THAT(deep.all(), HasSubstr("into scratch database"));
  EXPECT_THAT(deep.all(), HasSubstr("dropped scratch database"));
  // Nothing is left behind: no scratch copy, no pipes, no new local set.
  EXPECT_EQ(sh("ls -a backups | grep -c remote-verify || true", m_dir.path()).out, "0\n");
  EXPECT_EQ(leftover_feeds(), feeds_before);
  EXPECT_EQ(newest_set(m_dir / "backups"), id);
  auto unknown = run_gate({"verify", "--remote", "elsewhere"}, m_dir.path(), env());
  EXPECT_EQ(unknown.exit_code, 2) << unknown.all();
  EXPECT_THAT(unknown.all(), HasSubstr("remotes: offsite"));
  auto missing = run_gate({"verify", "--remote", "offsite", "no-such-set"}, m_dir.path(), env());
  EXPECT_EQ(missing.exit_code, 1) << missing.all();
  EXPECT_THAT(missing.all(), HasSubstr("remote 'offsite'"));
  auto wrong = env();
  wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret";
  auto refused = run_gate({"verify", "--remote", "offsite", id}, m_dir.path(), wrong);
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_THAT(refused.all(), HasSubstr("remote 'offsite'"));
  EXPECT_THAT(refused.all(), HasSubstr(k_restore_bucket));
  EXPECT_THAT(refused.all(), Not(HasSubstr("not-the-secret")));
}

// Each verify's outcome goes beside the manifest (which stays as committed),
// and `gate list --remote` tells when the copy was last verified and how.
TEST_F(RemoteRestore, VerifyRemoteRecordsItsOutcomeAndListRemoteShowsTheLast) {
  std::string id = backed_up("rr_checked");
  auto list_json = [&] {
    auto l = run_gate({"list", "--remote", "offsite", "--json"}, m_dir.path(), env());
    EXPECT_EQ(l.exit_code, 0) << l.all();
    return nlohmann::json::parse(l.out)[0];
  };
  EXPECT_TRUE(list_json()["remote_verified"].is_null());
  TempDir before;
  ASSERT_EQ(server()
                .aws({"s3", "cp", uri("rr_checked", id, "manifest.json"),
                      (before / "manifest.json").string()})
                .exit_code,
            0);
  ASSERT_EQ(
      run_gate({"verify", "--remote", "offsite", id, "--quick"}, m_dir.path(), env()).exit_code, 0);
  ASSERT_EQ(run_gate({"verify", "--remote", "offsite", id}, m_dir.path(), env()).exit_code, 0);
  auto last = list_json()["remote_verified"];
  EXPECT_EQ(last["level"], "full");
  EXPECT_EQ(last["ok"], true);
  EXPECT_FALSE(last["at"].get<std::string>().empty());
  auto table = run_gate({"list", "--remote", "offsite"}, m_dir.path(), env());
  EXPECT_THAT(table.out, HasSubstr("verified there"));
  EXPECT_THAT(table.out, HasSubstr("(full)"));
  TempDir after;
  ASSERT_EQ(server()
                .aws({"s3", "cp", "--recursive", uri("rr_checked", id, ""), after.path().string()})
                .exit_code,
            0);
  EXPECT_EQ(read_file(after / "manifest.json"), read_file(before / "manifest.json"));
  auto all = nlohmann::json::parse(read_file(after / "verifications.json"));
  ASSERT_EQ(all.size(), 2u) << all.dump();
  EXPECT_EQ(all[0]["level"], "quick");
  EXPECT_EQ(sh("sha256sum -c --quiet checksums.sha256", after.path()).exit_code, 0);
  // A failed verify is recorded as such.
  ASSERT_EQ(server().aws({"s3", "rm", uri("rr_checked", id, file_in_set(id, "*.tar*"))}).exit_code,
            0);
  EXPECT_EQ(
      run_gate({"verify", "--remote", "offsite", id, "--quick"}, m_dir.path(), env()).exit_code, 1);
  last = list_json()["remote_verified"];
  EXPECT_EQ(last["ok"], false);
  EXPECT_THAT(last["summary"].get<std::string>(), HasSubstr("is missing"));
}

TEST_F(RemoteRestore, ASetUploadedByAwsIsAcceptedByVerifyRemote) {
  PgServer::get().create_database("rr_aws");
  fill_sample_database("rr_aws", 30);
  make_sample_tree(m_dir / "files", 4);
  // A pipeline without remotes makes the set; aws copies it up.
  write_pipeline(m_dir.path(),
                 "databases:\n  - name: app\n    url: " + PgServer::get().url("rr_aws") +
                     "\nvolumes:\n  - name: files\n    path: ./files\n");
  ASSERT_EQ(run_gate({"run"}, m_dir.path()).exit_code, 0);
  std::string id = newest_set(m_dir / "backups");
  auto cp = server().aws({"s3", "cp", "--recursive", (m_dir / "backups" / id).string(),
                          std::string("s3://") + k_restore_bucket + "/by-aws/" + id + "/"});
  ASSERT_EQ(cp.exit_code, 0) << cp.all();
  write_pipeline(m_dir.path(), pipeline_body("rr_aws", "by-aws"));
  auto full = run_gate({"verify", "--remote", "offsite", id}, m_dir.path(), env());
  EXPECT_EQ(full.exit_code, 0) << full.all();
  EXPECT_THAT(full.out, HasSubstr("verified (full)"));
  auto last = run_gate({"verify", "--remote", "offsite", "--last", "--quick"}, m_dir.path(), env());
  EXPECT_EQ(last.exit_code, 0) << last.all();
  EXPECT_THAT(last.out, HasSubstr("set " + id));
}

TEST_F(RemoteRestore, ACorruptedOrAMissingObjectIsNamedByVerifyRemote) {
  std::string id = backed_up("rr_damaged");
  std::string volume = file_in_set(id, "*.tar*");
  std::string dump = file_in_set(id, "*.dump*");
  ASSERT_FALSE(volume.empty());
  ASSERT_FALSE(dump.empty());
  // Same size, one byte different: only reading it tells.
  TempDir work;
  fs::copy_file(m_dir / "backups" / id / dump, work / "bad");
  ASSERT_EQ(
      sh("printf 'X' | dd of=bad bs=1 seek=200 conv=notrunc status=none", work.path()).exit_code,
      0);
  ASSERT_EQ(
      server().aws({"s3", "cp", (work / "bad").string(), uri("rr_damaged", id, dump)}).exit_code,
      0);
  auto quick = run_gate({"verify", "--remote", "offsite", id, "--quick"}, m_dir.path(), env());
  EXPECT_EQ(quick.exit_code, 0) << quick.all(); // sizes are all quick compares
  auto full = run_gate({"verify", "--remote", "offsite", id}, m_dir.path(), env());
  EXPECT_EQ(full.exit_code, 1) << full.all();
  EXPECT_THAT(full.all(), HasSubstr(uri("rr_damaged", id, dump) + " is corrupted"));
  EXPECT_THAT(full.all(), HasSubstr("remote 'offsite'"));
  auto deep = run_gate({"verify", "--remote", "offsite", id, "--deep"}, m_dir.path(), env());
  EXPECT_EQ(deep.exit_code, 1) << deep.all();
  EXPECT_THAT(deep.all(), HasSubstr(uri("rr_damaged", id, dump)));

  ASSERT_EQ(server().aws({"s3", "rm", uri("rr_damaged", id, volume)}).exit_code, 0);
  auto gone = run_gate({"verify", "--remote", "offsite", id, "--quick"}, m_dir.path(), env());
  EXPECT_EQ(gone.exit_code, 1) << gone.all();
  EXPECT_THAT(gone.all(), HasSubstr(uri("rr_damaged", id, volume) + " is missing"));
  // The local set is untouched by what the remote holds.
  auto local = run_gate({"verify", id, "--quick"}, m_dir.path(), env());
  EXPECT_EQ(local.exit_code, 0) << local.all();
}

TEST_F(RemoteRestore, FetchBringsASetHomeThatSha256sumAccepts) {
  std::string id = backed_up("rr_fetch");
  fs::remove_all(m_dir / "backups");
  auto fetched = run_gate({"fetch", "--remote", "offsite", "--last"}, m_dir.path(), env());
  ASSERT_EQ(fetched.exit_code, 0) << fetched.all();
  EXPECT_THAT(fetched.out, HasSubstr("OK: set " + id + " fetched from remote offsite"));
  auto check = sh("sha256sum -c --quiet checksums.sha256", m_dir / "backups" / id);
  EXPECT_EQ(check.exit_code, 0) << check.all();
  auto list = run_gate({"list", "--json"}, m_dir.path(), env());
  EXPECT_THAT(list.out, HasSubstr("\"" + id + "\""));
  auto verify = run_gate({"verify", id}, m_dir.path(), env());
  EXPECT_EQ(verify.exit_code, 0) << verify.all();
  auto again = run_gate({"fetch", "--remote", "offsite", id}, m_dir.path(), env());
  EXPECT_EQ(again.exit_code, 0) << again.all();
  EXPECT_THAT(again.out, HasSubstr("is already in"));
  auto unknown = run_gate({"fetch", "--remote", "offsite", "no-such-set"}, m_dir.path(), env());
  EXPECT_EQ(unknown.exit_code, 1) << unknown.all();
  EXPECT_THAT(unknown.all(), HasSubstr("no backup set 'no-such-set'"));
  auto no_remote = run_gate({"fetch", id}, m_dir.path(), env());
  EXPECT_EQ(no_remote.exit_code, 2) << no_remote.all();
}

TEST_F(RemoteRestore, AFetchKilledMidwayLeavesNothingUsableAndTheNextOneSucceeds) {
  std::string id = backed_up("rr_killed");
  fs::remove_all(m_dir / "backups");
  auto gate = start_gate_at_fault({"fetch", "--remote", "offsite", id}, m_dir.path(),
                                  "fetch.before-verify", env());
  ::kill(gate->pid(), SIGKILL);
  (void)gate->wait();
  EXPECT_TRUE(fs::exists(m_dir / "backups" / (".partial-" + id)));
  auto list = run_gate({"list", "--json"}, m_dir.path(), env());
  EXPECT_THAT(list.out, Not(HasSubstr("\"" + id + "\"")));
  auto again = run_gate({"fetch", "--remote", "offsite", id}, m_dir.path(), env());
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_TRUE(fs::exists(m_dir / "backups" / id / "manifest.json"));
}

TEST_F(RemoteRestore, RollbackFromTheRemoteAloneAfterBackupRootAndRecordAreGone) {
  auto &pg = PgServer::get();
  backed_up("rr_disaster");
  std::string orders = pg.value("rr_disaster", "SELECT count(*) FROM orders");
  std::string customers = pg.value("rr_disaster", "SELECT count(*) FROM customers");
  // A new host: pipeline.yml and credentials only.
  fs::remove_all(m_dir / "backups");
  fs::remove(m_dir / ".last-deployment-backup");
  pg.psql("rr_disaster", "DELETE FROM orders; DELETE FROM customers");
  auto dry =
      run_gate({"rollback", "--last", "--remote", "offsite", "--dry-run"}, m_dir.path(), env());
  EXPECT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_THAT(dry.out, HasSubstr("source: the copy on remote 'offsite'"));
  EXPECT_THAT(dry.out, HasSubstr("fetched into"));
  EXPECT_FALSE(fs::exists(m_dir / "backups")); // a dry run fetches nothing
  auto r = run_gate({"rollback", "--last", "--remote", "offsite", "--yes"}, m_dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(pg.value("rr_disaster", "SELECT count(*) FROM orders"), orders);
  EXPECT_EQ(pg.value("rr_disaster", "SELECT count(*) FROM customers"), customers);
  EXPECT_NE(orders, "0");
}

TEST_F(RemoteRestore, TheRollbackPlanSaysWhetherTheLocalOrTheRemoteCopyIsUsed) {
  std::string id = backed_up("rr_plan");
  auto local = run_gate({"rollback", "--last", "--dry-run"}, m_dir.path(), env());
  EXPECT_EQ(local.exit_code, 0) << local.all();
  EXPECT_THAT(local.out, HasSubstr("source: the local set"));
  auto forced = run_gate({"rollback", id, "--remote", "offsite", "--dry-run"}, m_dir.path(), env());
  EXPECT_EQ(forced.exit_code, 0) << forced.all();
  EXPECT_THAT(forced.out, HasSubstr("source: the copy on remote 'offsite'"));
  // The local copy gone, the recorded set comes from the remote without --remote.
  fs::remove_all(m_dir / "backups" / id);
  auto fallback = run_gate({"rollback", "--last", "--dry-run"}, m_dir.path(), env());
  EXPECT_EQ(fallback.exit_code, 0) << fallback.all();
  EXPECT_THAT(fallback.out, HasSubstr("source: the copy on remote 'offsite'"));
  EXPECT_THAT(fallback.all(), HasSubstr("using the copy on remote 'offsite'"));
  auto unknown =
      run_gate({"rollback", "--last", "--remote", "nowhere", "--dry-run"}, m_dir.path(), env());
  EXPECT_EQ(unknown.exit_code, 2) << unknown.all();
}

TEST_F(RemoteRestore, EveryDumpFormatIsReadBackThroughThePipesOfAFullVerify) {
  PgServer::get().create_database("rr_formats");
  fill_sample_database("rr_formats", 30);
  make_sample_tree(m_dir / "files", 3);
  std::string body = pipeline_body("rr_formats", "hosts/rr_formats");
  body.replace(body.find("\nvolumes:"), 0, "\n    formats: [custom, sql, directory, csv]");
  write_pipeline(m_dir.path(), body);
  auto run = run_gate({"run"}, m_dir.path(), env());
  ASSERT_EQ(run.exit_code, 0) << run.all();
  std::string id = newest_set(m_dir / "backups");
  auto full = run_gate({"verify", "--remote", "offsite", id}, m_dir.path(), env());
  EXPECT_EQ(full.exit_code, 0) << full.all();
  EXPECT_THAT(full.out, HasSubstr("verified (full)"));
  // A table's file inside the directory dump, changed in place on the remote.
  std::string table = file_in_set(id, "*.dat.gz");
  ASSERT_FALSE(table.empty());
  TempDir work;
  write_file(work / "bad", "not what pg_dump wrote\n");
  ASSERT_EQ(
      server().aws({"s3", "cp", (work / "bad").string(), uri("rr_formats", id, table)}).exit_code,
      0);
  auto damaged = run_gate({"verify", "--remote", "offsite", id}, m_dir.path(), env());
  EXPECT_EQ(damaged.exit_code, 1) << damaged.all();
  EXPECT_THAT(damaged.all(), HasSubstr(uri("rr_formats", id, table)));
}

TEST_F(RemoteRestore, ALocalSetThatFailsItsCheckGivesWayToTheRemoteCopy) {
  auto &pg = PgServer::get();
  std::string id = backed_up("rr_fallback");
  std::string orders = pg.value("rr_fallback", "SELECT count(*) FROM orders");
  std::string dump = file_in_set(id, "*.dump*");
  ASSERT_FALSE(dump.empty());
  ASSERT_EQ(sh("printf 'X' | dd of=backups/" + id + "/" + dump +
                   " bs=1 seek=100 conv=notrunc status=none",
               m_dir.path())
                .exit_code,
            0);
  pg.psql("rr_fallback", "DELETE FROM orders");
  auto r = run_gate({"rollback", "--last", "--yes"}, m_dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("fails its checksum"));
  EXPECT_THAT(r.out, HasSubstr("source: the copy on remote 'offsite'"));
  EXPECT_EQ(pg.value("rr_fallback", "SELECT count(*) FROM orders"), orders);
  // The good copy took the id; the damaged one is kept aside as a failed set.
  auto check = sh("sha256sum -c --quiet checksums.sha256", m_dir / "backups" / id);
  EXPECT_EQ(check.exit_code, 0) << check.all();
  EXPECT_EQ(sh("ls -a backups | grep -c '^.failed-" + id + "-replaced-'", m_dir.path()).out, "1\n");
}

TEST_F(RemoteRestore, LastOnASharedRemoteIsTheNewestSetOfThisProject) {
  PgServer::get().create_database("rr_shared");
  fill_sample_database("rr_shared", 10);
  make_sample_tree(m_dir / "files", 2);
  std::string body = pipeline_body("rr_shared", "shared");
  write_pipeline(m_dir.path(), "project: alpha\n" + body);
  ASSERT_EQ(run_gate({"run"}, m_dir.path(), env()).exit_code, 0);
  std::string alpha = newest_set(m_dir / "backups");
  // Another project on the same prefix writes a newer set.
  TempDir other;
  make_sample_tree(other / "files", 2);
  write_pipeline(other.path(), "project: beta\n" + body);
  auto beta = run_gate({"backup"}, other.path(), env());
  ASSERT_EQ(beta.exit_code, 0) << beta.all();
  auto list = run_gate({"list", "--remote", "offsite", "--json"}, m_dir.path(), env());
  EXPECT_THAT(list.out, HasSubstr(newest_set(other / "backups")));
  auto last = run_gate({"verify", "--remote", "offsite", "--last", "--quick"}, m_dir.path(), env());
  EXPECT_EQ(last.exit_code, 0) << last.all();
  EXPECT_THAT(last.out, HasSubstr("OK: set " + alpha + " on remote offsite"));
  write_pipeline(m_dir.path(), "project: gamma\n" + body);
  auto none = run_gate({"fetch", "--remote", "offsite", "--last"}, m_dir.path(), env());
  EXPECT_EQ(none.exit_code, 1) << none.all();
  EXPECT_THAT(none.all(), HasSubstr("no complete backup set of project 'gamma'"));
}

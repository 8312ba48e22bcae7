// Off-site copies on S3 (a real s3rver checking Signature V4): a verified set
// is copied to the bucket with manifest.json last and read back by `aws`; a
// required remote that refuses the copy fails the gate before the record is
// written; `gate list --remote` lists what the bucket holds.
#include "integration/harness.hpp"
#include "integration/s3_server.hpp"

#include <chrono>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr const char *k_offsite_bucket = "gate-offsite";

class Offsite : public S3Suite {
protected:
  static void SetUpTestSuite() { start_server(k_offsite_bucket); }

  // A database and a directory, copied to the remote `offsite`.
  void write_config(const std::string &db, const std::string &remote_extra = "") {
    PgServer::get().create_database(db);
    fill_sample_database(db, 25);
    make_sample_tree(m_dir / "files", 6);
    write_pipeline(m_dir.path(), "databases:\n  - name: app\n    url: " + PgServer::get().url(db) +
                                     "\nvolumes:\n  - name: files\n    path: ./files\n"
                                     "remotes:\n  - name: offsite\n    url: s3://" +
                                     k_offsite_bucket + "/hosts/" + db + "\n    endpoint: " +
                                     server().endpoint() + "\n" + remote_extra);
  }
};

} // namespace

TEST_F(Offsite, AVerifiedSetIsCopiedWholeAndAwsReadsBackWhatTheChecksumsSay) {
  write_config("off_copy");
  auto r = run_gate({"run"}, m_dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("copied to s3://gate-offsite/hosts/off_copy"));
  std::string id = newest_set(m_dir / "backups");
  std::string prefix = std::string("s3://") + k_offsite_bucket + "/hosts/off_copy/" + id + "/";
  auto ls = server().aws({"s3", "ls", "--recursive", prefix});
  EXPECT_THAT(ls.out, HasSubstr("manifest.json"));
  EXPECT_THAT(ls.out, HasSubstr("checksums.sha256"));
  // What the bucket holds is checked by other people's tools: aws downloads, sha256sum -c.
  TempDir down;
  auto cp = server().aws({"s3", "cp", "--recursive", prefix, down.path().string()});
  ASSERT_EQ(cp.exit_code, 0) << cp.all();
  auto check = sh("sha256sum -c --quiet checksums.sha256", down.path());
  EXPECT_EQ(check.exit_code, 0) << check.all();
  EXPECT_EQ(read_file(down / "checksums.sha256"),
            read_file(m_dir / "backups" / id / "checksums.sha256"));
  // No secret reaches the bucket.
  auto grep = sh("! grep -rqF -- '" + server().secret_access_key() + "' .", down.path());
  EXPECT_EQ(grep.exit_code, 0);
  auto list = run_gate({"list", "--remote", "offsite", "--json"}, m_dir.path(), env());
  EXPECT_EQ(list.exit_code, 0) << list.all();
  EXPECT_THAT(list.out, HasSubstr("\"" + id + "\""));
}

// A second client besides aws: rclone (Debian's), configured only through
// its environment (no config file, no secret on its command line), lists and
// copies a set of many objects (a directory dump's files, uploaded side by
// side) and every file passes `sha256sum -c`.
TEST_F(Offsite, RcloneListsAndCopiesASetOfManyObjectsThatSha256sumChecks) {
  PgServer::get().create_database("off_rclone");
  fill_sample_database("off_rclone", 25);
  make_sample_tree(m_dir / "files", 6);
  write_pipeline(m_dir.path(),
                 "databases:\n  - name: app\n    url: " + PgServer::get().url("off_rclone") +
                     "\n    formats: [custom, directory, csv]\n"
                     "volumes:\n  - name: files\n    path: ./files\n"
                     "remotes:\n  - name: offsite\n    url: s3://" +
                     k_offsite_bucket + "/hosts/off_rclone\n    endpoint: " + server().endpoint() +
                     "\n");
  auto r = run_gate({"run"}, m_dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  std::string id = newest_set(m_dir / "backups");
  auto local = sh("wc -l < checksums.sha256", m_dir / "backups" / id);
  ASSERT_GE(std::stoi(local.out), 8) << "a set of many objects";
  std::map<std::string, std::string> rclone_env{
      {"RCLONE_CONFIG", (m_dir / "no-rclone.conf").string()},
      {"AWS_CA_BUNDLE", ""}, // an https-only bundle a host may set breaks rclone over http
      {"RCLONE_CONFIG_GATES3_TYPE", "s3"},
      {"RCLONE_CONFIG_GATES3_PROVIDER", "Other"},
      {"RCLONE_CONFIG_GATES3_ENDPOINT", server().endpoint()},
      {"RCLONE_CONFIG_GATES3_REGION", "us-east-1"},
      {"RCLONE_CONFIG_GATES3_FORCE_PATH_STYLE", "true"},
      {"RCLONE_CONFIG_GATES3_ACCESS_KEY_ID", server().access_key_id()},
      {"RCLONE_CONFIG_GATES3_SECRET_ACCESS_KEY", server().secret_access_key()}};
  std::string remote = std::string("gates3:") + k_offsite_bucket + "/hosts/off_rclone/" + id;
  auto ls = run({"rclone", "lsf", "-R", "--files-only", remote}, m_dir.path(), rclone_env);
  ASSERT_EQ(ls.exit_code, 0) << "rclone (Debian package 'rclone') is needed: " << ls.all();
  EXPECT_THAT(ls.out, HasSubstr("manifest.json"));
  EXPECT_THAT(ls.out, HasSubstr("databases/app.dump.zst"));
  TempDir down;
  auto cp = run({"rclone", "copy", "--s3-no-check-bucket", remote, down.path().string()},
                m_dir.path(), rclone_env);
  ASSERT_EQ(cp.exit_code, 0) << cp.all();
  auto check = sh("sha256sum -c --quiet checksums.sha256 && wc -l < checksums.sha256", down.path());
  EXPECT_EQ(check.exit_code, 0) << check.all();
  EXPECT_EQ(check.out, local.out);
  EXPECT_EQ(read_file(down / "checksums.sha256"),
            read_file(m_dir / "backups" / id / "checksums.sha256"));
}

TEST_F(Offsite, ARequiredRemoteThatRefusesFailsTheGateBeforeTheRecord) {
  write_config("off_refused");
  auto wrong = env();
  wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret";
  auto r = run_gate({"run"}, m_dir.path(), wrong);
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("remote 'offsite' failed"));
  EXPECT_THAT(r.all(), Not(HasSubstr("not-the-secret")));
  EXPECT_FALSE(fs::exists(m_dir / ".last-deployment-backup"));
  // Nothing half-copied is listed on the remote.
  auto list = run_gate({"list", "--remote", "offsite", "--json"}, m_dir.path(), env());
  EXPECT_EQ(list.exit_code, 0) << list.all();
  EXPECT_THAT(list.out, HasSubstr("[]"));
  auto unknown = run_gate({"list", "--remote", "elsewhere"}, m_dir.path(), env());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.all(), HasSubstr("remotes: offsite"));
}

TEST_F(Offsite, AnOptionalRemoteThatRefusesIsAWarningAndTheSetIsRecorded) {
  write_config("off_optional", "    required: false\n");
  auto wrong = env();
  wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret";
  auto r = run_gate({"run"}, m_dir.path(), wrong);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("required: false"));
  EXPECT_TRUE(fs::exists(m_dir / ".last-deployment-backup"));
}

// kill -9 in the middle of an upload: the remote lists no part of that set,
// the record still names the last good one, and the next run copies whole.
TEST_F(Offsite, AGateKilledMidUploadLeavesNoUsableRemoteSetAndTheNextRunSucceeds) {
  write_config("off_killed");
  ASSERT_EQ(run_gate({"run"}, m_dir.path(), env()).exit_code, 0);
  std::string good = newest_set(m_dir / "backups");
  std::string record = read_file(m_dir / ".last-deployment-backup");
  auto gate = start_gate_at_fault({"run"}, m_dir.path(), "offsite.after-object", env());
  ::kill(gate->pid(), SIGKILL);
  (void)gate->wait();
  std::string killed = newest_set(m_dir / "backups");
  ASSERT_NE(killed, good);
  EXPECT_EQ(read_file(m_dir / ".last-deployment-backup"), record);
  auto objects =
      server().aws({"s3", "ls", "--recursive",
                    std::string("s3://") + k_offsite_bucket + "/hosts/off_killed/" + killed + "/"});
  EXPECT_THAT(objects.out, Not(HasSubstr("manifest.json"))) << objects.all();
  EXPECT_NE(objects.out, "") << "the fault point comes after an object was uploaded";
  auto list = run_gate({"list", "--remote", "offsite", "--json"}, m_dir.path(), env());
  EXPECT_EQ(list.exit_code, 0) << list.all();
  EXPECT_THAT(list.out, HasSubstr("\"" + good + "\""));
  EXPECT_THAT(list.out, Not(HasSubstr("\"" + killed + "\"")));
  auto next = run_gate({"run"}, m_dir.path(), env());
  ASSERT_EQ(next.exit_code, 0) << next.all();
  std::string newest = newest_set(m_dir / "backups");
  auto after = run_gate({"list", "--remote", "offsite", "--json"}, m_dir.path(), env());
  EXPECT_THAT(after.out, HasSubstr("\"" + newest + "\""));
  EXPECT_THAT(read_file(m_dir / ".last-deployment-backup"), HasSubstr(newest));
}

namespace {

// Remotes `offsite` and `second` (its own bucket on the same server).
std::string two_remotes(const std::string &db, const std::string &endpoint,
                        const std::string &second_extra) {
  return "remotes:\n  - name: offsite\n    url: s3://" + std::string(k_offsite_bucket) + "/hosts/" +
         db + "\n    endpoint: " + endpoint +
         "\n  - name: second\n    url: s3://gate-second/hosts/" + db +
         "\n    endpoint: " + endpoint + "\n" + second_extra;
}

} // namespace

// Two remotes are written side by side: while one remote's upload is held at
// a fault point (after its first object), the other commits its whole set;
// then the first completes too, and each bucket holds a set aws reads back.
TEST_F(Offsite, TwoRemotesAreWrittenSideBySideAndBothGetCompleteSets) {
  ASSERT_EQ(server().aws({"s3", "mb", "s3://gate-second"}).exit_code, 0);
  PgServer::get().create_database("off_two");
  fill_sample_database("off_two", 25);
  make_sample_tree(m_dir / "files", 6);
  write_pipeline(m_dir.path(),
                 "databases:\n  - name: app\n    url: " + PgServer::get().url("off_two") +
                     "\nvolumes:\n  - name: files\n    path: ./files\n" +
                     two_remotes("off_two", server().endpoint(), ""));
  auto e = env();
  fs::path resume = m_dir / ".resume";
  e["GATE_FAULT_RESUME"] = resume.string();
  auto gate = start_gate_at_fault({"run"}, m_dir.path(), "offsite.after-object", e);
  // One remote's upload waits at the point; the other is not held up by it.
  std::string early = read_output_until(
      *gate, [](const std::string &out) { return out.find("and confirmed") != std::string::npos; },
      std::chrono::seconds(60));
  EXPECT_THAT(early, HasSubstr("and confirmed")) << "no remote finished while one waited";
  write_file(resume, "");
  auto r = finish_gate(*gate);
  ASSERT_EQ(r.exit_code, 0) << early << r.all();
  std::string all = early + r.out;
  EXPECT_THAT(all, HasSubstr("[ok] copy to offsite"));
  EXPECT_THAT(all, HasSubstr("[ok] copy to second"));
  std::string id = newest_set(m_dir / "backups");
  for (const std::string bucket : {k_offsite_bucket, "gate-second"}) {
    TempDir down;
    auto cp = server().aws({"s3", "cp", "--recursive",
                            "s3://" + bucket + "/hosts/off_two/" + id + "/", down.path().string()});
    ASSERT_EQ(cp.exit_code, 0) << cp.all();
    EXPECT_TRUE(fs::exists(down / "manifest.json")) << bucket;
    auto check = sh("sha256sum -c --quiet checksums.sha256", down.path());
    EXPECT_EQ(check.exit_code, 0) << bucket << ": " << check.all();
  }
  std::string record = read_file(m_dir / ".last-deployment-backup");
  EXPECT_THAT(record, HasSubstr("\"offsite\""));
  EXPECT_THAT(record, HasSubstr("\"second\""));
}

// An optional remote that fails (its bucket does not exist) does not stop the
// other, which gets its whole set; the run passes with a warning naming it.
TEST_F(Offsite, AnOptionalRemoteFailingDoesNotStopTheOther) {
  PgServer::get().create_database("off_two_opt");
  fill_sample_database("off_two_opt", 25);
  make_sample_tree(m_dir / "files", 6);
  std::string remotes = two_remotes("off_two_opt", server().endpoint(), "    required: false\n");
  size_t at = remotes.find("s3://gate-second/");
  remotes.replace(at, std::string("s3://gate-second/").size(), "s3://gate-no-such-bucket/");
  write_pipeline(m_dir.path(),
                 "databases:\n  - name: app\n    url: " + PgServer::get().url("off_two_opt") +
                     "\nvolumes:\n  - name: files\n    path: ./files\n" + remotes);
  auto r = run_gate({"run"}, m_dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("remote 'second' failed"));
  EXPECT_THAT(r.all(), HasSubstr("gate-no-such-bucket"));
  EXPECT_THAT(r.all(), HasSubstr("[ok] copy to offsite"));
  std::string id = newest_set(m_dir / "backups");
  auto ls =
      server().aws({"s3", "ls", "--recursive",
                    std::string("s3://") + k_offsite_bucket + "/hosts/off_two_opt/" + id + "/"});
  EXPECT_THAT(ls.out, HasSubstr("manifest.json"));
  std::string record = read_file(m_dir / ".last-deployment-backup");
  EXPECT_THAT(record, HasSubstr("\"offsite\""));
  EXPECT_THAT(record, Not(HasSubstr("\"second\"")));
}

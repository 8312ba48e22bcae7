// Writing and keeping sets on a remote (a real s3rver checking Signature V4,
// read back with Debian's aws CLI): every object confirmed before the
// manifest, the record naming the confirmed copies, an optional remote's
// failure alerted, retention on the remote with the local floors and only
// over this host's sets, the multipart sweep, a backup-only key's
// AccessDenied (through a proxy that refuses deletes, since s3rver cannot),
// and TLS with a private CA (through a TLS-terminating proxy).
#include "integration/harness.hpp"
#include "integration/s3_proxy.hpp"
#include "integration/s3_server.hpp"
#include "model/set_id.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr const char *k_ops_bucket = "gate-remote-ops";

std::string our_tag() {
  return gate::model::host_tag(gate::util::host_name());
}

// One server for the suite, started on first use, stopped when the tests exit.
S3Server &server() {
  static S3Server shared({k_ops_bucket});
  return shared;
}

class RemoteOps : public ::testing::Test {
protected:
  // A directory backed up and copied to the remote `offsite` under hosts/NAME.
  void write_config(const std::string &name, const std::string &remote_extra = "",
                    const std::string &endpoint = "", const std::string &top_extra = "") {
    m_name = name;
    if (!fs::exists(m_dir / "files")) make_sample_tree(m_dir / "files", 6);
    write_pipeline(m_dir.path(),
                   "volumes:\n  - name: files\n    path: ./files\n"
                   "remotes:\n  - name: offsite\n    url: s3://" +
                       std::string(k_ops_bucket) + "/hosts/" + name +
                       "\n    endpoint: " + (endpoint.empty() ? server().endpoint() : endpoint) +
                       "\n" + remote_extra + top_extra);
  }
  std::map<std::string, std::string> env() const {
    return {{"AWS_ACCESS_KEY_ID", server().access_key_id()},
            {"AWS_SECRET_ACCESS_KEY", server().secret_access_key()}};
  }
  std::string prefix() const {
    return std::string("s3://") + k_ops_bucket + "/hosts/" + m_name + "/";
  }
  // The set ids the prefix holds (aws s3 ls: "PRE id/" lines).
  std::set<std::string> remote_ids() {
    auto ls = server().aws({"s3", "ls", prefix()});
    std::set<std::string> ids;
    std::istringstream lines(ls.out);
    for (std::string line; std::getline(lines, line);)
      if (auto at = line.find("PRE "); at != std::string::npos)
        ids.insert(line.substr(at + 4, line.size() - at - 5));
    return ids;
  }
  CommandResult gate_run() {
    auto r = run_gate({"run"}, m_dir.path(), env());
    EXPECT_EQ(r.exit_code, 0) << r.all();
    return r;
  }
  // Files of the server's data directory whose path contains `part`, made three days old.
  void age_objects(const std::string &part) {
    auto touched = sh("find . -path '*" + part + "*' -exec touch -d '3 days ago' {} +",
                      server().data_dir() / "data");
    ASSERT_EQ(touched.exit_code, 0) << touched.all();
  }
  // A small object at prefix()/KEY, uploaded by aws.
  void put_object(const std::string &key) {
    write_file(m_dir / "object", "x\n");
    auto cp = server().aws({"s3", "cp", (m_dir / "object").string(), prefix() + key});
    ASSERT_EQ(cp.exit_code, 0) << cp.all();
  }

  TempDir m_dir;
  std::string m_name;
};

// The verdict of a --json command: its last JSON line.
nlohmann::json json_of(const std::string &text) {
  std::istringstream lines(text);
  nlohmann::json last;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] == '{') last = nlohmann::json::parse(line);
  return last;
}

} // namespace

TEST_F(RemoteOps, TheRecordNamesTheConfirmedCopyAndShowPrintsTheAwsCommandThatFetchesIt) {
  write_config("record");
  auto r = gate_run();
  std::string id = newest_set(m_dir / "backups");
  // Ids of a pipeline with remotes carry the host's tag: hosts sharing a prefix cannot collide.
  EXPECT_TRUE(gate::model::id_has_host_tag(id, our_tag())) << id;
  // Not a terminal: one line per object uploaded.
  EXPECT_THAT(r.all(), HasSubstr("offsite: gate.log ("));
  EXPECT_THAT(r.all(), HasSubstr("uploaded, 1/"));
  EXPECT_THAT(r.all(), HasSubstr("and confirmed"));
  auto record = nlohmann::json::parse(read_file(m_dir / ".last-deployment-backup"));
  ASSERT_EQ(record["remotes"].size(), 1u) << record.dump();
  EXPECT_EQ(record["remotes"][0]["name"], "offsite");
  EXPECT_EQ(record["remotes"][0]["url"], prefix() + id + "/");
  EXPECT_FALSE(record["remotes"][0].value("confirmed_at", "").empty());
  auto show = run_gate({"show", id}, m_dir.path(), env());
  ASSERT_EQ(show.exit_code, 0) << show.all();
  std::string command = "aws s3 cp --recursive --endpoint-url '" + server().endpoint() + "' '" +
                        prefix() + id + "/' './" + id + "/'";
  ASSERT_THAT(show.out, HasSubstr(command));
  // The command as printed works, and what it fetches passes its checksums.
  TempDir down;
  auto env = server().aws_env();
  env["PATH"] = "/usr/bin:/bin";
  auto fetched =
      sh(command + " >/dev/null && cd " + id + " && sha256sum -c --quiet checksums.sha256",
         down.path(), env);
  EXPECT_EQ(fetched.exit_code, 0) << fetched.all();
}

TEST_F(RemoteOps, AnObjectTheServerDescribesWronglyKeepsTheManifestOffAndFailsTheGate) {
  S3Proxy proxy(server().port(), {.short_head_key = "/gate.log"});
  write_config("confirm", "", proxy.endpoint());
  auto r = run_gate({"run"}, m_dir.path(), env());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("'gate.log' of set"));
  EXPECT_THAT(r.all(), HasSubstr("bytes, "));
  EXPECT_FALSE(fs::exists(m_dir / ".last-deployment-backup"));
  auto ls = server().aws({"s3", "ls", "--recursive", prefix()});
  EXPECT_THAT(ls.out, Not(HasSubstr("manifest.json")));
}

TEST_F(RemoteOps, AnOptionalRemoteThatFailsIsAWarningAndAnAlertNamingIt) {
  write_config("optional", "    required: false\n", "",
               "alerts:\n  - {command: ['sh', '-c', 'cat > alert.json'], on: [failure]}\n");
  auto wrong = env();
  wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret";
  auto r = run_gate({"run"}, m_dir.path(), wrong);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr("remote 'offsite' failed"));
  auto alert = nlohmann::json::parse(read_file(m_dir / "alert.json"));
  EXPECT_EQ(alert["event"], "offsite_failed");
  EXPECT_EQ(alert["remote"]["name"], "offsite");
  EXPECT_THAT(alert["verdict"].get<std::string>(), HasSubstr("remote 'offsite'"));
  EXPECT_THAT(alert.dump(), Not(HasSubstr("not-the-secret")));
  auto record = nlohmann::json::parse(read_file(m_dir / ".last-deployment-backup"));
  EXPECT_TRUE(record["remotes"].empty());
}

TEST_F(RemoteOps, RetentionOnTheRemoteAfterEachRunConsidersOnlyThisHostsSets) {
  write_config("keep", "    retention: {keep_last: 1}\n");
  gate_run();
  // Another host's complete set and upload cut short, and one of ours, all three days old.
  std::string first = newest_set(m_dir / "backups");
  std::string theirs = "pre-deployment-other-host-20200101_000000";
  TempDir copy;
  ASSERT_EQ(sh("cp -r " + (m_dir / "backups" / first).string() + " " + theirs +
                   " && sed -i 's/\"host\": \"[^\"]*\"/\"host\": \"other-host\"/;"
                   "s/\"id\": \"[^\"]*\"/\"id\": \"" +
                   theirs + "\"/' " + theirs + "/manifest.json",
               copy.path())
                .exit_code,
            0);
  ASSERT_EQ(server()
                .aws({"s3", "cp", "--recursive", (copy / theirs).string(), prefix() + theirs + "/"})
                .exit_code,
            0);
  std::string their_cut = "pre-deployment-other-host-20200102_000000";
  std::string our_cut = "pre-deployment-" + our_tag() + "-20200103_000000";
  put_object(their_cut + "/gate.log");
  put_object(our_cut + "/gate.log");
  age_objects("2020010");
  gate_run();
  auto r = gate_run();
  std::string newest = newest_set(m_dir / "backups");
  auto ids = remote_ids();
  EXPECT_EQ(ids, (std::set<std::string>{newest, theirs, their_cut})) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("from remote 'offsite'"));
  // Local sets are the local policy's business: none here, all three stay.
  EXPECT_TRUE(fs::exists(m_dir / "backups" / first));
}

TEST_F(RemoteOps, PruneRemoteDryRunRemovesNothingAndTheRecordAndNewestAreNeverRemoved) {
  write_config("floors");
  for (int i = 0; i < 3; ++i)
    gate_run();
  auto before = remote_ids();
  ASSERT_EQ(before.size(), 3u);
  std::string oldest = *before.begin(), newest = *before.rbegin();
  std::string middle = *std::next(before.begin());
  // The record names the oldest set (a deploy rolled back to it, say).
  auto record = nlohmann::json::parse(read_file(m_dir / ".last-deployment-backup"));
  record["id"] = oldest;
  write_file(m_dir / ".last-deployment-backup", record.dump(2));
  write_config("floors", "    retention: {keep_last: 1}\n");
  auto dry = run_gate({"prune", "--remote", "offsite", "--dry-run"}, m_dir.path(), env());
  ASSERT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_THAT(dry.all(), HasSubstr("would remove set " + middle + " from remote 'offsite'"));
  EXPECT_THAT(dry.all(), Not(HasSubstr("would remove set " + oldest + " ")));
  EXPECT_THAT(dry.all(), HasSubstr("keep " + oldest + " (protected)"));
  EXPECT_EQ(remote_ids(), before);
  auto pruned = run_gate({"prune", "--remote", "offsite", "--json"}, m_dir.path(), env());
  ASSERT_EQ(pruned.exit_code, 0) << pruned.all();
  EXPECT_EQ(json_of(pruned.out)["removed"], nlohmann::json::array({middle}));
  EXPECT_EQ(remote_ids(), (std::set<std::string>{oldest, newest}));
  // No policy at all: a clear configuration error.
  write_config("floors");
  auto none = run_gate({"prune", "--remote", "offsite"}, m_dir.path(), env());
  EXPECT_EQ(none.exit_code, 2) << none.all();
  EXPECT_THAT(none.all(), HasSubstr("no retention policy for remote 'offsite'"));
}

// Only this host's stale uploads are swept: another host's are its own gate's.
TEST_F(RemoteOps, PruneRemoteAbortsThisHostsMultipartUploadsOverADayOldUnderThePrefix) {
  write_config("sweep", "    retention: {keep_last: 2}\n");
  gate_run();
  auto start = [&](const std::string &key) {
    auto made = server().aws({"s3api", "create-multipart-upload", "--bucket", k_ops_bucket, "--key",
                              "hosts/sweep/" + key, "--query", "UploadId", "--output", "text"});
    EXPECT_EQ(made.exit_code, 0) << made.all();
    std::string id = made.out.substr(0, made.out.find_last_not_of(" \n") + 1);
    return id;
  };
  std::string ours = "scheduled-" + our_tag() + "-20261101_101010/big.tar";
  std::string theirs = "scheduled-" + our_tag() + "x-20261101_101010/big.tar";
  std::string old_id = start(ours), other_id = start(theirs),
              untagged_id = start("left-behind/big.tar"),
              fresh_id = start("scheduled-" + our_tag() + "-20261102_101010/big.tar");
  for (const auto &id : {old_id, other_id, untagged_id})
    age_objects(id);
  auto r = run_gate({"prune", "--remote", "offsite", "--json"}, m_dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(json_of(r.out)["aborted_uploads"], nlohmann::json::array({"hosts/sweep/" + ours}));
  auto listed = server().aws(
      {"s3api", "list-multipart-uploads", "--bucket", k_ops_bucket, "--prefix", "hosts/sweep/"});
  EXPECT_THAT(listed.out, Not(HasSubstr(old_id)));
  EXPECT_THAT(listed.out, HasSubstr(other_id));
  EXPECT_THAT(listed.out, HasSubstr(untagged_id));
  EXPECT_THAT(listed.out, HasSubstr(fresh_id));
}

// s3rver has no policies: a proxy that answers 403 AccessDenied to every
// delete stands for a backup-only key.
TEST_F(RemoteOps, AccessDeniedOnDeleteIsAWarningNamingTheRemoteNotAFailure) {
  S3Proxy proxy(server().port(), {.deny_deletes = true});
  write_config("denied", "    retention: {keep_last: 1}\n", proxy.endpoint());
  gate_run();
  auto r = gate_run();
  EXPECT_THAT(r.err, HasSubstr("remote 'offsite'"));
  EXPECT_THAT(r.err, HasSubstr("AccessDenied on delete"));
  EXPECT_GT(proxy.denied(), 0);
  EXPECT_EQ(remote_ids().size(), 2u);
  auto prune = run_gate({"prune", "--remote", "offsite"}, m_dir.path(), env());
  EXPECT_EQ(prune.exit_code, 0) << prune.all();
  EXPECT_THAT(prune.all(), HasSubstr("AccessDenied on delete"));
  EXPECT_EQ(remote_ids().size(), 2u);
}

TEST_F(RemoteOps, AnHttpsEndpointOfAPrivateCaNeedsCaFileAndTheErrorSaysSo) {
  TempDir certs;
  make_private_ca(certs.path());
  S3Proxy proxy(server().port(),
                {.cert_file = certs / "server.pem", .key_file = certs / "server.key"});
  write_config("tls", "", proxy.endpoint());
  auto refused = run_gate({"run"}, m_dir.path(), env());
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_THAT(refused.all(), HasSubstr("TLS certificate verification failed"));
  EXPECT_THAT(refused.all(), HasSubstr("ca_file"));
  EXPECT_FALSE(fs::exists(m_dir / ".last-deployment-backup"));
  write_config("tls", "    ca_file: " + (certs / "ca.pem").string() + "\n", proxy.endpoint());
  gate_run();
  EXPECT_EQ(remote_ids().size(), 1u);
}

// On a terminal (a real pty, from script(1)) the copy is a progress line with
// bytes and rate, not a line per object.
TEST_F(RemoteOps, OnATerminalTheCopyShowsProgressInsteadOfALinePerObject) {
  // 48 MiB that do not compress: an upload long enough for the progress line to show.
  make_sample_tree(m_dir / "files", 6);
  ASSERT_EQ(sh("head -c 50331648 /dev/urandom > files/random.bin", m_dir.path()).exit_code, 0);
  write_config("tty");
  auto r = sh("script -qec " + gate::util::shell_quote(gate_binary() + " run") + " /dev/null",
              m_dir.path(), env());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.out,
              testing::ContainsRegex("copy to offsite [0-9.]+ [KMG]?i?B [0-9.]+ [KMG]?i?B/s"));
  EXPECT_THAT(r.out, Not(HasSubstr("uploaded, 1/")));
  EXPECT_EQ(remote_ids().size(), 1u);
}

// A copy given up with a key that may not delete: what stays has no
// manifest.json, is never listed, and the warning says so.
TEST_F(RemoteOps, AnAbandonedCopyThatMayNotBeDeletedIsNeverListedAndSaysSo) {
  S3Proxy proxy(server().port(), {.deny_deletes = true, .short_head_key = "/gate.log"});
  write_config("abandoned", "", proxy.endpoint());
  auto r = run_gate({"run"}, m_dir.path(), env());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.err, HasSubstr("AccessDenied"));
  EXPECT_THAT(r.err, HasSubstr("has no manifest.json: it is never listed"));
  auto list = run_gate({"list", "--remote", "offsite", "--json"}, m_dir.path(), env());
  EXPECT_EQ(list.exit_code, 0) << list.all();
  EXPECT_THAT(list.out, HasSubstr("[]"));
  EXPECT_EQ(remote_ids().size(), 1u); // the objects are there, without a manifest
}

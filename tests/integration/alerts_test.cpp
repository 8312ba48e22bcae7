// Alerts and CI outputs against a real HTTP server on loopback: payloads,
// HMAC signatures checked with openssl, Slack text, retries, unreachable
// receivers, JUnit read by Python's XML parser, GitHub Actions files.
#include "integration/harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <csignal>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// A webhook receiver: records every request; answers the statuses queued
// (then 200).
class Receiver {
public:
  Receiver() {
    m_server.Post(R"(/.*)", [this](const httplib::Request &req, httplib::Response &res) {
      std::lock_guard lock(m_mutex);
      m_bodies.push_back(req.body);
      m_signatures.push_back(req.get_header_value("X-Gate-Signature"));
      m_paths.push_back(req.path + (req.params.empty() ? "" : "?"));
      int status = 200;
      if (!m_statuses.empty()) {
        status = m_statuses.front();
        m_statuses.erase(m_statuses.begin());
      }
      res.status = status;
      res.set_content("{}", "application/json");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~Receiver() {
    m_server.stop();
    m_thread.join();
  }
  std::string url(const std::string &path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  void answer(std::vector<int> statuses) { m_statuses = std::move(statuses); }
  std::vector<std::string> bodies() {
    std::lock_guard lock(m_mutex);
    return m_bodies;
  }
  std::vector<std::string> signatures() {
    std::lock_guard lock(m_mutex);
    return m_signatures;
  }

private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  std::mutex m_mutex;
  std::vector<std::string> m_bodies, m_signatures, m_paths;
  std::vector<int> m_statuses;
};

const char *k_secret = "hmac-Secret-42";
const char *k_token = "tok-SuperSecret-77";

} // namespace

TEST(Alerts, FailureWebhookCarriesTheFactsAndAVerifiableSignature) {
  Receiver receiver;
  TempDir t;
  write_pipeline(
      t.path(),
      "project: shop\nenvironment: prod\nvolumes:\n  - {name: data, path: ./missing}\nalerts:\n"
      "  - webhook: " +
          receiver.url("/hook?token=" + std::string(k_token)) + "\n    secret: " + k_secret +
          "\n    on: [failure]\n");
  auto r = run_gate({"--verbose", "run"}, t.path());
  EXPECT_EQ(r.exit_code, 1);
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1u) << r.all();
  auto p = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(p["project"], "shop");
  EXPECT_EQ(p["environment"], "prod");
  EXPECT_EQ(p["event"], "failure");
  EXPECT_EQ(p["ok"], false);
  EXPECT_EQ(p["failed"]["stage"], "preflight");
  EXPECT_THAT(p["failed"]["reason"].get<std::string>(), HasSubstr("missing"));
  EXPECT_FALSE(p["host"].get<std::string>().empty());
  EXPECT_FALSE(p["gate_version"].get<std::string>().empty());
  // The signature, checked by a tool nobody here wrote.
  write_file(t / "body", bodies[0]);
  auto mac = sh("openssl dgst -sha256 -hmac \"$KEY\" -r body | cut -d' ' -f1", t.path(),
                {{"KEY", k_secret}});
  std::string expected = mac.out.substr(0, mac.out.find('\n'));
  EXPECT_EQ(receiver.signatures()[0], "sha256=" + expected);
  // No secret anywhere: body, output.
  EXPECT_THAT(bodies[0], Not(HasSubstr(k_token)));
  EXPECT_THAT(bodies[0], Not(HasSubstr(k_secret)));
  EXPECT_THAT(r.all(), Not(HasSubstr(k_token)));
  EXPECT_THAT(r.all(), Not(HasSubstr(k_secret)));
}

TEST(Alerts, SlackFormatRetriesAndSuccessEvents) {
  Receiver receiver;
  receiver.answer({500, 502});
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), "project: shop\nvolumes:\n  - {name: data, path: ./data}\nalerts:\n"
                           "  - {webhook: '" +
                               receiver.url("/slack") +
                               "', format: slack, on: [success], retries: 3}\n");
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 3u); // 500, 502, then 200
  auto slack = nlohmann::json::parse(bodies.back());
  EXPECT_THAT(slack["text"].get<std::string>(), HasSubstr("gate run passed on shop"));
  EXPECT_THAT(slack["text"].get<std::string>(), HasSubstr("pre-deployment-"));
}

TEST(Alerts, AnUnreachableReceiverNeverChangesTheVerdict) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  // A Slack-style URL: the token is the path.
  write_pipeline(
      t.path(),
      "volumes:\n  - {name: data, path: ./data}\nalerts:\n"
      "  - {webhook: 'http://127.0.0.1:1/services/T000/B000/PathToken123', on: [success, failure], "
      "retries: 1, timeout: 1s}\n");
  auto r = run_gate({"--verbose", "run"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr("alert to http://127.0.0.1:1/… not delivered"));
  EXPECT_THAT(r.all(), Not(HasSubstr("PathToken123")));
}

TEST(Alerts, CommandAlertsGetTheJsonOnStdin) {
  TempDir t;
  write_pipeline(t.path(), "volumes:\n  - {name: data, path: ./missing}\nalerts:\n"
                           "  - {command: ['sh', '-c', 'cat > alert.json'], on: [failure]}\n");
  EXPECT_EQ(run_gate({"run"}, t.path()).exit_code, 1);
  auto p = nlohmann::json::parse(read_file(t / "alert.json"));
  EXPECT_EQ(p["event"], "failure");
}

// A receiver that accepts the connection and never answers: a signal during
// delivery stops it at once and gate exits 130.
TEST(Alerts, ASignalDuringDeliveryToAServerThatNeverAnswersEndsGateAt130) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  TempDir t;
  write_pipeline(
      t.path(),
      "volumes:\n  - {name: data, path: ./missing}\nalerts:\n  - {webhook: 'http://127.0.0.1:" +
          std::to_string(ntohs(addr.sin_port)) + "/hook', timeout: 60s, retries: 3}\n");
  auto run = start_gate({"run"}, t.path());
  int accepted = ::accept(listener, nullptr, nullptr); // gate is sending the failure alert now
  ASSERT_GE(accepted, 0);
  ::kill(run->pid(), SIGINT);
  auto done = finish_gate(*run);
  EXPECT_EQ(done.exit_code, 130) << done.all();
  EXPECT_THAT(done.out, HasSubstr("INTERRUPTED while sending alerts"));
  EXPECT_THAT(done.err, HasSubstr("not sent: interrupted"));
  ::close(accepted);
  ::close(listener);
}

// The interrupt that ends a run must not also stop the alert about it.
TEST(Alerts, AnInterruptedRunStillRunsItsCommandAlert) {
  TempDir t;
  make_sample_tree(t / "data", 2);
  ASSERT_EQ(::mkfifo((t / "ready").c_str(), 0600), 0);
  write_pipeline(
      t.path(),
      "volumes:\n  - {name: data, path: ./data}\nalerts:\n"
      "  - {command: ['sh', '-c', 'cat > alert.json'], on: [failure]}\n"
      "stages:\n  - name: backup\n    steps: [{backup: all}]\n"
      "  - name: hold\n    steps: [{exec: ['sh', '-c', 'echo go > ready; exec sleep 600']}]\n");
  auto run = start_gate({"run"}, t.path());
  EXPECT_EQ(read_file(t / "ready"), "go\n"); // the run is in its last stage
  ::kill(run->pid(), SIGINT);
  auto done = finish_gate(*run);
  EXPECT_EQ(done.exit_code, 130) << done.all();
  auto p = nlohmann::json::parse(read_file(t / "alert.json"));
  EXPECT_EQ(p["event"], "failure");
  EXPECT_THAT(p.dump(), HasSubstr("interrupted"));
}

TEST(CiOutputs, JunitGithubDotenvAndMetrics) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(
      t.path(),
      "project: shop\nmetrics_file: ./gate.prom\nvolumes:\n  - {name: data, path: ./data}\n");
  std::map<std::string, std::string> env{{"GITHUB_ACTIONS", "true"},
                                         {"GITHUB_STEP_SUMMARY", (t / "summary.md").string()},
                                         {"GITHUB_OUTPUT", (t / "output.txt").string()}};
  auto ok = run_gate({"run", "--junit", "report.xml", "--dotenv", "gate.env"}, t.path(), env);
  ASSERT_EQ(ok.exit_code, 0) << ok.all();
  auto xml =
      sh("python3 -c \"import xml.etree.ElementTree as E; r = E.parse('report.xml').getroot(); "
         "print(r.get('tests'), r.get('failures'), len(r.iter('testcase').__next__().attrib))\"",
         t.path());
  EXPECT_EQ(xml.exit_code, 0) << xml.all();
  EXPECT_EQ(xml.out.substr(0, 4), "5 0 ");
  std::string id = newest_set(t / "backups");
  EXPECT_THAT(read_file(t / "output.txt"), HasSubstr("backup_id=" + id));
  EXPECT_THAT(read_file(t / "output.txt"),
              HasSubstr("backup_path=" + (t / "backups" / id).string()));
  EXPECT_THAT(read_file(t / "summary.md"), HasSubstr("### gate run: passed"));
  EXPECT_THAT(read_file(t / "gate.env"), HasSubstr("GATE_BACKUP_ID=" + id));
  std::string prom = read_file(t / "gate.prom");
  EXPECT_THAT(
      prom,
      HasSubstr("gate_last_run_success{project=\"shop\",environment=\"\",command=\"run\"} 1"));

  write_pipeline(
      t.path(),
      "project: shop\nmetrics_file: ./gate.prom\nvolumes:\n  - {name: data, path: ./missing}\n");
  auto bad = run_gate({"run", "--junit", "report.xml"}, t.path(), env);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.out, HasSubstr("::error title=gate run::FAILED"));
  auto failures =
      sh("python3 -c \"import xml.etree.ElementTree as E; r = E.parse('report.xml').getroot(); "
         "print(r.get('failures'), r.find('.//failure').get('message')[:40])\"",
         t.path());
  EXPECT_THAT(failures.out, HasSubstr("1 volume 'data': unable to read"));
  std::string prom2 = read_file(t / "gate.prom");
  EXPECT_THAT(
      prom2,
      HasSubstr("gate_last_run_success{project=\"shop\",environment=\"\",command=\"run\"} 0"));
  // The last success time survives the failed run.
  auto success_line = [](const std::string &text) {
    size_t pos = text.find("gate_last_success_timestamp_seconds{");
    return text.substr(pos, text.find('\n', pos) - pos);
  };
  EXPECT_EQ(success_line(prom2), success_line(prom));
}

TEST(Alerts, HttpsVerifiesTheServerAndAcceptsACustomCa) {
  TempDir t;
  auto cert = sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 "
                 "-subj /CN=127.0.0.1 "
                 "-addext subjectAltName=IP:127.0.0.1 2>/dev/null",
                 t.path());
  ASSERT_EQ(cert.exit_code, 0) << cert.all();
  httplib::SSLServer server((t / "cert.pem").c_str(), (t / "key.pem").c_str());
  std::atomic<int> received{0};
  server.Post("/hook", [&](const httplib::Request &, httplib::Response &res) {
    ++received;
    res.status = 204;
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  make_sample_tree(t / "data", 2);
  std::string url = "https://127.0.0.1:" + std::to_string(port) + "/hook";
  write_pipeline(t.path(), "volumes:\n  - {name: data, path: ./data}\nalerts:\n  - {webhook: '" +
                               url + "', on: [success], retries: 0}\n");
  auto untrusted = run_gate({"run"}, t.path());
  EXPECT_EQ(untrusted.exit_code, 0);
  EXPECT_THAT(untrusted.err, HasSubstr("not delivered"));
  EXPECT_EQ(received.load(), 0);
  write_pipeline(t.path(), "volumes:\n  - {name: data, path: ./data}\nalerts:\n  - {webhook: '" +
                               url + "', on: [success], retries: 0, ca_file: ./cert.pem}\n");
  auto trusted = run_gate({"run"}, t.path());
  EXPECT_EQ(trusted.exit_code, 0) << trusted.all();
  EXPECT_EQ(received.load(), 1) << trusted.all();
  server.stop();
  thread.join();
}

TEST(Alerts, EveryRollbackSendsARollbackEvent) {
  Receiver receiver;
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), "project: shop\nvolumes:\n  - {name: data, path: ./data}\nalerts:\n"
                           "  - {webhook: '" +
                               receiver.url("/hook") + "'}\n"); // default on: [failure, rollback]
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string id = newest_set(t / "backups");
  EXPECT_TRUE(receiver.bodies().empty()); // success is not in the default events
  auto r = run_gate({"rollback", "--last", "--yes", "--dotenv", "rollback.env"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  auto p = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(p["event"], "rollback");
  EXPECT_EQ(p["command"], "rollback");
  EXPECT_EQ(p["ok"], true);
  EXPECT_EQ(p["rollback"]["set"], id);
  EXPECT_THAT(p["rollback"]["safety_snapshot"].get<std::string>(), HasSubstr("pre-rollback-"));
  EXPECT_THAT(read_file(t / "rollback.env"), HasSubstr("GATE_VERDICT=ok"));
}

// The GitHub action and workflow checked by action-validator and actionlint,
// the action's steps run as a runner would, and the GitLab template run by
// gitlab-ci-local against this gate and a throwaway PostgreSQL: a good
// pipeline passes, a failing check blocks the deploy, rollback restores.
TEST(CiTemplates, ValidatorsAcceptThemAndAFailingGateBlocksTheDeploy) {
  auto r =
      run({(source_dir() / "ci" / "check-ci-templates").string(), gate_binary()}, source_dir());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("all 9 checks passed"));
  EXPECT_THAT(r.all(), HasSubstr("a failing check fails gate:pre-deploy and deploy never runs"));
}

namespace {

// A health-check receiver: records method, path, query and body of each ping.
class PingReceiver {
public:
  PingReceiver() {
    auto record = [this](const httplib::Request &req, httplib::Response &res) {
      std::lock_guard lock(m_mutex);
      std::string query;
      for (const auto &[k, v] : req.params)
        query += (query.empty() ? "" : "&") + k + "=" + v;
      m_pings.push_back(req.method + " " + req.path + (query.empty() ? "" : "?" + query));
      m_bodies.push_back(req.body);
      res.set_content("OK", "text/plain");
    };
    m_server.Post(R"(/.*)", record);
    m_server.Get(R"(/.*)", record);
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~PingReceiver() {
    m_server.stop();
    m_thread.join();
  }
  std::string url(const std::string &path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  std::vector<std::string> pings() {
    std::lock_guard lock(m_mutex);
    return m_pings;
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(m_mutex);
    return m_bodies;
  }

private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  std::mutex m_mutex;
  std::vector<std::string> m_pings, m_bodies;
};

} // namespace

TEST(Alerts, HealthchecksArePingedAtStartAndEndWithTheRunIdAndNoSecret) {
  PingReceiver hc;
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(), "volumes:\n  - {name: data, path: ./data}\nhealthchecks:\n  - url: '" +
                               hc.url("/ping/5f2c-Secret-Uuid") + "'\n  - {url: '" +
                               hc.url("/api/push/KumaToken9?status=up&msg=OK&ping=") +
                               "', format: uptime-kuma}\n");
  auto ok = run_gate({"backup"}, t.path());
  ASSERT_EQ(ok.exit_code, 0) << ok.all();
  auto pings = hc.pings();
  ASSERT_EQ(pings.size(), 3u) << ::testing::PrintToString(pings);
  std::string rid = pings[0].substr(pings[0].find("rid=") + 4);
  EXPECT_EQ(pings[0], "POST /ping/5f2c-Secret-Uuid/start?rid=" + rid);
  EXPECT_EQ(rid.size(), 36u);
  EXPECT_EQ(pings[1], "POST /ping/5f2c-Secret-Uuid?rid=" + rid);
  EXPECT_THAT(pings[2], HasSubstr("GET /api/push/KumaToken9?"));
  EXPECT_THAT(pings[2], HasSubstr("status=up"));
  EXPECT_THAT(pings[2], HasSubstr("msg=OK: set scheduled-"));
  EXPECT_THAT(pings[2], HasSubstr("ping="));
  EXPECT_THAT(hc.bodies()[1], HasSubstr("OK: set scheduled-"));
  EXPECT_THAT(hc.bodies()[1], HasSubstr("log:"));
  EXPECT_LE(hc.bodies()[1].size(), 10u * 1024);
  EXPECT_THAT(ok.all(), Not(HasSubstr("Secret-Uuid")));
  EXPECT_THAT(ok.all(), Not(HasSubstr("KumaToken9")));

  fs::remove_all(t / "data");
  EXPECT_EQ(run_gate({"backup"}, t.path()).exit_code, 1);
  pings = hc.pings();
  ASSERT_EQ(pings.size(), 6u) << ::testing::PrintToString(pings);
  EXPECT_THAT(pings[4], HasSubstr("POST /ping/5f2c-Secret-Uuid/fail?rid="));
  EXPECT_THAT(pings[5], HasSubstr("status=down"));
}

TEST(Alerts, AnUnreachableHealthcheckIsAWarningNeverAVerdict) {
  TempDir t;
  make_sample_tree(t / "data", 3);
  write_pipeline(t.path(),
                 "volumes:\n  - {name: data, path: ./data}\nhealthchecks:\n"
                 "  - {url: 'http://127.0.0.1:1/ping/Unreach-Uuid', timeout: 1s, retries: 1}\n");
  auto r = run_gate({"backup"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr("health check ping to http://127.0.0.1:1/… failed"));
  EXPECT_THAT(r.all(), Not(HasSubstr("Unreach-Uuid")));
  write_pipeline(
      t.path(),
      "volumes:\n  - {name: data, path: ./data}\nhealthchecks:\n  - {url: 'ftp://x/y'}\n");
  auto bad = run_gate({"check"}, t.path());
  EXPECT_EQ(bad.exit_code, 2) << bad.all();
  EXPECT_THAT(
      bad.all(),
      HasSubstr("pipeline.yml:5:11: a health check url must be an http:// or https:// URL"));
}

// There is no mail server here: a stand-in sendmail script keeps what gate
// hands to `sendmail -t`, and Python's email module reads it as a mail
// client would.
TEST(Alerts, EmailAlertsAreProperMessagesHandedToSendmail) {
  TempDir t;
  write_file(t / "sendmail", "#!/bin/sh\necho \"$@\" > args\ncat > message.eml\n");
  fs::permissions(t / "sendmail", fs::perms::owner_all);
  write_pipeline(
      t.path(),
      "project: shop\nenvironment: production\nvolumes:\n  - {name: data, path: ./missing}\n"
      "alerts:\n  - email: {to: [oncall@example.com, ops@example.com], from: gate@shop.example, "
      "sendmail: ./sendmail}\n");
  EXPECT_EQ(run_gate({"run"}, t.path(), {{"SOME_TOKEN", "x"}}).exit_code, 1);
  EXPECT_EQ(read_file(t / "args"), "-t -oi\n");
  auto parsed = sh(
      "python3 -c \"import email,sys; m=email.message_from_binary_file(open('message.eml','rb')); "
      "print(m['Subject']); print(m['To']); print(m['From']); print(bool(m['Date']), "
      "bool(m['Message-ID'])); "
      "print(m.get_payload())\"",
      t.path());
  ASSERT_EQ(parsed.exit_code, 0) << parsed.all();
  EXPECT_THAT(parsed.out, HasSubstr("[gate] shop/production: FAILED gate run\n"));
  EXPECT_THAT(parsed.out, HasSubstr("oncall@example.com, ops@example.com\n"));
  EXPECT_THAT(parsed.out, HasSubstr("gate@shop.example\n"));
  EXPECT_THAT(parsed.out, HasSubstr("True True\n"));
  EXPECT_THAT(parsed.out, HasSubstr("FAILED"));
  EXPECT_THAT(parsed.out, HasSubstr("\"event\": \"failure\""));

  // A sendmail that fails is a warning, never the verdict.
  write_file(t / "sendmail", "#!/bin/sh\ncat >/dev/null; exit 75\n");
  write_pipeline(t.path(),
                 "volumes:\n  - {name: data, path: ./data}\nalerts:\n"
                 "  - {email: {to: oncall@example.com, sendmail: ./sendmail}, on: [success]}\n");
  make_sample_tree(t / "data", 2);
  auto ok = run_gate({"run"}, t.path());
  EXPECT_EQ(ok.exit_code, 0) << ok.all();
  EXPECT_THAT(ok.err, HasSubstr("alert command"));
  EXPECT_THAT(ok.err, HasSubstr("exited 75"));
  write_pipeline(
      t.path(), "volumes:\n  - {name: data, path: ./data}\nalerts:\n  - {email: {to: 'nobody'}}\n");
  auto bad = run_gate({"check"}, t.path());
  EXPECT_EQ(bad.exit_code, 2) << bad.all();
  EXPECT_THAT(bad.all(), HasSubstr("'nobody' is not an email address"));
}

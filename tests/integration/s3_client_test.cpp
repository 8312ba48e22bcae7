// util::S3Client against a real S3 server that checks signatures (s3rver on
// loopback), read back and written by Debian's aws CLI; and against loopback
// peers that misbehave (never answer, 500 forever, a skewed clock).
#include "config/pipeline.hpp"
#include "integration/harness.hpp"
#include "integration/s3_server.hpp"
#include "util/fd.hpp"
#include "util/s3_client.hpp"
#include "util/s3_parts.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cmath>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <random>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace gate::test;
using gate::util::S3Client;
using gate::util::S3ClientOptions;
using gate::util::S3Credentials;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char *k_client_bucket = "gate-test";
constexpr uint64_t k_mib = 1024 * 1024;

// `size` bytes of seeded pseudo-random data (incompressible, different per seed).
void make_file(const fs::path &path, uint64_t size, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path, std::ios::binary);
  std::vector<uint64_t> block(8192);
  while (size > 0) {
    for (auto &w : block)
      w = rng();
    uint64_t n = std::min<uint64_t>(size, block.size() * sizeof(uint64_t));
    out.write(reinterpret_cast<const char *>(block.data()), static_cast<std::streamsize>(n));
    size -= n;
  }
}

// What sha256sum says of a file.
std::string sha256sum(const fs::path &path) {
  auto r = run({"sha256sum", path.string()});
  EXPECT_EQ(r.exit_code, 0) << r.all();
  return r.out.substr(0, 64);
}

S3ClientOptions options_for(const std::string &endpoint) {
  S3ClientOptions o;
  o.remote = "offsite";
  o.bucket = k_client_bucket;
  o.endpoint = endpoint;
  o.timeout = std::chrono::seconds(20);
  o.retry.base_delay = std::chrono::milliseconds(5);
  return o;
}

S3Client client_for(const S3Server &server, S3ClientOptions o = {}) {
  if (o.remote.empty()) o = options_for(server.endpoint());
  auto c = S3Client::create(o, S3Credentials{server.access_key_id(), server.secret_access_key()});
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

class S3ClientTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { s_server = new S3Server({k_client_bucket}); }
  static void TearDownTestSuite() {
    delete s_server;
    s_server = nullptr;
  }
  S3Server &server() { return *s_server; }
  TempDir m_dir;
  static S3Server *s_server;
};
S3Server *S3ClientTest::s_server = nullptr;

TEST_F(S3ClientTest, ObjectsOfEverySizeUploadedByGateAreReadBackByAws) {
  S3ClientOptions o = options_for(server().endpoint());
  o.part_size = 5 * k_mib;
  S3Client client = client_for(server(), o);
  const std::vector<std::pair<std::string, uint64_t>> files = {{"empty", 0},
                                                               {"one", 1},
                                                               {"just-below-a-part", 5 * k_mib - 1},
                                                               {"four-parts", 15 * k_mib + 7}};
  unsigned seed = 1;
  for (const auto &[name, size] : files) {
    make_file(m_dir / name, size, seed++);
    auto put = client.put_object("sizes/" + name, m_dir / name);
    ASSERT_TRUE(put) << put.error().message;
    EXPECT_EQ(put->size, size);
    EXPECT_EQ(put->sha256, sha256sum(m_dir / name)) << name;
    EXPECT_EQ(put->multipart, size > 5 * k_mib) << name;
  }
  auto ls =
      server().aws({"s3", "ls", "--recursive", std::string("s3://") + k_client_bucket + "/sizes/"});
  ASSERT_EQ(ls.exit_code, 0) << ls.all();
  for (const auto &[name, size] : files) {
    EXPECT_THAT(ls.out, HasSubstr(std::to_string(size) + " sizes/" + name));
    fs::path back = m_dir / (name + ".aws");
    auto cp =
        server().aws({"s3", "cp", "--no-progress",
                      std::string("s3://") + k_client_bucket + "/sizes/" + name, back.string()});
    ASSERT_EQ(cp.exit_code, 0) << cp.all();
    EXPECT_EQ(sha256sum(back), sha256sum(m_dir / name)) << name;
  }
  auto listed = client.list_objects("sizes/");
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), files.size());
  auto head = client.head_object("sizes/four-parts");
  ASSERT_TRUE(head && *head);
  EXPECT_EQ((*head)->size, 15 * k_mib + 7);
}

TEST_F(S3ClientTest, ObjectsUploadedByAwsAreReadByGate) {
  make_file(m_dir / "big", 12 * k_mib + 3, 7); // aws uploads it in 8 MiB parts
  make_file(m_dir / "small", 1000, 8);
  for (const char *name : {"big", "small"}) {
    auto cp = server().aws({"s3", "cp", "--no-progress", (m_dir / name).string(),
                            std::string("s3://") + k_client_bucket + "/by-aws/" + name});
    ASSERT_EQ(cp.exit_code, 0) << cp.all();
  }
  S3Client client = client_for(server());
  for (const char *name : {"big", "small"}) {
    fs::path back = m_dir / (std::string(name) + ".gate");
    auto got = client.get_object(std::string("by-aws/") + name, back);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->size, fs::file_size(m_dir / name));
    EXPECT_EQ(got->sha256, sha256sum(m_dir / name));
    EXPECT_EQ(sha256sum(back), sha256sum(m_dir / name));
    EXPECT_FALSE(fs::exists(back.string() + ".part"));
  }
}

TEST_F(S3ClientTest, ListingFollowsContinuationTokensAndDeletesRemoveTheKeys) {
  S3Client client = client_for(server());
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) {
    // Characters the path must percent-encode. Not '&': s3rver escapes it
    // twice in listings (aws shows "&amp;" too).
    keys.push_back("paged/k" + std::to_string(i) + " with space+$=");
    auto put = client.put_object_bytes(keys.back(), "x" + std::to_string(i));
    ASSERT_TRUE(put) << put.error().message;
  }
  auto listed = client.list_objects("paged/", 2); // three pages
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 5u);
  EXPECT_EQ((*listed)[0].key, keys[0]);
  auto deleted = client.delete_objects({keys[0], keys[1], keys[2]});
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_TRUE(deleted->errors.empty());
  auto after = client.list_objects("paged/");
  ASSERT_TRUE(after) << after.error().message;
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].key, keys[3]);
}

TEST_F(S3ClientTest, AMissingObjectIsNoSuchKey) {
  S3Client client = client_for(server());
  auto head = client.head_object("missing/nothing");
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_FALSE(*head);
  auto got = client.get_object("missing/nothing", m_dir / "nothing");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, "NoSuchKey");
  EXPECT_THAT(got.error().message, HasSubstr("s3://gate-test/missing/nothing"));
  EXPECT_FALSE(fs::exists(m_dir / "nothing"));
  EXPECT_FALSE(fs::exists(m_dir / "nothing.part"));
}

TEST_F(S3ClientTest, AWrongSecretIsAClear403NamingTheRemote) {
  S3ClientOptions o = options_for(server().endpoint());
  auto client = S3Client::create(o, S3Credentials{server().access_key_id(), "wrong-Secr3t-value"});
  ASSERT_TRUE(client);
  make_file(m_dir / "f", 100, 3);
  auto put = client->put_object("denied/f", m_dir / "f");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().http_status, 403);
  EXPECT_EQ(put.error().code, "SignatureDoesNotMatch");
  EXPECT_THAT(put.error().message, HasSubstr("remote 'offsite'"));
  EXPECT_THAT(put.error().message, HasSubstr("s3://gate-test/denied/f"));
  EXPECT_THAT(put.error().message, HasSubstr("hint: the secret access key does not match"));
  EXPECT_THAT(put.error().message, Not(HasSubstr("wrong-Secr3t-value")));
  EXPECT_THAT(put.error().message, Not(HasSubstr("Signature=")));
  EXPECT_THAT(put.error().message, Not(HasSubstr("after"))); // a 403 is not retried
}

TEST_F(S3ClientTest, AFailedMultipartUploadIsAborted) {
  S3ClientOptions o = options_for(server().endpoint());
  o.part_size = 5 * k_mib;
  S3Client client = client_for(server(), o);
  // The file is shorter than the size given: part 2 cannot be read, after
  // the upload was created and part 1 sent.
  make_file(m_dir / "short", 7 * k_mib, 4);
  gate::util::UniqueFd fd(::open((m_dir / "short").c_str(), O_RDONLY | O_CLOEXEC));
  auto put = client.put_object("failed/short", fd.get(), 12 * k_mib);
  ASSERT_FALSE(put);
  EXPECT_THAT(put.error().message, HasSubstr("upload part 2 of s3://gate-test/failed/short"));
  EXPECT_THAT(put.error().message, HasSubstr("shorter"));
  auto uploads = client.list_multipart_uploads("failed/");
  ASSERT_TRUE(uploads) << uploads.error().message;
  EXPECT_TRUE(uploads->empty());
  auto listed = client.list_objects("failed/");
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
}

TEST_F(S3ClientTest, IncompleteUploadsAreListedAndAborted) {
  auto created =
      server().aws({"s3api", "create-multipart-upload", "--bucket", k_client_bucket, "--key",
                    "pending/left-behind", "--query", "UploadId", "--output", "text"});
  ASSERT_EQ(created.exit_code, 0) << created.all();
  std::string id = created.out.substr(0, created.out.find('\n'));
  S3Client client = client_for(server());
  auto uploads = client.list_multipart_uploads("pending/");
  ASSERT_TRUE(uploads) << uploads.error().message;
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ((*uploads)[0].key, "pending/left-behind");
  EXPECT_EQ((*uploads)[0].upload_id, id);
  auto aborted = client.abort_multipart_upload("pending/left-behind", id);
  ASSERT_TRUE(aborted) << aborted.error().message;
  auto listed = server().aws({"s3api", "list-multipart-uploads", "--bucket", k_client_bucket});
  ASSERT_EQ(listed.exit_code, 0) << listed.all();
  EXPECT_THAT(listed.out, Not(HasSubstr(id)));
}

TEST_F(S3ClientTest, ARemoteFromPipelineYmlUploadsWithItsLazyKeys) {
  write_pipeline(m_dir.path(), "volumes:\n  - name: files\n    path: ./data\n"
                               "remotes:\n  - name: offsite\n    url: s3://gate-test/hosts/a/\n"
                               "    endpoint: " +
                                   server().endpoint() +
                                   "\n    access_key_id: ${TEST_S3_KEY}\n"
                                   "    secret_access_key: ${TEST_S3_SECRET}\n");
  ::setenv("TEST_S3_KEY", server().access_key_id().c_str(), 1);
  ::unsetenv("TEST_S3_SECRET");
  auto config = gate::config::load_pipeline(m_dir / "pipeline.yml");
  ASSERT_TRUE(config) << config.error().message; // an unset secret is fine until it is used
  const auto *remote = config->find_remote("offsite");
  ASSERT_NE(remote, nullptr);
  auto missing = gate::config::remote_credentials(*remote);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("TEST_S3_SECRET"));
  ::setenv("TEST_S3_SECRET", server().secret_access_key().c_str(), 1);
  config = gate::config::load_pipeline(m_dir / "pipeline.yml");
  ASSERT_TRUE(config) << config.error().message;
  remote = config->find_remote("offsite");
  auto credentials = gate::config::remote_credentials(*remote);
  ASSERT_TRUE(credentials) << credentials.error().message;
  auto client = S3Client::create(gate::config::s3_client_options(*remote), *credentials);
  ASSERT_TRUE(client) << client.error().message;
  auto put = client->put_object_bytes(gate::config::remote_key(*remote, "manifest.json"), "{}");
  ASSERT_TRUE(put) << put.error().message;
  auto ls = server().aws({"s3", "ls", "s3://gate-test/hosts/a/"});
  EXPECT_THAT(ls.out, HasSubstr("manifest.json"));
  ::unsetenv("TEST_S3_KEY");
  ::unsetenv("TEST_S3_SECRET");
}

// A loopback port that accepts connections (the kernel completes the
// handshake into the backlog) and never reads or answers.
class SilentPeer {
public:
  SilentPeer() {
    m_fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(m_fd.get(), reinterpret_cast<sockaddr *>(&addr), len) != 0 ||
        ::listen(m_fd.get(), 16) != 0 ||
        ::getsockname(m_fd.get(), reinterpret_cast<sockaddr *>(&addr), &len) != 0)
      throw std::runtime_error("cannot listen on loopback");
    m_port = ntohs(addr.sin_port);
  }
  int port() const { return m_port; }

private:
  gate::util::UniqueFd m_fd;
  int m_port = 0;
};

TEST(S3ClientFaults, APeerThatNeverAnswersFailsWithinTheTimeout) {
  SilentPeer peer;
  S3ClientOptions o = options_for("http://127.0.0.1:" + std::to_string(peer.port()));
  o.timeout = std::chrono::milliseconds(300);
  o.retry.max_attempts = 2;
  auto client = S3Client::create(o, S3Credentials{"AKID", "secret"});
  ASSERT_TRUE(client);
  auto start = std::chrono::steady_clock::now();
  auto head = client->head_object("any/key");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().http_status, 0);
  EXPECT_THAT(head.error().message, HasSubstr("remote 'offsite'"));
  EXPECT_THAT(head.error().message, HasSubstr("s3://gate-test/any/key"));
  EXPECT_THAT(head.error().message, HasSubstr("no answer within the timeout"));
  EXPECT_THAT(head.error().message, HasSubstr("after 2 attempts"));
  EXPECT_LT(elapsed, std::chrono::seconds(30)); // bounded: two 0.3 s timeouts and a backoff
}

// An HTTP server on loopback answering every request with `handler`.
class FakeS3 {
public:
  explicit FakeS3(httplib::Server::Handler handler) {
    m_server.Get(".*", handler);
    m_server.Put(".*", handler);
    m_server.Post(".*", handler);
    m_server.Delete(".*", handler);
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~FakeS3() {
    m_server.stop();
    m_thread.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }

private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
};

TEST(S3ClientFaults, AServerAnswering500IsRetriedThenFails) {
  std::atomic<int> requests{0};
  FakeS3 fake([&](const httplib::Request &, httplib::Response &res) {
    ++requests;
    res.status = 500;
    res.set_content("<Error><Code>InternalError</Code><Message>We encountered an internal "
                    "error.</Message></Error>",
                    "application/xml");
  });
  S3ClientOptions o = options_for(fake.endpoint());
  o.retry.max_attempts = 3;
  o.retry.base_delay = std::chrono::milliseconds(1);
  auto client = S3Client::create(o, S3Credentials{"AKID", "secret"});
  ASSERT_TRUE(client);
  auto put = client->put_object_bytes("retried/key", "body");
  ASSERT_FALSE(put);
  EXPECT_EQ(requests.load(), 3);
  EXPECT_EQ(put.error().http_status, 500);
  EXPECT_EQ(put.error().code, "InternalError");
  EXPECT_THAT(put.error().message, HasSubstr("remote 'offsite': unable to upload "
                                             "s3://gate-test/retried/key: HTTP 500 InternalError"));
  EXPECT_THAT(put.error().message, HasSubstr("after 3 attempts"));
}

TEST(S3ClientFaults, RequestTimeTooSkewedIsCorrectedFromTheServersDate) {
  std::mutex mutex;
  std::vector<std::string> dates;
  auto server_time = std::chrono::system_clock::now() + std::chrono::hours(3);
  std::time_t t = std::chrono::system_clock::to_time_t(server_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char http_date[64];
  std::strftime(http_date, sizeof http_date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  FakeS3 fake([&](const httplib::Request &req, httplib::Response &res) {
    std::lock_guard lock(mutex);
    dates.push_back(req.get_header_value("x-amz-date"));
    res.set_header("Date", http_date);
    if (dates.size() == 1) {
      res.status = 403;
      res.set_content("<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between "
                      "the request time and the current time is too large.</Message></Error>",
                      "application/xml");
    } else {
      res.status = 200;
    }
  });
  auto client = S3Client::create(options_for(fake.endpoint()), S3Credentials{"AKID", "secret"});
  ASSERT_TRUE(client);
  auto put = client->put_object_bytes("skewed/key", "body");
  ASSERT_TRUE(put) << put.error().message;
  ASSERT_EQ(dates.size(), 2u);
  std::tm first_tm{};
  ASSERT_NE(strptime(dates[0].c_str(), "%Y%m%dT%H%M%SZ", &first_tm), nullptr) << dates[0];
  EXPECT_GT(std::abs(static_cast<double>(timegm(&first_tm)) - static_cast<double>(t)), 3000);
  std::tm signed_tm{};
  ASSERT_NE(strptime(dates[1].c_str(), "%Y%m%dT%H%M%SZ", &signed_tm), nullptr) << dates[1];
  EXPECT_NEAR(static_cast<double>(timegm(&signed_tm)), static_cast<double>(t), 120)
      << "the retry is signed with the server's clock";
  EXPECT_NEAR(client->clock_offset().count(), 3 * 3600, 120);
}

TEST(S3ClientFaults, DeletesGoInBatchesOfAThousand) {
  std::mutex mutex;
  std::vector<size_t> batch_sizes;
  FakeS3 fake([&](const httplib::Request &req, httplib::Response &res) {
    std::lock_guard lock(mutex);
    size_t objects = 0;
    for (size_t at = 0; (at = req.body.find("<Object>", at)) != std::string::npos; ++at)
      ++objects;
    EXPECT_TRUE(req.has_header("Content-MD5"));
    batch_sizes.push_back(objects);
    res.set_content("<DeleteResult><Error><Key>k0</Key><Code>AccessDenied</Code>"
                    "<Message>Access Denied</Message></Error></DeleteResult>",
                    "application/xml");
  });
  auto client = S3Client::create(options_for(fake.endpoint()), S3Credentials{"AKID", "secret"});
  ASSERT_TRUE(client);
  std::vector<std::string> keys;
  for (int i = 0; i < 1001; ++i)
    keys.push_back("k" + std::to_string(i));
  auto deleted = client->delete_objects(keys);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(batch_sizes, (std::vector<size_t>{1000, 1}));
  ASSERT_EQ(deleted->errors.size(), 2u); // refused keys are values, not an error
  EXPECT_EQ(deleted->errors[0].code, "AccessDenied");
}

TEST(S3ClientFaults, AnErrorInsideA200ToCompleteAbortsTheUpload) {
  std::mutex mutex;
  std::vector<std::string> requests;
  FakeS3 fake([&](const httplib::Request &req, httplib::Response &res) {
    std::lock_guard lock(mutex);
    std::string query = req.has_param("uploads") ? "?uploads"
                        : req.has_param("partNumber")
                            ? "?partNumber=" + req.get_param_value("partNumber")
                        : req.has_param("uploadId") ? "?uploadId"
                                                    : "";
    requests.push_back(req.method + " " + req.path + query);
    if (req.has_param("uploads"))
      res.set_content("<InitiateMultipartUploadResult><UploadId>U1</UploadId>"
                      "</InitiateMultipartUploadResult>",
                      "application/xml");
    else if (req.has_param("partNumber"))
      res.set_header("ETag", "\"etag" + req.get_param_value("partNumber") + "\"");
    else if (req.method == "POST") // S3 sends 200, then fails while assembling
      res.set_content("\n  <Error><Code>InternalError</Code><Message>assembly failed</Message>"
                      "</Error>",
                      "application/xml");
    else
      res.status = 204;
  });
  TempDir dir;
  make_file(dir / "f", 11 * k_mib, 9);
  S3ClientOptions o = options_for(fake.endpoint());
  o.part_size = 5 * k_mib;
  o.retry.max_attempts = 2;
  o.retry.base_delay = std::chrono::milliseconds(1);
  auto client = S3Client::create(o, S3Credentials{"AKID", "secret"});
  ASSERT_TRUE(client);
  auto put = client->put_object("mp/f", dir / "f");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, "InternalError");
  EXPECT_THAT(put.error().message,
              HasSubstr("unable to complete the multipart upload of s3://gate-test/mp/f"));
  EXPECT_EQ(requests, (std::vector<std::string>{
                          "POST /gate-test/mp/f?uploads", "PUT /gate-test/mp/f?partNumber=1",
                          "PUT /gate-test/mp/f?partNumber=2", "PUT /gate-test/mp/f?partNumber=3",
                          "POST /gate-test/mp/f?uploadId", "POST /gate-test/mp/f?uploadId",
                          "DELETE /gate-test/mp/f?uploadId"}));
}

TEST(S3ClientFaults, ADownloadCutOffMidwayResumesWithARange) {
  const std::string content(3 * 1024 * 1024 + 17, 'z');
  std::mutex mutex;
  std::vector<std::string> ranges;
  FakeS3 fake([&](const httplib::Request &req, httplib::Response &res) {
    std::lock_guard lock(mutex);
    res.set_header("ETag", "\"e1\"");
    if (req.method == "HEAD") {
      res.set_header("Content-Length", std::to_string(content.size()));
      return;
    }
    ranges.push_back(req.get_header_value("Range") + "|" + req.get_header_value("If-Match"));
    if (ranges.size() == 1) { // the first GET stops after 1 MiB: the connection closes
      res.set_content_provider(content.size(), "application/octet-stream",
                               [&content](size_t offset, size_t, httplib::DataSink &sink) {
                                 if (offset >= 1024 * 1024) return false;
                                 sink.write(content.data() + offset, 1024 * 1024);
                                 return true;
                               });
      return;
    }
    res.set_content(content, "application/octet-stream"); // httplib answers the Range (206)
  });
  S3ClientOptions o = options_for(fake.endpoint());
  o.retry.base_delay = std::chrono::milliseconds(1);
  auto client = S3Client::create(o, S3Credentials{"AKID", "secret"});
  ASSERT_TRUE(client);
  TempDir dir;
  auto got = client->get_object("big/object", dir / "out");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->size, content.size());
  EXPECT_EQ(read_file(dir / "out"), content);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "|");
  EXPECT_EQ(ranges[1], "bytes=1048576-|\"e1\"");
}

TEST(S3ClientFaults, ACompleteWhoseAnswerWasLostIsConfirmedByHead) {
  std::mutex mutex;
  std::vector<std::string> requests;
  const uint64_t size = 6 * k_mib;
  FakeS3 fake([&](const httplib::Request &req, httplib::Response &res) {
    std::lock_guard lock(mutex);
    requests.push_back(req.method);
    if (req.has_param("uploads")) {
      res.set_content("<InitiateMultipartUploadResult><UploadId>U2</UploadId>"
                      "</InitiateMultipartUploadResult>",
                      "application/xml");
    } else if (req.has_param("partNumber")) {
      res.set_header("ETag", "\"p\"");
    } else if (req.method == "POST" && std::count(requests.begin(), requests.end(), "POST") == 2) {
      // The object is assembled, but the answer is cut off.
      res.set_content_provider(100, "application/xml",
                               [](size_t, size_t, httplib::DataSink &) { return false; });
    } else if (req.method == "POST") {
      res.status = 404;
      res.set_content("<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>",
                      "application/xml");
    } else if (req.method == "HEAD") {
      res.set_header("Content-Length", std::to_string(size));
      res.set_header("ETag", "\"whole-2\"");
    } else {
      res.status = 204;
    }
  });
  TempDir dir;
  make_file(dir / "f", size, 10);
  S3ClientOptions o = options_for(fake.endpoint());
  o.part_size = 5 * k_mib;
  o.retry.base_delay = std::chrono::milliseconds(1);
  auto client = S3Client::create(o, S3Credentials{"AKID", "secret"});
  ASSERT_TRUE(client);
  auto put = client->put_object("mp/lost", dir / "f");
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(put->etag, "\"whole-2\"");
  EXPECT_EQ(requests, (std::vector<std::string>{"POST", "PUT", "PUT", "POST", "POST", "HEAD"}));
}

} // namespace

#include "integration/s3_server.hpp"

#include <chrono>
#include <csignal>
#include <poll.h>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace gate::test {

namespace {

std::string random_token(size_t length) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < length; ++i)
    out.push_back(alphabet[rd() % (sizeof alphabet - 1)]);
  return out;
}

fs::path tools_dir() {
  return fs::read_symlink("/proc/self/exe").parent_path() / "s3-tools";
}

// Reads the server's stdout until it says where it listens. The first start
// installs the npm packages, hence the generous bound (a failure bound, not a
// synchronisation: the line is the signal).
int read_port(util::Process &p) {
  const std::string marker = "S3rver listening on ";
  std::string out = read_output_until(
      p,
      [&](const std::string &o) {
        size_t at = o.find(marker);
        return at != std::string::npos && o.find('\n', at) != std::string::npos;
      },
      std::chrono::minutes(5));
  size_t at = out.find(marker);
  if (at == std::string::npos || out.find('\n', at) == std::string::npos)
    throw std::runtime_error("the S3 test server did not start: " + out + p.stderr_tail());
  std::string address = out.substr(at + marker.size(), out.find('\n', at) - at - marker.size());
  return std::stoi(address.substr(address.rfind(':') + 1));
}

} // namespace

S3Server::S3Server(const std::vector<std::string> &buckets)
    : m_buckets(buckets), m_access_key_id("AKGATE" + random_token(14)),
      m_secret_access_key("gate/" + random_token(35)) {
  start(0);
}

void S3Server::start(int port) {
  util::ProcessSpec spec;
  spec.argv = {(source_dir() / "tests" / "s3" / "s3rver").string(), tools_dir().string(),
               (m_data.path() / "data").string()};
  spec.argv.insert(spec.argv.end(), m_buckets.begin(), m_buckets.end());
  spec.env = {{"S3RVER_ACCESS_KEY_ID", m_access_key_id},
              {"S3RVER_SECRET_ACCESS_KEY", m_secret_access_key},
              {"S3RVER_PORT", std::to_string(port)}};
  spec.stdin_mode = util::StreamMode::pipe; // closed when this process goes: the server exits
  spec.stdout_mode = util::StreamMode::pipe;
  spec.stderr_mode = util::StreamMode::log;
  auto started = util::Process::start(spec);
  if (!started)
    throw std::runtime_error("cannot start tests/s3/s3rver: " + started.error().message);
  m_process = std::move(*started);
  m_port = read_port(*m_process);
}

S3Server::~S3Server() {
  if (m_process) m_process->kill_group(SIGTERM);
  if (m_process) (void)m_process->wait(std::chrono::seconds(10));
}

void S3Server::kill() {
  m_process->kill_group(SIGKILL);
  (void)m_process->wait();
  m_process.reset();
}

void S3Server::restart() {
  if (m_process) kill();
  start(m_port);
}

std::string S3Server::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(m_port);
}

std::map<std::string, std::string> S3Server::aws_env() const {
  return {{"AWS_ACCESS_KEY_ID", m_access_key_id},
          {"AWS_SECRET_ACCESS_KEY", m_secret_access_key},
          {"AWS_DEFAULT_REGION", "us-east-1"},
          {"AWS_EC2_METADATA_DISABLED", "true"},
          {"AWS_CONFIG_FILE", "/dev/null"},
          {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
          {"AWS_PAGER", ""}};
}

CommandResult S3Server::aws(const std::vector<std::string> &args) const {
  std::vector<std::string> argv = {aws_cli(), "--endpoint-url", endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {}, aws_env());
}

std::string aws_cli() {
  std::error_code ec;
  if (fs::exists("/usr/bin/aws", ec)) return "/usr/bin/aws";
  return "aws";
}

namespace {
S3Server *s_suite_server = nullptr;
}

void S3Suite::start_server(const std::string &bucket) {
  s_suite_server = new S3Server({bucket});
}

void S3Suite::TearDownTestSuite() {
  delete s_suite_server;
  s_suite_server = nullptr;
}

S3Server &S3Suite::server() {
  return *s_suite_server;
}

std::map<std::string, std::string> S3Suite::env() {
  return {{"AWS_ACCESS_KEY_ID", s_suite_server->access_key_id()},
          {"AWS_SECRET_ACCESS_KEY", s_suite_server->secret_access_key()}};
}

} // namespace gate::test

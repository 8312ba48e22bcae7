// The S3 server integration tests talk to: @20minutes/s3rver 4.0.4 (it checks
// Signature V4), started by tests/s3/s3rver on a free loopback port with a
// fresh data directory and a random key pair; the pinned npm packages are
// installed on first use under the test binary's directory (s3-tools/).
// And Debian's `aws` CLI, pointed at it, to read back what gate wrote.
#pragma once

#include "integration/harness.hpp"
#include "util/process.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gate::test {

class S3Server {
public:
  // Starts the server with `buckets` created; throws when it cannot start.
  explicit S3Server(const std::vector<std::string> &buckets);
  ~S3Server(); // stops it and removes its data
  // A server dying: SIGKILL, and returns once it is gone (its data stays).
  void kill();
  // Starts it again on the same data directory, key pair and port.
  void restart();
  S3Server(const S3Server &) = delete;
  S3Server &operator=(const S3Server &) = delete;

  int port() const { return m_port; }
  std::string endpoint() const; // http://127.0.0.1:PORT
  const std::string &access_key_id() const { return m_access_key_id; }
  const std::string &secret_access_key() const { return m_secret_access_key; }
  const fs::path &data_dir() const { return m_data.path(); }

  // The environment `aws` needs for this server (key pair, region, no IMDS).
  std::map<std::string, std::string> aws_env() const;
  // Runs `aws --endpoint-url ENDPOINT ARGS...`.
  CommandResult aws(const std::vector<std::string> &args) const;

private:
  void start(int port);

  std::vector<std::string> m_buckets;
  TempDir m_data;
  std::string m_access_key_id;
  std::string m_secret_access_key;
  int m_port = 0;
  std::unique_ptr<util::Process> m_process;
};

// A test suite sharing one S3Server, started before its first test with
// `bucket` created and stopped after its last; env() is what gate needs to
// reach it (the key pair, as AWS_* variables).
class S3Suite : public ::testing::Test {
protected:
  static void start_server(const std::string &bucket);
  static void TearDownTestSuite();
  static S3Server &server();
  static std::map<std::string, std::string> env();
  TempDir m_dir;
};

// Debian's aws CLI (/usr/bin/aws) when installed, else `aws` from PATH.
std::string aws_cli();

} // namespace gate::test

// A small real HTTP(S) proxy in front of the S3 test server, for what s3rver
// cannot do itself: terminate TLS with a certificate of a private CA, refuse
// deletes with 403 AccessDenied (a backup-only key), or misreport an object's
// size on HEAD (a store that lost bytes). Requests are passed on unchanged,
// Host header included, so s3rver still checks every signature.
#pragma once

#include "integration/harness.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace gate::test {

struct S3ProxyOptions {
  fs::path cert_file; // with key_file: HTTPS
  fs::path key_file;
  bool deny_deletes = false;  // DELETE and POST ?delete answer 403 AccessDenied
  std::string short_head_key; // HEAD of a key ending with this reports one byte more
};

class S3Proxy {
public:
  S3Proxy(int upstream_port, S3ProxyOptions options);
  ~S3Proxy();
  S3Proxy(const S3Proxy &) = delete;
  S3Proxy &operator=(const S3Proxy &) = delete;

  std::string endpoint() const; // http(s)://127.0.0.1:PORT
  int denied() const { return m_denied; }

private:
  int m_upstream_port;
  S3ProxyOptions m_options;
  std::unique_ptr<httplib::Server> m_server;
  int m_port = 0;
  std::atomic<int> m_denied{0};
  std::thread m_thread;
};

// A private CA and a server certificate it signed for 127.0.0.1 and
// localhost, made with the openssl CLI in `dir`: ca.pem, server.pem, server.key.
void make_private_ca(const fs::path &dir);

} // namespace gate::test

#include "integration/s3_proxy.hpp"

#include <httplib.h>

#include <stdexcept>

namespace gate::test {

namespace {

bool hop_by_hop(const std::string &name) {
  std::string n;
  for (char c : name)
    n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return n == "content-length" || n == "transfer-encoding" || n == "connection" ||
         n == "keep-alive";
}

void access_denied(httplib::Response &res) {
  res.status = 403;
  res.set_content("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                  "<Message>Access Denied</Message></Error>",
                  "application/xml");
}

} // namespace

S3Proxy::S3Proxy(int upstream_port, S3ProxyOptions options)
    : m_upstream_port(upstream_port), m_options(std::move(options)) {
  if (!m_options.cert_file.empty())
    m_server = std::make_unique<httplib::SSLServer>(m_options.cert_file.c_str(),
                                                    m_options.key_file.c_str());
  else
    m_server = std::make_unique<httplib::Server>();
  auto forward = [this](const httplib::Request &req, httplib::Response &res) {
    bool is_delete = req.method == "DELETE" || (req.method == "POST" && req.has_param("delete"));
    if (m_options.deny_deletes && is_delete) {
      ++m_denied;
      return access_denied(res);
    }
    httplib::Client upstream("127.0.0.1", m_upstream_port);
    upstream.set_url_encode(false);
    httplib::Request out;
    out.method = req.method;
    out.path = req.target;
    for (const auto &[k, v] : req.headers)
      if (!hop_by_hop(k) && k != "REMOTE_ADDR" && k != "REMOTE_PORT" && k != "LOCAL_ADDR" &&
          k != "LOCAL_PORT")
        out.headers.emplace(k, v);
    out.body = req.body;
    httplib::Response up;
    httplib::Error error = httplib::Error::Success;
    if (!upstream.send(out, up, error)) {
      res.status = 502;
      return;
    }
    res.status = up.status;
    for (const auto &[k, v] : up.headers)
      if (!hop_by_hop(k)) res.headers.emplace(k, v);
    if (req.method == "HEAD") { // no body came: a body of the announced size makes the length
      std::string length = up.get_header_value("Content-Length");
      size_t size = length.empty() ? 0 : std::stoull(length);
      bool lie = !m_options.short_head_key.empty() && req.path.ends_with(m_options.short_head_key);
      res.body.assign(size + (lie ? 1 : 0), '\0');
      return;
    }
    res.body = std::move(up.body);
  };
  m_server->Get(".*", forward);
  m_server->Put(".*", forward);
  m_server->Post(".*", forward);
  m_server->Delete(".*", forward);
  m_port = m_server->bind_to_any_port("127.0.0.1");
  if (m_port <= 0) throw std::runtime_error("the S3 proxy could not listen");
  // The socket listens from bind on: requests queue until the thread accepts them.
  m_thread = std::thread([this] { m_server->listen_after_bind(); });
}

S3Proxy::~S3Proxy() {
  m_server->stop();
  if (m_thread.joinable()) m_thread.join();
}

std::string S3Proxy::endpoint() const {
  return std::string(m_options.cert_file.empty() ? "http" : "https") +
         "://127.0.0.1:" + std::to_string(m_port);
}

void make_private_ca(const fs::path &dir) {
  auto made = sh("set -e\n"
                 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=gate test CA' "
                 "-keyout ca.key -out ca.pem 2>/dev/null\n"
                 "openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout server.key "
                 "-out server.csr 2>/dev/null\n"
                 "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext\n"
                 "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                 "-days 2 -extfile san.ext -out server.pem 2>/dev/null\n",
                 dir);
  if (made.exit_code != 0) throw std::runtime_error("openssl failed: " + made.all());
}

} // namespace gate::test

// HTTP over cpp-httplib: webhooks (http/https, certificate verification on)
// and the container engine's API on a unix socket. No httplib type leaves
// http.cpp; errors never show a URL unsanitised.
#pragma once

#include "util/expected.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace gate::util {

struct HttpResponse {
  int status = 0;
  std::string body;
};

enum class Interruptible { no, yes };

struct HttpOptions {
  std::chrono::milliseconds timeout{10000};
  // yes: a SIGINT/SIGTERM arriving during a request ends it at once with
  // ErrorKind::interrupted, even inside a CancelShield (an alert sent after an
  // interrupt stops at the next one).
  Interruptible interruptible = Interruptible::no;
  std::string ca_file; // extra CA bundle for https
  std::map<std::string, std::string> headers;
};

class HttpClient {
public:
  // A client for "http(s)://host[:port]" (any path in `url` is ignored here).
  static Result<HttpClient> for_url(const std::string &url, HttpOptions options);
  // A client talking HTTP over the unix socket at `socket_path`.
  static HttpClient for_unix_socket(const std::string &socket_path, HttpOptions options);
  HttpClient(HttpClient &&) noexcept;
  HttpClient &operator=(HttpClient &&) noexcept;
  ~HttpClient();

  Result<HttpResponse> get(const std::string &path);
  Result<HttpResponse> post(const std::string &path, const std::string &body,
                            const std::string &content_type,
                            const std::map<std::string, std::string> &headers = {});
  Result<HttpResponse> del(const std::string &path);

private:
  HttpClient();
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// The path-and-query part of a URL ("/services/x?token=y"), "/" when none.
std::string url_path(const std::string &url);

// Percent-encodes a query value.
std::string url_encode(const std::string &value);

} // namespace gate::util

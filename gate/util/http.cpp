#include "util/http.hpp"

#include "util/cancel.hpp"
#include "util/redact.hpp"

#include <httplib.h>

#include <atomic>
#include <memory>
#include <sys/socket.h>

namespace gate::util {

struct HttpClient::Impl {
  std::unique_ptr<httplib::Client> client;
  std::string where; // sanitised, for messages
  HttpOptions options;
};

HttpClient::HttpClient() : m_impl(std::make_unique<Impl>()) {}
HttpClient::HttpClient(HttpClient &&) noexcept = default;
HttpClient &HttpClient::operator=(HttpClient &&) noexcept = default;
HttpClient::~HttpClient() = default;

namespace {

void apply(httplib::Client &c, const HttpOptions &o) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(o.timeout);
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(o.timeout - secs);
  c.set_connection_timeout(secs.count(), usecs.count());
  c.set_read_timeout(secs.count(), usecs.count());
  c.set_write_timeout(secs.count(), usecs.count());
  c.set_follow_location(false);
  if (!o.ca_file.empty()) c.set_ca_cert_path(o.ca_file);
}

// ccache's failure_from_httplib_error: the library's error stops here.
std::string describe(httplib::Error e) {
  // The library's word alone ("Connection") does not say what went wrong.
  if (e == httplib::Error::Connection) return "could not connect";
  return httplib::to_string(e);
}

Result<HttpResponse> convert(httplib::Result r, const std::string &what) {
  if (!r) return fail("request to " + what + " failed: " + describe(r.error()));
  return HttpResponse{r->status, r->body};
}

// Runs one request; when the client is interruptible, a signal during it
// shuts its socket down, and the request ends as interrupted.
template <typename F>
Result<HttpResponse> send(httplib::Client &client, const HttpOptions &o, const std::string &what,
                          F request) {
  if (o.interruptible == Interruptible::no) return convert(request(), what);
  auto interrupted = std::make_shared<std::atomic<bool>>(false);
  int hook = add_interrupt_hook([&client, interrupted] {
    interrupted->store(true);
    client.stop();
  });
  auto r = request();
  remove_cancel_hook(hook);
  if (interrupted->load())
    return fail(ErrorKind::interrupted, "interrupted while sending to " + what);
  return convert(std::move(r), what);
}

httplib::Headers headers_of(const HttpOptions &o, const std::map<std::string, std::string> &extra) {
  httplib::Headers h;
  for (const auto &[k, v] : o.headers)
    h.emplace(k, v);
  for (const auto &[k, v] : extra)
    h.emplace(k, v);
  return h;
}

} // namespace

Result<HttpClient> HttpClient::for_url(const std::string &url, HttpOptions options) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return fail("not a URL: " + describe_endpoint(url));
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return fail("unsupported URL scheme '" + scheme + "'");
  size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  std::string authority =
      url.substr(scheme_end + 3,
                 host_end == std::string::npos ? std::string::npos : host_end - scheme_end - 3);
  std::string user, pass;
  if (size_t at = authority.rfind('@'); at != std::string::npos) {
    std::string info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = info.find(':');
    user = info.substr(0, colon);
    if (colon != std::string::npos) pass = info.substr(colon + 1);
  }
  HttpClient c;
  c.m_impl->client = std::make_unique<httplib::Client>(scheme + "://" + authority);
  if (!c.m_impl->client->is_valid()) return fail("unable to use URL " + describe_endpoint(url));
  if (!user.empty()) c.m_impl->client->set_basic_auth(user, pass);
  apply(*c.m_impl->client, options);
  c.m_impl->where = describe_endpoint(url);
  c.m_impl->options = std::move(options);
  return c;
}

HttpClient HttpClient::for_unix_socket(const std::string &socket_path, HttpOptions options) {
  HttpClient c;
  // cpp-httplib takes the socket path as the host when the family is AF_UNIX.
  c.m_impl->client = std::make_unique<httplib::Client>(socket_path);
  c.m_impl->client->set_address_family(AF_UNIX);
  apply(*c.m_impl->client, options);
  c.m_impl->where = "unix socket " + socket_path;
  // httplib would send the socket path as Host; Go servers (Docker, Podman) reject that.
  options.headers.emplace("Host", "localhost");
  c.m_impl->options = std::move(options);
  return c;
}

Result<HttpResponse> HttpClient::get(const std::string &path) {
  auto &c = *m_impl->client;
  return send(c, m_impl->options, m_impl->where,
              [&] { return c.Get(path, headers_of(m_impl->options, {})); });
}

Result<HttpResponse> HttpClient::post(const std::string &path, const std::string &body,
                                      const std::string &content_type,
                                      const std::map<std::string, std::string> &headers) {
  auto &c = *m_impl->client;
  return send(c, m_impl->options, m_impl->where, [&] {
    return c.Post(path, headers_of(m_impl->options, headers), body, content_type);
  });
}

Result<HttpResponse> HttpClient::del(const std::string &path) {
  auto &c = *m_impl->client;
  return send(c, m_impl->options, m_impl->where,
              [&] { return c.Delete(path, headers_of(m_impl->options, {})); });
}

std::string url_path(const std::string &url) {
  size_t scheme_end = url.find("://");
  size_t start = url.find_first_of("/?", scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (start == std::string::npos) return "/";
  std::string p = url.substr(start);
  if (p[0] == '?') p = "/" + p;
  if (size_t hash = p.find('#'); hash != std::string::npos) p.resize(hash);
  return p;
}

std::string url_encode(const std::string &value) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out.push_back(static_cast<char>(c));
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

} // namespace gate::util

#include "util/s3_transport.hpp"

#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <thread>
#include <unistd.h>

namespace gate::util {

struct S3Client::Impl::Connection {
  std::unique_ptr<httplib::Client> client;
};

S3Client::Impl::Impl() = default;
S3Client::Impl::~Impl() = default;

namespace s3 {

std::string Reply::header(const std::string &lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool valid_bucket(const std::string &b) {
  if (b.empty() || b.size() > 255) return false;
  return std::all_of(b.begin(), b.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

} // namespace

Result<Endpoint> resolve_endpoint(const S3ClientOptions &o) {
  if (!valid_bucket(o.bucket))
    return fail(ErrorKind::config, "remote '" + o.remote + "': invalid bucket name '" + o.bucket +
                                       "' (letters, digits, '.', '-')");
  Endpoint e;
  std::string url = o.endpoint.empty() ? "https://s3." + o.region + ".amazonaws.com" : o.endpoint;
  size_t scheme_end = url.find("://");
  e.scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (e.scheme != "http" && e.scheme != "https")
    return fail(ErrorKind::config, "remote '" + o.remote + "': endpoint '" + url +
                                       "' must be http://HOST[:PORT] or https://HOST[:PORT]");
  std::string authority = url.substr(scheme_end + 3);
  if (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (authority.empty() || authority.find_first_of("/?#@ ") != std::string::npos)
    return fail(ErrorKind::config, "remote '" + o.remote + "': endpoint '" + url +
                                       "' must be a scheme, a host and a port only");
  e.port = e.scheme == "https" ? 443 : 80;
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    std::string port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
        std::stoi(port) == 0 || std::stoi(port) > 65535)
      return fail(ErrorKind::config,
                  "remote '" + o.remote + "': invalid port in endpoint '" + url + "'");
    e.port = std::stoi(port);
    authority.resize(colon);
  }
  e.host = lower(authority);
  e.virtual_hosted = o.url_style == S3UrlStyle::virtual_hosted ||
                     (o.url_style == S3UrlStyle::automatic && o.endpoint.empty() &&
                      o.bucket.find('.') == std::string::npos);
  if (e.virtual_hosted) e.host = o.bucket + "." + e.host;
  bool default_port = e.port == (e.scheme == "https" ? 443 : 80);
  e.host_header = default_port ? e.host : e.host + ":" + std::to_string(e.port);
  return e;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(const std::string &text) {
  std::tm tm{};
  const char *end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

} // namespace s3

namespace {

using s3::Call;
using s3::Reply;

// What one attempt came to.
struct Outcome {
  bool ok = false;
  bool retryable = false;
  S3Error error;
  Reply reply;
};

std::string raw_path(const s3::Endpoint &e, const std::string &bucket, const std::string &key) {
  if (e.virtual_hosted) return "/" + key;
  return key.empty() ? "/" + bucket : "/" + bucket + "/" + key;
}

std::string describe_transport(httplib::Error e, const S3ClientOptions &o) {
  switch (e) {
  case httplib::Error::Connection:
    return "unable to connect to " + (o.endpoint.empty() ? std::string("AWS S3") : o.endpoint);
  case httplib::Error::ConnectionTimeout:
    return "connection timed out";
  case httplib::Error::Read:
    return "no answer within the timeout, or the connection was closed (read failed)";
  case httplib::Error::Write:
    return "the connection was closed while sending (write failed)";
  case httplib::Error::SSLServerVerification:
    return "TLS certificate verification failed\nhint: for a private CA, set ca_file on the "
           "remote";
  case httplib::Error::SSLLoadingCerts:
    return "unable to load the CA certificates (check ca_file)";
  default:
    return httplib::to_string(e);
  }
}

bool transport_retryable(httplib::Error e) {
  return e != httplib::Error::SSLServerVerification && e != httplib::Error::SSLLoadingCerts &&
         e != httplib::Error::Canceled;
}

bool code_retryable(int status, const std::string &code) {
  return status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout" ||
         code == "InternalError" || code == "ServiceUnavailable";
}

// The hint a user needs for an error code, if any.
std::string hint_for(const std::string &code, const S3ErrorBody &body, const Reply &r,
                     const S3ClientOptions &o) {
  if (code == "SignatureDoesNotMatch")
    return "\nhint: the secret access key does not match the access key id (check "
           "secret_access_key, AWS_SECRET_ACCESS_KEY or the profile of remote '" +
           o.remote + "')";
  if (code == "InvalidAccessKeyId") return "\nhint: the server does not know this access key id";
  if (code == "AccessDenied")
    return "\nhint: the key pair lacks permission for this action on bucket '" + o.bucket + "'";
  if (code == "NoSuchBucket")
    return "\nhint: check the bucket in the remote's url (s3://BUCKET/PREFIX)";
  std::string region = body.region.empty() ? r.header("x-amz-bucket-region") : body.region;
  if (!region.empty() && region != o.region)
    return "\nhint: the bucket is in region '" + region + "': set region: " + region +
           " on remote '" + o.remote + "'";
  return "";
}

} // namespace

S3Error S3Client::Impl::error(const std::string &action, const std::string &key,
                              const std::string &cause, int http_status, std::string code) const {
  std::string what = key.empty() ? "s3://" + options.bucket : s3_uri(options.bucket, key);
  S3Error e;
  e.kind = ErrorKind::failed;
  e.message = "remote '" + options.remote + "': unable to " + action + " " + what + ": " + cause;
  e.http_status = http_status;
  e.code = std::move(code);
  return e;
}

namespace {

// Reads an answer that is not a success (or a 200 carrying an <Error>).
Outcome http_failure(const S3Client::Impl &impl, const Call &call, Reply reply) {
  Outcome out;
  S3ErrorBody body;
  if (auto parsed = parse_s3_error(reply.body); parsed && *parsed) body = **parsed;
  if (body.code.empty() && reply.status == 404 && call.method == "HEAD") body.code = "NotFound";
  std::string cause = "HTTP " + std::to_string(reply.status);
  if (!body.code.empty()) cause += " " + describe(body);
  cause += hint_for(body.code, body, reply, impl.options);
  out.error = impl.error(call.action, call.key, cause, reply.status, body.code);
  out.retryable = code_retryable(reply.status, body.code);
  out.reply = std::move(reply);
  return out;
}

Outcome classify(const S3Client::Impl &impl, const Call &call, Reply reply) {
  if (reply.status < 200 || reply.status > 299) return http_failure(impl, call, std::move(reply));
  if (call.error_in_200) {
    auto parsed = parse_s3_error(reply.body);
    if (parsed && *parsed) {
      Outcome out = http_failure(impl, call, std::move(reply));
      out.retryable = true; // S3 failed while assembling: the parts are still there
      return out;
    }
  }
  Outcome out;
  out.ok = true;
  out.reply = std::move(reply);
  return out;
}

httplib::Headers request_headers(const std::map<std::string, std::string> &headers,
                                 const SigV4Signed &sig) {
  httplib::Headers h;
  for (const auto &[k, v] : headers)
    h.emplace(k, v);
  for (const auto &[k, v] : sig.headers_to_add)
    h.emplace(k, v);
  return h;
}

// Streams a file range as the request body, 1 MiB at a time.
// `on_sent` (may be empty) hears of every chunk handed to the socket.
void attach_file_body(httplib::Request &req, const s3::Body &body, std::string &read_error,
                      const std::function<void(uint64_t)> &on_sent) {
  auto buffer = std::make_shared<std::vector<char>>(s3::k_io_buffer);
  req.content_length_ = body.length;
  req.content_provider_ = [buffer, fd = body.fd, base = body.offset, &read_error,
                           &on_sent](size_t offset, size_t length, httplib::DataSink &sink) {
    size_t want = std::min(length, buffer->size());
    ssize_t got;
    do
      got = ::pread(fd, buffer->data(), want, static_cast<off_t>(base + offset));
    while (got < 0 && errno == EINTR);
    if (got <= 0) {
      read_error = got < 0 ? std::strerror(errno) : "the file is shorter than planned";
      return false;
    }
    if (!sink.write(buffer->data(), static_cast<size_t>(got))) return false;
    if (on_sent) on_sent(static_cast<uint64_t>(got));
    return true;
  };
}

} // namespace

namespace {

struct Exchange {
  Reply reply;
  std::optional<Error> sink_error;
  std::string read_error;
};

httplib::Request build_request(const S3Client::Impl &impl, const Call &call,
                               const std::map<std::string, std::string> &headers,
                               const SigV4Signed &sig, Exchange &x) {
  httplib::Request req;
  req.method = call.method;
  req.path = s3_encode_path(raw_path(impl.endpoint, impl.options.bucket, call.key));
  if (!call.query.empty()) req.path += "?" + s3_canonical_query(call.query);
  req.headers = request_headers(headers, sig);
  if (call.body.bytes || call.body.fd >= 0) req.set_header("Content-Type", call.body.content_type);
  if (call.body.bytes)
    req.body = *call.body.bytes;
  else if (call.body.fd >= 0 && call.body.length > 0)
    attach_file_body(req, call.body, x.read_error, impl.options.on_sent);
  req.response_handler = [&x](const httplib::Response &r) {
    x.reply.status = r.status;
    return true;
  };
  req.content_receiver = [&x, &call](const char *data, size_t n, uint64_t, uint64_t) {
    bool success = x.reply.status >= 200 && x.reply.status <= 299 && !call.error_in_200;
    if (success && call.sink) {
      auto written = call.sink(std::string_view(data, n));
      if (!written) x.sink_error = written.error();
      return bool(written);
    }
    if (x.reply.body.size() < 1024 * 1024) x.reply.body.append(data, n);
    return true;
  };
  return req;
}

} // namespace

namespace {

Outcome attempt(S3Client::Impl &impl, httplib::Client &client, const Call &call) {
  std::map<std::string, std::string> headers = call.headers;
  if (call.prepare) call.prepare(headers);
  headers["Host"] = impl.endpoint.host_header;
  SigV4Request sr;
  sr.method = call.method;
  sr.path = raw_path(impl.endpoint, impl.options.bucket, call.key);
  sr.query = call.query;
  sr.headers = headers;
  sr.payload_sha256 = call.body.sha256.empty() ? std::string(s3::k_empty_sha256) : call.body.sha256;
  sr.time = std::chrono::system_clock::now() + std::chrono::seconds(impl.clock_offset_seconds);
  sr.region = impl.options.region;
  Outcome out;
  auto sig = sigv4_sign(sr, impl.credentials, &impl.key_cache);
  if (!sig) {
    out.error = impl.error(call.action, call.key, sig.error().message);
    return out;
  }
  Exchange x;
  httplib::Request req = build_request(impl, call, headers, *sig, x);
  int hook = add_cancel_hook([&client] { client.stop(); });
  auto res = client.send(req);
  remove_cancel_hook(hook);
  if (x.sink_error) {
    out.error = impl.error(call.action, call.key, x.sink_error->message);
    return out;
  }
  if (!x.read_error.empty()) {
    out.error = impl.error(call.action, call.key, "unable to read the local file: " + x.read_error);
    return out;
  }
  if (!res) {
    bool interrupted = cancel_requested();
    out.error =
        impl.error(call.action, call.key,
                   interrupted ? "interrupted" : describe_transport(res.error(), impl.options));
    if (interrupted) out.error.kind = ErrorKind::interrupted;
    out.retryable = !interrupted && transport_retryable(res.error());
    return out;
  }
  for (const auto &[k, v] : res->headers)
    x.reply.headers[s3::lower(k)] = v;
  x.reply.status = res->status;
  return classify(impl, call, std::move(x.reply));
}

// Full jitter: a uniform delay in [0, min(max, base·2^(attempt-1))].
std::chrono::milliseconds backoff(const S3RetryPolicy &p, int attempt) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  long long cap = p.base_delay.count() << std::min(attempt - 1, 20);
  cap = std::min<long long>(cap, p.max_delay.count());
  if (cap <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::uniform_int_distribution<long long>(0, cap)(rng));
}

// Waits `delay`, returning early (false) on an interrupt.
bool wait_for_retry(std::chrono::milliseconds delay) {
  auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (cancel_requested()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
  }
  return !cancel_requested();
}

// RequestTimeTooSkewed: sign with the server's clock from now on.
bool correct_clock(S3Client::Impl &impl, const Outcome &o) {
  if (o.error.code != "RequestTimeTooSkewed") return false;
  auto server = s3::parse_http_date(o.reply.header("date"));
  if (!server) return false;
  auto offset =
      std::chrono::duration_cast<std::chrono::seconds>(*server - std::chrono::system_clock::now());
  impl.clock_offset_seconds = offset.count();
  log_warn("remote '{}': the local clock is {} s off the server's; signing with the server's time",
           impl.options.remote, -offset.count());
  return true;
}

} // namespace

S3Result<Reply> S3Client::Impl::call(const Call &call) {
  auto &client = *connection->client;
  auto start = std::chrono::steady_clock::now();
  const S3RetryPolicy &policy = options.retry;
  bool clock_corrected = false;
  for (int n = 1;; ++n) {
    Outcome o = attempt(*this, client, call);
    if (o.ok) return std::move(o.reply);
    bool skew = !clock_corrected && correct_clock(*this, o);
    clock_corrected = clock_corrected || skew;
    bool in_time = std::chrono::steady_clock::now() - start < policy.max_total;
    if (!(o.retryable || skew) || n >= policy.max_attempts || !in_time) {
      if (n > 1) o.error.message += " (after " + std::to_string(n) + " attempts)";
      return std::unexpected(std::move(o.error));
    }
    log_debug("remote '{}': {} failed, retrying: {}", options.remote, call.action, o.error.message);
    if (!skew && !wait_for_retry(backoff(policy, n))) {
      S3Error e = error(call.action, call.key, "interrupted");
      e.kind = ErrorKind::interrupted;
      return std::unexpected(std::move(e));
    }
  }
}

namespace s3 {
// Opens the connection for `impl` (keep-alive, timeouts, no redirects, no
// re-encoding of the signed path).
void open_connection(S3Client::Impl &impl) {
  const auto &e = impl.endpoint;
  impl.connection = std::make_unique<S3Client::Impl::Connection>();
  auto client =
      std::make_unique<httplib::Client>(e.scheme + "://" + e.host + ":" + std::to_string(e.port));
  auto t = impl.options.timeout;
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(t);
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(t - secs);
  client->set_connection_timeout(secs.count(), usecs.count());
  client->set_read_timeout(secs.count(), usecs.count());
  client->set_write_timeout(secs.count(), usecs.count());
  client->set_keep_alive(true);
  client->set_follow_location(false);
  client->set_url_encode(false);
  if (!impl.options.ca_file.empty()) client->set_ca_cert_path(impl.options.ca_file);
  impl.connection->client = std::move(client);
}
} // namespace s3

} // namespace gate::util

// Private to util/s3_*.cpp: one signed S3 request with retries (s3_transport.cpp),
// shared by the operations (s3_client.cpp) and uploads (s3_upload.cpp). No
// httplib type appears here: the connection is defined in s3_transport.cpp.
#pragma once

#include "util/s3_client.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace gate::util::s3 {

inline constexpr size_t k_io_buffer = 1024 * 1024;
inline constexpr std::string_view k_empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// A request body: in memory, or `length` bytes of `fd` from `offset` (read
// with pread, again on every attempt). `sha256` is its hex digest.
struct Body {
  const std::string *bytes = nullptr;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string sha256;
  std::string content_type = "application/octet-stream";
};

// Receives a successful answer's body as it arrives; an error stops the
// transfer (and is not retried: it is local, a full disk).
using Sink = std::function<Result<void>(std::string_view data)>;

struct Call {
  std::string method;
  std::string key;    // "" for a bucket-level request
  std::string action; // "upload", "list", ...: "unable to ACTION s3://bucket/key"
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers; // signed (content-md5, x-amz-*, range)
  Body body;
  // Called before each attempt with a copy of `headers` (a Range to resume).
  std::function<void(std::map<std::string, std::string> &headers)> prepare;
  Sink sink;                 // empty: a successful body is kept in memory
  bool error_in_200 = false; // a 200 may carry an <Error> (CompleteMultipartUpload)
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;
  // The value of header `lower_name`, or "".
  std::string header(const std::string &lower_name) const;
};

// Where requests go: scheme, host and port to connect to, and how the bucket
// appears in the path.
struct Endpoint {
  std::string scheme;
  std::string host;
  int port = 443;
  bool virtual_hosted = false;
  std::string host_header; // host[:port], as sent and signed
};

// Resolves the endpoint for `options`; fails with ErrorKind::config for a
// malformed endpoint URL or bucket name.
Result<Endpoint> resolve_endpoint(const S3ClientOptions &options);

// Parses an HTTP date ("Tue, 01 Dec 2026 13:02:40 GMT").
std::optional<std::chrono::system_clock::time_point> parse_http_date(const std::string &text);

} // namespace gate::util::s3

namespace gate::util {

struct S3Client::Impl {
  S3ClientOptions options;
  S3Credentials credentials;
  s3::Endpoint endpoint;
  SigningKeyCache key_cache;
  std::atomic<long long> clock_offset_seconds{0};
  struct Connection;
  std::unique_ptr<Connection> connection;

  Impl();
  ~Impl();

  // Sends `call` until it succeeds (2xx), fails for good, or the retry
  // policy is spent. The error names the remote, the action and s3://bucket/key.
  S3Result<s3::Reply> call(const s3::Call &call);

  // An error about `key` (may be "") for `action`, naming the remote.
  S3Error error(const std::string &action, const std::string &key, const std::string &cause,
                int http_status = 0, std::string code = {}) const;
};

} // namespace gate::util

namespace gate::util::s3 {
// Opens the connection for `impl` (keep-alive, timeouts, no redirects, no
// re-encoding of the signed path).
void open_connection(S3Client::Impl &impl);
} // namespace gate::util::s3

// AWS Signature Version 4 for S3 requests (header-based authentication), over
// OpenSSL HMAC-SHA256. Pure: no I/O, no clock, no logging; the caller sends the
// request with exactly the path, query and headers it signed (cpp-httplib must
// not re-encode the path: set_url_encode(false), and send the signed Host).
// docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
#pragma once

#include "util/expected.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gate::util {

// Who signs. The secret and the session token are secrets: never log them,
// never put them in an error message.
struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // empty: none (long-term keys)
};

// Whether the signer adds `x-amz-content-sha256`. S3 requires it; the generic
// SigV4 test suite (other services) signs without it.
enum class ContentSha256Header { add, omit };

// One request to sign. Path and query values are raw (not percent-encoded);
// the signer encodes them once, by S3's rules.
struct SigV4Request {
  std::string method;                         // "GET", "PUT", ...
  std::string path;                           // "/bucket/key" or "/key", starts with '/'
  std::map<std::string, std::string> query;   // valueless keys: empty value ("uploads")
  std::map<std::string, std::string> headers; // as sent, including Host; any case
  std::string payload_sha256;                 // lowercase hex SHA-256 of the body
  std::chrono::system_clock::time_point time; // when it is sent (skew-corrected)
  std::string region = "us-east-1";
  std::string service = "s3";
  ContentSha256Header content_sha256 = ContentSha256Header::add;
};

// What signing produced. `headers_to_add` go onto the request as they are
// (x-amz-date, x-amz-content-sha256, x-amz-security-token, Authorization).
// `canonical_request` and `string_to_sign` contain no secret unless a session
// token is used (it is a signed header): redact it before logging them.
struct SigV4Signed {
  std::vector<std::pair<std::string, std::string>> headers_to_add;
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature; // lowercase hex
};

// Caches the derived signing key per (date, region, service, key pair): it
// changes once a day, and parallel uploads share it. Thread-safe.
class SigningKeyCache {
public:
  // The raw signing key, derived on a miss.
  std::string get(const S3Credentials &credentials, std::string_view date, std::string_view region,
                  std::string_view service);

private:
  std::mutex m_mutex;
  std::string m_scope; // date/region/service/access key/secret fingerprint
  std::string m_key;
};

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
// "aws4_request"); raw 32 bytes. `date` is YYYYMMDD.
std::string sigv4_signing_key(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service);

// S3's CanonicalURI: every byte but A-Z a-z 0-9 - _ . ~ / percent-encoded with
// uppercase hex, once, no normalisation ("//" stays). Also the path to send.
std::string s3_encode_path(std::string_view raw_path);

// Percent-encodes one query key or value ('/' too).
std::string s3_encode_query_component(std::string_view raw);

// The canonical query string (sorted, encoded, valueless keys as `key=`).
// Also a valid query string to send.
std::string s3_canonical_query(const std::map<std::string, std::string> &query);

// Formats `t` as YYYYMMDDTHHMMSSZ (UTC).
std::string amz_date(std::chrono::system_clock::time_point t);

// Signs `request`. Fails (no secret in the message) when a credential is
// missing, the path does not start with '/', the payload hash is not 64 hex
// digits, a header name is not a token, two headers differ only in case, or
// the caller set a header the signer owns (x-amz-date, x-amz-content-sha256,
// x-amz-security-token, authorization). `cache` may be null.
Result<SigV4Signed> sigv4_sign(const SigV4Request &request, const S3Credentials &credentials,
                               SigningKeyCache *cache = nullptr);

} // namespace gate::util

#include "util/s3_sign.hpp"

#include "util/sha256.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

namespace gate::util {

namespace {

constexpr std::string_view k_algorithm = "AWS4-HMAC-SHA256";

// Sent but never signed: proxies and cpp-httplib may rewrite them (minio-go's
// v4IgnoredHeaders; pgBackRest leaves content-length out too).
constexpr std::array<std::string_view, 3> k_unsigned_headers = {"user-agent", "accept-encoding",
                                                                "content-length"};

// Added by the signer itself; a caller's copy would be signed twice.
constexpr std::array<std::string_view, 4> k_signer_headers = {
    "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization"};

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string percent_encode(std::string_view raw, bool keep_slash) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// RFC 7230 token characters: what a header name may be made of.
bool is_token(std::string_view name) {
  static const std::string_view extra = "!#$%&'*+-.^_`|~";
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || extra.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

// Trims the value and collapses each run of spaces/tabs inside it to one space.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

bool contains(auto const &table, std::string_view name) {
  return std::find(table.begin(), table.end(), name) != table.end();
}

// Lowercased name → canonical value for every header that is signed.
Result<std::map<std::string, std::string>> signed_headers(const SigV4Request &request) {
  std::map<std::string, std::string> out;
  for (const auto &[name, value] : request.headers) {
    if (!is_token(name)) return fail("unable to sign request: invalid header name '" + name + "'");
    std::string lower = lowercase(name);
    if (contains(k_signer_headers, lower))
      return fail("unable to sign request: header '" + name + "' is set by the signer");
    if (contains(k_unsigned_headers, lower)) continue;
    if (!out.emplace(lower, canonical_header_value(value)).second)
      return fail("unable to sign request: header '" + name + "' is given twice");
  }
  return out;
}

std::string join_keys(const std::map<std::string, std::string> &headers) {
  std::string out;
  for (const auto &[name, value] : headers) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

Result<void> check_request(const SigV4Request &request, const S3Credentials &credentials) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
    return fail("unable to sign request: no access key id or secret access key");
  if (request.method.empty()) return fail("unable to sign request: no method");
  if (request.path.empty() || request.path.front() != '/')
    return fail("unable to sign request: path '" + request.path + "' does not start with '/'");
  if (request.payload_sha256.size() != 64 || !is_hex(request.payload_sha256))
    return fail("unable to sign request: payload hash is not 64 hex digits");
  if (request.region.empty() || request.service.empty())
    return fail("unable to sign request: no region or service");
  return {};
}

} // namespace

std::string s3_encode_path(std::string_view raw_path) {
  return percent_encode(raw_path, true);
}

std::string s3_encode_query_component(std::string_view raw) {
  return percent_encode(raw, false);
}

std::string s3_canonical_query(const std::map<std::string, std::string> &query) {
  // Sorted by the encoded key: encoding can change the order ('%' < 'A').
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto &[key, value] : query)
    encoded.emplace_back(s3_encode_query_component(key), s3_encode_query_component(value));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto &[key, value] : encoded) {
    if (!out.empty()) out += '&';
    out += key + "=" + value;
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string sigv4_signing_key(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service) {
  std::string k_date = hmac_sha256_raw("AWS4" + std::string(secret), date);
  std::string k_region = hmac_sha256_raw(k_date, region);
  std::string k_service = hmac_sha256_raw(k_region, service);
  return hmac_sha256_raw(k_service, "aws4_request");
}

std::string SigningKeyCache::get(const S3Credentials &credentials, std::string_view date,
                                 std::string_view region, std::string_view service) {
  // A fingerprint, not the secret, identifies the key pair inside the scope.
  std::string scope = std::string(date) + "/" + std::string(region) + "/" + std::string(service) +
                      "/" + credentials.access_key_id + "/" +
                      sha256_hex(credentials.secret_access_key);
  std::lock_guard lock(m_mutex);
  if (scope != m_scope || m_key.empty()) {
    m_key = sigv4_signing_key(credentials.secret_access_key, date, region, service);
    m_scope = std::move(scope);
  }
  return m_key;
}

Result<SigV4Signed> sigv4_sign(const SigV4Request &request, const S3Credentials &credentials,
                               SigningKeyCache *cache) {
  TRY(check_request(request, credentials));
  TRY_ASSIGN(auto headers, signed_headers(request));
  SigV4Signed out;
  const std::string timestamp = amz_date(request.time);
  const std::string date = timestamp.substr(0, 8);
  out.headers_to_add.emplace_back("x-amz-date", timestamp);
  if (request.content_sha256 == ContentSha256Header::add)
    out.headers_to_add.emplace_back("x-amz-content-sha256", request.payload_sha256);
  if (!credentials.session_token.empty())
    out.headers_to_add.emplace_back("x-amz-security-token", credentials.session_token);
  for (const auto &[name, value] : out.headers_to_add)
    headers[name] = value;

  std::string canonical_headers;
  for (const auto &[name, value] : headers)
    canonical_headers += name + ":" + value + "\n";
  const std::string header_list = join_keys(headers);
  out.canonical_request = request.method + "\n" + s3_encode_path(request.path) + "\n" +
                          s3_canonical_query(request.query) + "\n" + canonical_headers + "\n" +
                          header_list + "\n" + request.payload_sha256;

  const std::string scope = date + "/" + request.region + "/" + request.service + "/aws4_request";
  out.string_to_sign = std::string(k_algorithm) + "\n" + timestamp + "\n" + scope + "\n" +
                       sha256_hex(out.canonical_request);
  const std::string key = cache ? cache->get(credentials, date, request.region, request.service)
                                : sigv4_signing_key(credentials.secret_access_key, date,
                                                    request.region, request.service);
  out.signature = hex_encode(hmac_sha256_raw(key, out.string_to_sign));
  out.headers_to_add.emplace_back(
      "Authorization", std::string(k_algorithm) + " Credential=" + credentials.access_key_id + "/" +
                           scope + ", SignedHeaders=" + header_list +
                           ", Signature=" + out.signature);
  return out;
}

} // namespace gate::util

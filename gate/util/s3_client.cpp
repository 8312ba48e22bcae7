// S3Client: construction, downloads, HEAD, listings and deletes. Uploads are
// in s3_upload.cpp, the signed request with its retries in s3_transport.cpp.
#include "util/s3_client.hpp"
#include "util/xml.hpp"

#include "util/fd.hpp"
#include "util/s3_parts.hpp"
#include "util/s3_transport.hpp"
#include "util/sha256.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace gate::util {

using s3::Call;

std::string s3_uri(const std::string &bucket, const std::string &key) {
  return "s3://" + bucket + "/" + key;
}

S3Client::S3Client() : m_impl(std::make_unique<Impl>()) {}
S3Client::S3Client(S3Client &&) noexcept = default;
S3Client &S3Client::operator=(S3Client &&) noexcept = default;
S3Client::~S3Client() = default;

Result<S3Client> S3Client::create(S3ClientOptions options, S3Credentials credentials) {
  if (options.region.empty())
    return fail(ErrorKind::config, "remote '" + options.remote + "': empty region");
  if (options.timeout.count() <= 0)
    return fail(ErrorKind::config, "remote '" + options.remote + "': timeout must be positive");
  if (options.retry.max_attempts < 1) options.retry.max_attempts = 1;
  TRY_ASSIGN(auto endpoint, s3::resolve_endpoint(options));
  S3Client c;
  c.m_impl->options = std::move(options);
  c.m_impl->credentials = std::move(credentials);
  c.m_impl->endpoint = std::move(endpoint);
  s3::open_connection(*c.m_impl);
  return c;
}

const S3ClientOptions &S3Client::options() const {
  return m_impl->options;
}

std::chrono::seconds S3Client::clock_offset() const {
  return std::chrono::seconds(m_impl->clock_offset_seconds.load());
}

namespace {

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::string("unable to write the download: ") + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

uint64_t parse_u64(const std::string &text) {
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

} // namespace

S3Result<S3GetResult> S3Client::get_object(const std::string &key, int fd) {
  Sha256 hash;
  S3GetResult got;
  Call call{.method = "GET", .key = key, .action = "download"};
  // A transfer cut off midway goes on from where it stopped, from the same object.
  call.prepare = [&got](std::map<std::string, std::string> &headers) {
    if (got.size == 0) return;
    headers["Range"] = "bytes=" + std::to_string(got.size) + "-";
    if (!got.etag.empty()) headers["If-Match"] = got.etag;
  };
  call.sink = [&](std::string_view data) -> Result<void> {
    TRY(write_all(fd, data));
    hash.update(data);
    got.size += data.size();
    return {};
  };
  // The size to expect, and the ETag a resumed transfer must match.
  auto head = head_object(key);
  if (!head) return std::unexpected(head.error());
  if (!*head)
    return std::unexpected(m_impl->error(
        "download", key, "HTTP 404 NoSuchKey: the object does not exist", 404, "NoSuchKey"));
  got.etag = (*head)->etag;
  auto reply = m_impl->call(call);
  if (!reply) return std::unexpected(reply.error());
  if (got.size != (*head)->size)
    return std::unexpected(m_impl->error("download", key,
                                         "received " + std::to_string(got.size) +
                                             " bytes, the object has " +
                                             std::to_string((*head)->size)));
  got.sha256 = hash.hex_digest();
  return got;
}

S3Result<S3GetResult> S3Client::get_object(const std::string &key,
                                           const std::filesystem::path &path) {
  std::filesystem::path partial = path.string() + ".part";
  UniqueFd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd)
    return std::unexpected(m_impl->error(
        "download", key, "unable to create '" + partial.string() + "': " + std::strerror(errno)));
  auto got = get_object(key, fd.get());
  bool ok = got && ::fsync(fd.get()) == 0;
  fd.reset();
  std::error_code ec;
  if (ok) std::filesystem::rename(partial, path, ec);
  if (!ok || ec) {
    std::filesystem::remove(partial, ec);
    if (got)
      return std::unexpected(
          m_impl->error("download", key, "unable to write '" + path.string() + "'"));
  }
  return got;
}

S3Result<std::optional<S3ObjectInfo>> S3Client::head_object(const std::string &key) {
  Call call{.method = "HEAD", .key = key, .action = "look up"};
  call.headers["x-amz-checksum-mode"] = "ENABLED";
  auto reply = m_impl->call(call);
  if (!reply && reply.error().http_status == 404) return std::nullopt;
  if (!reply) return std::unexpected(reply.error());
  S3ObjectInfo info;
  info.size = parse_u64(reply->header("content-length"));
  info.etag = reply->header("etag");
  info.last_modified = reply->header("last-modified");
  info.checksum_sha256 = reply->header("x-amz-checksum-sha256");
  info.storage_class = reply->header("x-amz-storage-class");
  return info;
}

S3Result<std::vector<S3ObjectEntry>> S3Client::list_objects(const std::string &prefix,
                                                            int page_size) {
  std::vector<S3ObjectEntry> all;
  std::string token;
  do {
    Call call{.method = "GET", .action = "list"};
    call.query = {{"list-type", "2"},
                  {"prefix", prefix},
                  {"encoding-type", "url"},
                  {"max-keys", std::to_string(std::clamp(page_size, 1, 1000))}};
    if (!token.empty()) call.query["continuation-token"] = token;
    auto reply = m_impl->call(call);
    if (!reply) return std::unexpected(reply.error());
    auto page = parse_list_objects_v2(reply->body);
    if (!page) return std::unexpected(m_impl->error("list", prefix, page.error().message));
    for (auto &o : page->objects)
      all.push_back(std::move(o));
    token = page->is_truncated ? page->next_continuation_token : "";
  } while (!token.empty());
  return all;
}

namespace {

std::string delete_body(const std::vector<std::string> &keys, size_t from, size_t to) {
  std::string body =
      "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>";
  for (size_t i = from; i < to; ++i)
    body += "<Object><Key>" + xml_escape(keys[i]) + "</Key></Object>";
  return body + "</Delete>";
}

} // namespace

S3Result<S3DeleteResult> S3Client::delete_objects(const std::vector<std::string> &keys) {
  constexpr size_t k_batch = 1000; // DeleteObjects' limit
  S3DeleteResult all;
  for (size_t from = 0; from < keys.size(); from += k_batch) {
    size_t to = std::min(keys.size(), from + k_batch);
    std::string body = delete_body(keys, from, to);
    Call call{.method = "POST", .action = "delete objects in"};
    call.query = {{"delete", ""}};
    call.headers["Content-MD5"] = content_md5(body);
    call.body = s3::Body{.bytes = &body, .sha256 = sha256_hex(body)};
    call.body.content_type = "application/xml";
    auto reply = m_impl->call(call);
    if (!reply) return std::unexpected(reply.error());
    auto result = parse_delete_result(reply->body);
    if (!result)
      return std::unexpected(m_impl->error("delete objects in", "", result.error().message));
    for (auto &k : result->deleted)
      all.deleted.push_back(std::move(k));
    for (auto &e : result->errors)
      all.errors.push_back(std::move(e));
  }
  return all;
}

S3Result<std::vector<S3MultipartUpload>>
S3Client::list_multipart_uploads(const std::string &prefix) {
  std::vector<S3MultipartUpload> all;
  std::string key_marker, upload_marker;
  for (;;) {
    Call call{.method = "GET", .action = "list multipart uploads in"};
    call.query = {{"uploads", ""}, {"prefix", prefix}};
    if (!key_marker.empty()) call.query["key-marker"] = key_marker;
    if (!upload_marker.empty()) call.query["upload-id-marker"] = upload_marker;
    auto reply = m_impl->call(call);
    if (!reply) return std::unexpected(reply.error());
    auto page = parse_list_multipart_uploads(reply->body);
    if (!page)
      return std::unexpected(m_impl->error("list multipart uploads in", "", page.error().message));
    for (auto &u : page->uploads)
      all.push_back(std::move(u));
    if (!page->is_truncated || page->next_key_marker.empty()) return all;
    key_marker = page->next_key_marker;
    upload_marker = page->next_upload_id_marker;
  }
}

S3Result<void> S3Client::abort_multipart_upload(const std::string &key,
                                                const std::string &upload_id) {
  Call call{.method = "DELETE", .key = key, .action = "abort the multipart upload of"};
  call.query = {{"uploadId", upload_id}};
  auto reply = m_impl->call(call);
  if (!reply && reply.error().code == "NoSuchUpload") return {}; // already gone
  if (!reply) return std::unexpected(reply.error());
  return {};
}

} // namespace gate::util

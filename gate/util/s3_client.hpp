// A client for one bucket on S3 or an S3-compatible server (MinIO, Ceph RGW,
// R2, B2, Scaleway...), over cpp-httplib and util/s3_sign (Signature V4 with
// signed payloads: every body's SHA-256 is computed from the local file
// before it is sent, so the server rejects a body that changed on the way).
//
// Uploads stream from a file descriptor with a fixed 1 MiB buffer, whatever
// the part size: each part is read once to hash it and once to send it.
// Failed requests are retried with jittered exponential backoff (5xx, 429,
// SlowDown, RequestTimeout, connection failures and socket timeouts), bounded
// in count and in total time, each attempt signed afresh; a
// RequestTimeTooSkewed answer corrects the clock offset from the server's
// Date. A failed multipart upload is aborted.
//
// Errors name the remote, the bucket and the key; never a credential or a
// signature. No httplib type leaves the .cpp files. One S3Client sends one
// request at a time: parallel transfers use one client each.
#pragma once

#include "util/expected.hpp"
#include "util/s3_sign.hpp"
#include "util/s3_xml.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gate::util {

// How the bucket is addressed. auto: path style with an `endpoint` (MinIO,
// Ceph and most S3-compatibles need it), virtual-hosted on AWS unless the
// bucket name has a '.' (the wildcard certificate would not match).
enum class S3UrlStyle { automatic, path, virtual_hosted };

struct S3RetryPolicy {
  int max_attempts = 5; // including the first
  std::chrono::milliseconds base_delay{250};
  std::chrono::milliseconds max_delay{20000};
  std::chrono::milliseconds max_total{300000}; // no retry starts after this
};

struct S3ClientOptions {
  std::string remote; // the remote's name, in every message
  std::string bucket;
  std::string endpoint; // "http(s)://host[:port]"; empty: AWS (https://s3.REGION.amazonaws.com)
  std::string region = "us-east-1";
  S3UrlStyle url_style = S3UrlStyle::automatic;
  std::string ca_file; // extra CA bundle for https
  // Connect, read and write timeout of the socket: a peer that accepts and
  // never answers fails after this (then retries, bounded by `retry`).
  std::chrono::milliseconds timeout{60000};
  std::string storage_class; // x-amz-storage-class on uploads; empty: the bucket's default
  uint32_t max_parts = 10000;
  std::optional<uint64_t> part_size; // empty: grows with the file (util/s3_parts)
  S3RetryPolicy retry;
  // Told the size of each chunk of a file body sent (progress; a retried
  // request reports its bytes again). Called on the sending thread.
  std::function<void(uint64_t)> on_sent;
};

// A failed S3 operation. `http_status` is 0 when no answer came (connection
// refused, timeout, TLS); `code` is S3's error code when the server sent one
// ("AccessDenied", "NoSuchKey", "SignatureDoesNotMatch"...), else empty.
// Callers decide on these, never on the message.
struct S3Error : Error {
  int http_status = 0;
  std::string code;
};

template <typename T> using S3Result = std::expected<T, S3Error>;

// What one upload stored. `sha256` is of the bytes read from the file (and
// signed): the object's content when the upload succeeded.
struct S3PutResult {
  uint64_t size = 0;
  std::string sha256; // lowercase hex, of the whole object
  std::string etag;   // quotes kept; advisory (SSE-KMS and some servers differ)
  uint64_t part_count = 1;
  bool multipart = false;
};

// What a download received.
struct S3GetResult {
  uint64_t size = 0;
  std::string sha256; // lowercase hex of the bytes written
  std::string etag;
};

// What HEAD says about an object.
struct S3ObjectInfo {
  uint64_t size = 0;
  std::string etag;
  std::string last_modified;   // as sent (RFC 7231 date)
  std::string checksum_sha256; // x-amz-checksum-sha256 when the server offers one
  std::string storage_class;
};

class S3Client {
public:
  // Checks the options (bucket name, endpoint URL, region) and prepares the
  // connection; sends nothing. Fails with ErrorKind::config on a bad option.
  static Result<S3Client> create(S3ClientOptions options, S3Credentials credentials);
  S3Client(S3Client &&) noexcept;
  S3Client &operator=(S3Client &&) noexcept;
  ~S3Client();

  const S3ClientOptions &options() const;

  // Uploads the regular file `path` as `key`.
  S3Result<S3PutResult> put_object(const std::string &key, const std::filesystem::path &path);
  // Uploads `size` bytes from offset 0 of `fd`, which must support pread (a
  // regular file). One PUT when the plan from plan_parts is a single part,
  // else a multipart upload, aborted when any step fails.
  S3Result<S3PutResult> put_object(const std::string &key, int fd, uint64_t size);
  // Uploads a small in-memory body (a manifest).
  S3Result<S3PutResult> put_object_bytes(const std::string &key, const std::string &body);

  // Streams the object into `fd` (written from its current position),
  // hashing what arrives. A HEAD first gives the size to expect and the ETag;
  // a transfer cut off midway resumes with a Range request for the rest
  // (If-Match on that ETag). Fails with code "NoSuchKey" when the object
  // does not exist, and when fewer or more bytes arrive than HEAD announced.
  S3Result<S3GetResult> get_object(const std::string &key, int fd);
  // Downloads into `path` (written as PATH.part, renamed when complete; removed on failure).
  S3Result<S3GetResult> get_object(const std::string &key, const std::filesystem::path &path);

  // The object's size and checksums; nullopt when it does not exist.
  S3Result<std::optional<S3ObjectInfo>> head_object(const std::string &key);

  // Every object whose key starts with `prefix` (ListObjectsV2, following
  // continuation tokens; `page_size` keys per request, at most 1000).
  S3Result<std::vector<S3ObjectEntry>> list_objects(const std::string &prefix,
                                                    int page_size = 1000);

  // Deletes `keys` with DeleteObjects in batches of 1000 (quiet mode). Keys
  // the server refused are in the result's `errors` (AccessDenied for
  // write-only keys), not an error; an error means a whole request failed.
  S3Result<S3DeleteResult> delete_objects(const std::vector<std::string> &keys);

  // Incomplete multipart uploads under `prefix` (ListMultipartUploads, paged).
  S3Result<std::vector<S3MultipartUpload>> list_multipart_uploads(const std::string &prefix);
  S3Result<void> abort_multipart_upload(const std::string &key, const std::string &upload_id);

  // The clock correction in use (server time - local time), after a
  // RequestTimeTooSkewed answer.
  std::chrono::seconds clock_offset() const;

  struct Impl;

private:
  S3Client();
  std::unique_ptr<Impl> m_impl;
};

// "s3://bucket/key" of `key` in `bucket`, for messages.
std::string s3_uri(const std::string &bucket, const std::string &key);

} // namespace gate::util

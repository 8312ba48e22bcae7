// S3Client uploads: one PUT for a file that fits in one part, else a
// multipart upload (create, parts in order, complete), aborted on any
// failure so that no invisible, billed parts stay behind.
#include "util/s3_client.hpp"

#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"
#include "util/s3_parts.hpp"
#include "util/s3_transport.hpp"
#include "util/sha256.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gate::util {

using s3::Call;

namespace {

// Hashes `length` bytes of `fd` from `offset` into `part` (and `whole`, the
// object's running digest), 1 MiB at a time.
Result<std::string> hash_range(int fd, uint64_t offset, uint64_t length, Sha256 &whole) {
  std::vector<char> buffer(s3::k_io_buffer);
  Sha256 part;
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(std::string("unable to read the file: ") + std::strerror(errno));
    if (got == 0) return fail("the file became shorter while it was uploaded");
    part.update(buffer.data(), static_cast<size_t>(got));
    whole.update(buffer.data(), static_cast<size_t>(got));
    offset += static_cast<uint64_t>(got);
    length -= static_cast<uint64_t>(got);
  }
  return part.hex_digest();
}

void add_storage_class(Call &call, const S3ClientOptions &o) {
  if (!o.storage_class.empty()) call.headers["x-amz-storage-class"] = o.storage_class;
}

std::string complete_body(const std::vector<std::string> &etags) {
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < etags.size(); ++i)
    body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
            "</ETag></Part>";
  return body + "</CompleteMultipartUpload>";
}

} // namespace

// The multipart steps, over one client; the upload id is kept for the abort.
class MultipartUpload {
public:
  MultipartUpload(S3Client::Impl &impl, const std::string &key, int fd, uint64_t size,
                  const PartPlan &plan)
      : m_impl(impl), m_key(key), m_fd(fd), m_size(size), m_plan(plan) {}

  S3Result<S3PutResult> run() {
    auto result = upload();
    if (!result && !m_upload_id.empty()) abort_after(result.error());
    return result;
  }

private:
  S3Result<S3PutResult> upload() {
    Call create{.method = "POST", .key = m_key, .action = "start the multipart upload of"};
    create.query = {{"uploads", ""}};
    add_storage_class(create, m_impl.options);
    auto created = m_impl.call(create);
    if (!created) return std::unexpected(created.error());
    auto id = parse_initiate_multipart_upload(created->body);
    if (!id) return std::unexpected(m_impl.error(create.action, m_key, id.error().message));
    m_upload_id = *id;
    Sha256 whole;
    std::vector<std::string> etags;
    for (uint64_t n = 1; n <= m_plan.part_count; ++n) {
      auto etag = upload_part(n, whole);
      if (!etag) return std::unexpected(etag.error());
      etags.push_back(*etag);
      if (n == 1) fault_point("offsite.after-part"); // inert unless a test set it (util/fault.hpp)
    }
    TRY_ASSIGN(std::string etag, complete(etags));
    return S3PutResult{m_size, whole.hex_digest(), etag, m_plan.part_count, true};
  }

  S3Result<std::string> upload_part(uint64_t number, Sha256 &whole) {
    PartRange range = part_range(m_plan, m_size, number);
    std::string action = "upload part " + std::to_string(number) + " of";
    auto sha = hash_range(m_fd, range.offset, range.length, whole);
    if (!sha) return std::unexpected(m_impl.error(action, m_key, sha.error().message));
    Call call{.method = "PUT", .key = m_key, .action = action};
    call.query = {{"partNumber", std::to_string(number)}, {"uploadId", m_upload_id}};
    call.body =
        s3::Body{.fd = m_fd, .offset = range.offset, .length = range.length, .sha256 = *sha};
    auto reply = m_impl.call(call);
    if (!reply) return std::unexpected(reply.error());
    std::string etag = reply->header("etag");
    if (etag.empty()) return std::unexpected(m_impl.error(action, m_key, "the answer has no ETag"));
    return etag;
  }

  S3Result<std::string> complete(const std::vector<std::string> &etags) {
    std::string body = complete_body(etags);
    Call call{.method = "POST", .key = m_key, .action = "complete the multipart upload of"};
    call.query = {{"uploadId", m_upload_id}};
    call.body = s3::Body{.bytes = &body, .sha256 = sha256_hex(body)};
    call.body.content_type = "application/xml";
    call.error_in_200 = true;
    auto reply = m_impl.call(call);
    if (!reply && reply.error().code == "NoSuchUpload") return completed_meanwhile(reply.error());
    if (!reply) return std::unexpected(reply.error());
    auto etag = parse_complete_multipart_upload(reply->body);
    if (!etag) return std::unexpected(m_impl.error(call.action, m_key, etag.error().message));
    m_upload_id.clear(); // complete: nothing to abort
    return *etag;
  }

  // A Complete retried after its answer was lost finds the upload gone: the
  // first one may have assembled the object. It did when the object is there
  // with the size uploaded.
  S3Result<std::string> completed_meanwhile(const S3Error &failure) {
    Call head{.method = "HEAD", .key = m_key, .action = "look up"};
    auto reply = m_impl.call(head);
    if (!reply || reply->header("content-length") != std::to_string(m_size))
      return std::unexpected(failure);
    m_upload_id.clear();
    return reply->header("etag");
  }

  // The upload failed: abort it (even after an interrupt), and say in the
  // error when the abort failed too.
  void abort_after(S3Error &failure) {
    CancelShield shield;
    Call call{.method = "DELETE", .key = m_key, .action = "abort the multipart upload of"};
    call.query = {{"uploadId", m_upload_id}};
    auto aborted = m_impl.call(call);
    if (!aborted && aborted.error().code != "NoSuchUpload") {
      failure.message += "\nthe incomplete upload " + m_upload_id +
                         " could not be aborted either: " + aborted.error().message +
                         "\nhint: once it is a day old, `gate prune --remote " +
                         m_impl.options.remote +
                         "` (and retention after each run) aborts it; so does a lifecycle rule "
                         "AbortIncompleteMultipartUpload";
      log_warn("{}", aborted.error().message);
    }
  }

  S3Client::Impl &m_impl;
  std::string m_key;
  int m_fd;
  uint64_t m_size;
  PartPlan m_plan;
  std::string m_upload_id;
};

S3Result<S3PutResult> S3Client::put_object(const std::string &key, int fd, uint64_t size) {
  auto plan = plan_parts(size, m_impl->options.max_parts, m_impl->options.part_size);
  if (!plan) {
    S3Error e = m_impl->error("upload", key, plan.error().message);
    e.kind = plan.error().kind;
    return std::unexpected(std::move(e));
  }
  if (!plan->single_put) return MultipartUpload(*m_impl, key, fd, size, *plan).run();
  Sha256 whole;
  auto sha = hash_range(fd, 0, size, whole);
  if (!sha) return std::unexpected(m_impl->error("upload", key, sha.error().message));
  Call call{.method = "PUT", .key = key, .action = "upload"};
  call.body = s3::Body{.fd = fd, .offset = 0, .length = size, .sha256 = *sha};
  add_storage_class(call, m_impl->options);
  auto reply = m_impl->call(call);
  if (!reply) return std::unexpected(reply.error());
  return S3PutResult{size, *sha, reply->header("etag"), 1, false};
}

S3Result<S3PutResult> S3Client::put_object(const std::string &key,
                                           const std::filesystem::path &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0)
    return std::unexpected(m_impl->error(
        "upload", key, "unable to open '" + path.string() + "': " + std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return std::unexpected(
        m_impl->error("upload", key, "'" + path.string() + "' is not a regular file"));
  return put_object(key, fd.get(), static_cast<uint64_t>(st.st_size));
}

S3Result<S3PutResult> S3Client::put_object_bytes(const std::string &key, const std::string &body) {
  std::string sha = sha256_hex(body);
  Call call{.method = "PUT", .key = key, .action = "upload"};
  call.body = s3::Body{.bytes = &body, .sha256 = sha};
  add_storage_class(call, m_impl->options);
  auto reply = m_impl->call(call);
  if (!reply) return std::unexpected(reply.error());
  return S3PutResult{body.size(), sha, reply->header("etag"), 1, false};
}

} // namespace gate::util

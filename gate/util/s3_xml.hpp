// Typed readings of the XML documents S3 (and S3-compatible servers) answer
// with, over the strict reader in util/xml.hpp. Every parser returns an error
// value for malformed or truncated input, or for a document of another kind;
// none throws.
#pragma once

#include "util/expected.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gate::util {

// An `<Error>` document. `region` is set by AuthorizationHeaderMalformed and
// PermanentRedirect answers (the bucket's real region).
struct S3ErrorBody {
  std::string code;
  std::string message;
  std::string region;
  std::string resource;
  std::string request_id;
};

// Reads an `<Error>` body, which may follow an HTTP error status or hide in a
// 200 to CompleteMultipartUpload (after whitespace S3 streams meanwhile).
// Returns nullopt for an empty body or a document of another kind; fails for
// malformed XML or an `<Error>` without a `<Code>`.
Result<std::optional<S3ErrorBody>> parse_s3_error(std::string_view body);

// "Code: Message" (message only when present), for error messages.
std::string describe(const S3ErrorBody &error);

// The UploadId of an InitiateMultipartUploadResult. Fails when it is missing
// or empty, or the body is an `<Error>` (its code in the message).
Result<std::string> parse_initiate_multipart_upload(std::string_view body);

// The ETag of a CompleteMultipartUploadResult, quotes kept. Fails when the
// body is an `<Error>` (a 200 can carry one) or has no ETag.
Result<std::string> parse_complete_multipart_upload(std::string_view body);

// One `<Contents>` of a listing. `last_modified` is ISO 8601 as sent; `etag`
// keeps its quotes.
struct S3ObjectEntry {
  std::string key;
  uint64_t size = 0;
  std::string last_modified;
  std::string etag;
};

// One page of ListObjectsV2. With encoding-type=url, keys and prefixes are
// decoded here. A truncated page always has a continuation token.
struct S3ListPage {
  std::vector<S3ObjectEntry> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;
};

// Reads a ListBucketResult. Fails for a missing Key or Size, a Size that is not
// a decimal number, IsTruncated other than true/false, or a truncated page
// without NextContinuationToken.
Result<S3ListPage> parse_list_objects_v2(std::string_view body);

// A key DeleteObjects could not delete.
struct S3DeleteFailure {
  std::string key;
  std::string code; // "AccessDenied", ...
  std::string message;
};

// What a DeleteResult says, per key (quiet mode lists only the failures).
struct S3DeleteResult {
  std::vector<std::string> deleted;
  std::vector<S3DeleteFailure> errors;
};

// Reads a DeleteResult. Fails for a Deleted or Error entry without a Key, or
// an Error without a Code.
Result<S3DeleteResult> parse_delete_result(std::string_view body);

// One incomplete multipart upload. `initiated` is ISO 8601 as sent.
struct S3MultipartUpload {
  std::string key;
  std::string upload_id;
  std::string initiated;
};

// One page of ListMultipartUploads; when truncated, continue from the markers.
struct S3UploadsPage {
  std::vector<S3MultipartUpload> uploads;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

// Reads a ListMultipartUploadsResult. Fails for an Upload without Key or
// UploadId, or IsTruncated other than true/false.
Result<S3UploadsPage> parse_list_multipart_uploads(std::string_view body);

} // namespace gate::util

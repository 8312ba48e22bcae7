// How a file is cut into S3 multipart parts. AWS allows 1–10,000 parts of
// 5 MiB–5 GiB (the last may be smaller) and a single PUT up to 5 GiB; some
// providers (Scaleway) allow only 1,000 parts. A fixed part size breaks large
// files (pgbackrest#2679), so the default size grows with the file.
#pragma once

#include "util/expected.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gate::util {

inline constexpr uint64_t k_mib = 1024 * 1024;
inline constexpr uint64_t k_s3_min_part_size = 5 * k_mib;
inline constexpr uint64_t k_s3_max_part_size = 5 * 1024 * k_mib;
inline constexpr uint32_t k_s3_max_parts = 10000;

// How one object is uploaded. With `single_put`, one PUT of the whole file
// (part_count 1); otherwise `part_count` parts of `part_size` bytes, the last
// one possibly shorter.
struct PartPlan {
  uint64_t part_size = 0;
  uint64_t part_count = 0;
  bool single_put = false;
};

// Plans the upload of `file_size` bytes. Without `configured_part_size` the
// part size is max(5 MiB, ceil(file_size / max_parts)) rounded up to a whole
// MiB. A file no larger than the part size is one single PUT.
// Fails with ErrorKind::config when `max_parts` is not 1..10000 or a
// configured part size is below 5 MiB, above 5 GiB, or too small for the file
// to fit in `max_parts` parts; with ErrorKind::failed when the file is larger
// than 5 GiB × max_parts. Messages name the sizes, never a path.
Result<PartPlan> plan_parts(uint64_t file_size, uint32_t max_parts = k_s3_max_parts,
                            std::optional<uint64_t> configured_part_size = std::nullopt);

// The byte range of part `number` (1-based, as S3 counts) of a plan for
// `file_size` bytes. Requires 1 <= number <= plan.part_count.
struct PartRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};
PartRange part_range(const PartPlan &plan, uint64_t file_size, uint64_t number);

// Padded standard base64 of raw bytes, as S3's checksum headers and
// Content-MD5 (DeleteObjects requires it) carry them.
std::string base64_encode(std::string_view raw);

// Content-MD5 of a request body: base64 of its raw MD5.
std::string content_md5(std::string_view body);

// x-amz-checksum-sha256 of one part from its lowercase hex SHA-256 (the same
// digest as x-amz-content-sha256): base64 of the raw digest. Empty when `hex`
// is not 64 hex digits.
std::string s3_checksum_sha256(std::string_view sha256_hex);

// The composite checksum S3 reports for a multipart object uploaded with
// x-amz-checksum-algorithm SHA256: base64(SHA256(d1‖…‖dN))-N over the parts'
// raw digests, given as lowercase hex. Empty when a digest is malformed.
std::string s3_composite_sha256(const std::vector<std::string> &part_sha256_hex);

// The ETag AWS gives a multipart object, quotes included:
// "hex(MD5(md5(p1)‖…‖md5(pN)))-N" from the parts' hex MD5s. Advisory only:
// SSE-KMS/SSE-C objects and some servers (s3rver) differ. Empty when a digest
// is malformed.
std::string s3_multipart_etag(const std::vector<std::string> &part_md5_hex);

} // namespace gate::util

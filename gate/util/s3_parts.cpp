#include "util/s3_parts.hpp"

#include "util/sha256.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <openssl/evp.h>
#include <string>

namespace gate::util {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return a / b + (a % b != 0);
}

std::string sized(uint64_t bytes) {
  return std::to_string(bytes) + " bytes (" + human_bytes(bytes) + ")";
}

Result<void> check_configured(uint64_t file_size, uint32_t max_parts, uint64_t part_size) {
  if (part_size < k_s3_min_part_size || part_size > k_s3_max_part_size)
    return fail(ErrorKind::config,
                "part_size " + sized(part_size) + " is outside S3's limits of 5 MiB to 5 GiB");
  if (ceil_div(file_size, part_size) > max_parts)
    return fail(ErrorKind::config,
                "unable to upload " + sized(file_size) + " in parts of " + sized(part_size) +
                    ": it needs " + std::to_string(ceil_div(file_size, part_size)) +
                    " parts, more than max_parts " + std::to_string(max_parts) +
                    "\nhint: raise part_size to at least " +
                    sized(ceil_div(ceil_div(file_size, max_parts), k_mib) * k_mib) +
                    " or leave it unset");
  return {};
}

std::string digest(const EVP_MD *md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<const char *>(out), len);
}

// Raw bytes of `count` concatenated digests given in hex; nullopt if any is
// not `size` bytes of lowercase hex.
std::optional<std::string> concat_raw(const std::vector<std::string> &hex_digests, size_t size) {
  std::string out;
  for (const std::string &hex : hex_digests) {
    if (hex.size() != size * 2 || !is_hex(hex)) return std::nullopt;
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (size_t i = 0; i < hex.size(); i += 2)
      out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

} // namespace

Result<PartPlan> plan_parts(uint64_t file_size, uint32_t max_parts,
                            std::optional<uint64_t> configured_part_size) {
  if (max_parts < 1 || max_parts > k_s3_max_parts)
    return fail(ErrorKind::config,
                "max_parts " + std::to_string(max_parts) + " is outside S3's limits of 1 to 10000");
  if (file_size > k_s3_max_part_size * max_parts)
    return fail("unable to upload " + sized(file_size) + ": larger than " +
                std::to_string(max_parts) + " parts of 5 GiB");
  PartPlan plan;
  if (configured_part_size) {
    TRY(check_configured(file_size, max_parts, *configured_part_size));
    plan.part_size = *configured_part_size;
  } else {
    uint64_t needed = std::max(k_s3_min_part_size, ceil_div(file_size, max_parts));
    // 5 GiB is a whole number of MiB, so rounding up never passes the cap.
    plan.part_size = ceil_div(needed, k_mib) * k_mib;
  }
  if (file_size <= plan.part_size) {
    plan.single_put = true;
    plan.part_count = 1;
  } else {
    plan.part_count = ceil_div(file_size, plan.part_size);
  }
  return plan;
}

PartRange part_range(const PartPlan &plan, uint64_t file_size, uint64_t number) {
  if (plan.single_put) return {0, file_size};
  uint64_t offset = (number - 1) * plan.part_size;
  return {offset, std::min(plan.part_size, file_size - offset)};
}

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                                reinterpret_cast<const unsigned char *>(raw.data()),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(std::max(written, 0)));
  return out;
}

std::string content_md5(std::string_view body) {
  return base64_encode(digest(EVP_md5(), body));
}

std::string s3_checksum_sha256(std::string_view sha256_hex) {
  auto raw = concat_raw({std::string(sha256_hex)}, 32);
  return raw ? base64_encode(*raw) : std::string();
}

std::string s3_composite_sha256(const std::vector<std::string> &part_sha256_hex) {
  auto raw = concat_raw(part_sha256_hex, 32);
  if (!raw || part_sha256_hex.empty()) return {};
  return base64_encode(digest(EVP_sha256(), *raw)) + "-" + std::to_string(part_sha256_hex.size());
}

std::string s3_multipart_etag(const std::vector<std::string> &part_md5_hex) {
  auto raw = concat_raw(part_md5_hex, 16);
  if (!raw || part_md5_hex.empty()) return {};
  return "\"" + hex_encode(digest(EVP_md5(), *raw)) + "-" + std::to_string(part_md5_hex.size()) +
         "\"";
}

} // namespace gate::util

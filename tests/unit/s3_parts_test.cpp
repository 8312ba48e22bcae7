// S3 multipart part sizes: the 10,000 and 1,000 part limits, the 5 MiB floor,
// the 5 GiB cap and the boundaries between single PUT and multipart.
#include "util/s3_parts.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

using namespace gate::util;

namespace {
constexpr uint64_t k_gib = 1024 * k_mib;
constexpr uint64_t k_tib = 1024 * k_gib;
} // namespace

TEST(S3Parts, SmallFilesAreOneSinglePut) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, 5 * k_mib}) {
    auto plan = plan_parts(size);
    ASSERT_TRUE(plan) << size;
    EXPECT_TRUE(plan->single_put) << size;
    EXPECT_EQ(plan->part_count, 1u);
    EXPECT_EQ(plan->part_size, 5 * k_mib);
  }
  auto plan = plan_parts(5 * k_mib + 1);
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->single_put);
  EXPECT_EQ(plan->part_count, 2u);
  EXPECT_EQ(part_range(*plan, 5 * k_mib + 1, 2).offset, 5 * k_mib);
  EXPECT_EQ(part_range(*plan, 5 * k_mib + 1, 2).length, 1u);
}

TEST(S3Parts, TenThousandPartLimitGrowsThePartSizeInWholeMiB) {
  // 5 MiB parts carry up to 48.8 GiB in 10,000 parts; one byte more needs 6 MiB.
  auto at_limit = plan_parts(10000 * 5 * k_mib);
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->part_size, 5 * k_mib);
  EXPECT_EQ(at_limit->part_count, 10000u);
  auto over = plan_parts(10000 * 5 * k_mib + 1);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->part_size, 6 * k_mib);
  EXPECT_LE(over->part_count, 10000u);
  auto one_tib = plan_parts(k_tib);
  ASSERT_TRUE(one_tib);
  EXPECT_EQ(one_tib->part_size % k_mib, 0u);
  EXPECT_EQ(one_tib->part_size, 105 * k_mib); // ceil(1 TiB / 10000) = 104.86 MiB
  EXPECT_EQ(one_tib->part_count, 9987u);
}

TEST(S3Parts, ThousandPartLimitForProvidersThatCapIt) {
  auto plan = plan_parts(100 * k_gib, 1000);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->part_size, 103 * k_mib); // ceil(102.4 MiB)
  EXPECT_LE(plan->part_count, 1000u);
  auto at_limit = plan_parts(1000 * 5 * k_mib, 1000);
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->part_size, 5 * k_mib);
  EXPECT_EQ(at_limit->part_count, 1000u);
  auto over = plan_parts(1000 * 5 * k_mib + 1, 1000);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->part_size, 6 * k_mib);
}

TEST(S3Parts, FiveGibCapBoundsTheObject) {
  auto largest = plan_parts(10000 * 5 * k_gib);
  ASSERT_TRUE(largest);
  EXPECT_EQ(largest->part_size, 5 * k_gib);
  EXPECT_EQ(largest->part_count, 10000u);
  auto too_large = plan_parts(10000 * 5 * k_gib + 1);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().kind, ErrorKind::failed);
  EXPECT_NE(too_large.error().message.find("10000 parts of 5 GiB"), std::string::npos);
  EXPECT_FALSE(plan_parts(1000 * 5 * k_gib + 1, 1000));
  auto single = plan_parts(5 * k_gib, 10000, 5 * k_gib);
  ASSERT_TRUE(single);
  EXPECT_TRUE(single->single_put);
}

TEST(S3Parts, ConfiguredPartSizeIsCheckedAgainstTheLimits) {
  auto plan = plan_parts(20 * k_mib, 10000, 8 * k_mib);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->part_size, 8 * k_mib);
  EXPECT_EQ(plan->part_count, 3u);
  EXPECT_EQ(part_range(*plan, 20 * k_mib, 3).length, 4 * k_mib);
  EXPECT_TRUE(plan_parts(k_mib, 10000, 5 * k_mib));
  auto too_small = plan_parts(k_mib, 10000, 5 * k_mib - 1);
  ASSERT_FALSE(too_small);
  EXPECT_EQ(too_small.error().kind, ErrorKind::config);
  auto too_big = plan_parts(k_mib, 10000, 5 * k_gib + 1);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().kind, ErrorKind::config);
  auto too_many = plan_parts(1000 * 5 * k_mib + 1, 1000, 5 * k_mib);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().kind, ErrorKind::config);
  EXPECT_NE(too_many.error().message.find("1001 parts"), std::string::npos);
  EXPECT_NE(too_many.error().message.find("hint: raise part_size to at least 6291456"),
            std::string::npos);
}

TEST(S3Parts, MaxPartsOutsideOneToTenThousandIsAConfigError) {
  EXPECT_EQ(plan_parts(1, 0).error().kind, ErrorKind::config);
  EXPECT_EQ(plan_parts(1, 10001).error().kind, ErrorKind::config);
  EXPECT_TRUE(plan_parts(1, 1));
}

namespace {
// Three 5 MiB parts of 'A', 'B' and 'C' (ceph/s3-tests PR #564 and the AWS
// multipart ETag rule; both recomputed in REMOTES-AND-AGE.md 1.3).
std::vector<std::string> abc_parts() {
  return {std::string(5 * k_mib, 'A'), std::string(5 * k_mib, 'B'), std::string(5 * k_mib, 'C')};
}

std::string md5_hex(const std::string &data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return hex_encode(std::string(reinterpret_cast<const char *>(out), len));
}
} // namespace

TEST(S3Checksums, PartAndCompositeSha256OfTheCephVector) {
  std::vector<std::string> hex;
  for (const auto &part : abc_parts())
    hex.push_back(sha256_hex(part));
  EXPECT_EQ(s3_checksum_sha256(hex[0]), "275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=");
  EXPECT_EQ(s3_checksum_sha256(hex[1]), "mrHwOfjTL5Zwfj74F05HOQGLdUb7E5szdCbxgUSq6NM=");
  EXPECT_EQ(s3_checksum_sha256(hex[2]), "Vw7oB/nKQ5xWb3hNgbyfkvDiivl+U+/Dft48nfJfDow=");
  EXPECT_EQ(s3_composite_sha256(hex), "uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3");
  EXPECT_EQ(s3_checksum_sha256("not hex"), "");
  EXPECT_EQ(s3_composite_sha256({}), "");
}

TEST(S3Checksums, MultipartEtagAndContentMd5) {
  std::vector<std::string> md5s;
  for (const auto &part : abc_parts()) {
    EXPECT_EQ(content_md5(part).size(), 24u); // base64 of 16 raw bytes
    md5s.push_back(md5_hex(part));
  }
  EXPECT_EQ(s3_multipart_etag(md5s), "\"b2add96cc9702bbf4efb0ccdfc6b7747-3\"");
  EXPECT_EQ(content_md5(""), "1B2M2Y8AsgTpgAmY7PhCfg==" /* openssl md5 -binary | base64 */);
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(s3_multipart_etag({"xyz"}), "");
}

// AWS Signature V4 against the documented vectors: the S3 API reference's
// examples (sig-v4-header-based-auth.html) and aws-c-auth's get-vanilla case.
#include "util/s3_sign.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

using namespace gate::util;

namespace {

const std::string k_empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

S3Credentials s3_docs_credentials() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
}

std::chrono::system_clock::time_point at(std::time_t seconds) {
  return std::chrono::system_clock::from_time_t(seconds);
}

constexpr std::time_t k_2013_05_24 = 1369353600; // 20130524T000000Z

SigV4Request s3_docs_request(std::string method, std::string path) {
  SigV4Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  request.payload_sha256 = k_empty_sha256;
  request.time = at(k_2013_05_24);
  return request;
}

std::string header(const SigV4Signed &signed_request, const std::string &name) {
  for (const auto &[key, value] : signed_request.headers_to_add)
    if (key == name) return value;
  return "<missing>";
}

} // namespace

TEST(SigV4, SigningKeyOfTheS3Examples) {
  EXPECT_EQ(hex_encode(sigv4_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524",
                                         "us-east-1", "s3")),
            "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378");
}

TEST(SigV4, GetObjectWithRange) {
  auto request = s3_docs_request("GET", "/test.txt");
  request.headers["Range"] = "bytes=0-9";
  auto signed_request = sigv4_sign(request, s3_docs_credentials());
  ASSERT_TRUE(signed_request) << signed_request.error().message;
  EXPECT_EQ(signed_request->canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" +
                k_empty_sha256 +
                "\nx-amz-date:20130524T000000Z\n\n"
                "host;range;x-amz-content-sha256;x-amz-date\n" +
                k_empty_sha256);
  EXPECT_EQ(sha256_hex(signed_request->canonical_request),
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(signed_request->string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  const std::string signature = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
  EXPECT_EQ(signed_request->signature, signature);
  EXPECT_EQ(header(*signed_request, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=" +
                signature);
  EXPECT_EQ(header(*signed_request, "x-amz-date"), "20130524T000000Z");
  EXPECT_EQ(header(*signed_request, "x-amz-content-sha256"), k_empty_sha256);
}

TEST(SigV4, PutObjectWithDateAndStorageClassEncodesThePathOnce) {
  auto request = s3_docs_request("PUT", "/test$file.text");
  request.headers["Date"] = "Fri, 24 May 2013 00:00:00 GMT";
  request.headers["x-amz-storage-class"] = "REDUCED_REDUNDANCY";
  request.payload_sha256 = sha256_hex("Welcome to Amazon S3.");
  ASSERT_EQ(request.payload_sha256,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  auto signed_request = sigv4_sign(request, s3_docs_credentials());
  ASSERT_TRUE(signed_request) << signed_request.error().message;
  EXPECT_EQ(signed_request->canonical_request,
            "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
            "host:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:" +
                request.payload_sha256 +
                "\nx-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" +
                request.payload_sha256);
  EXPECT_EQ(signed_request->signature,
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, GetBucketLifecycleSignsAValuelessKey) {
  auto request = s3_docs_request("GET", "/");
  request.query = {{"lifecycle", ""}};
  auto signed_request = sigv4_sign(request, s3_docs_credentials());
  ASSERT_TRUE(signed_request) << signed_request.error().message;
  EXPECT_EQ(signed_request->canonical_request,
            "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:" +
                k_empty_sha256 +
                "\nx-amz-date:20130524T000000Z\n\n"
                "host;x-amz-content-sha256;x-amz-date\n" +
                k_empty_sha256);
  EXPECT_EQ(signed_request->signature,
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, ListObjectsSortsTheQuery) {
  auto request = s3_docs_request("GET", "/");
  request.query = {{"prefix", "J"}, {"max-keys", "2"}};
  auto signed_request = sigv4_sign(request, s3_docs_credentials());
  ASSERT_TRUE(signed_request) << signed_request.error().message;
  EXPECT_TRUE(signed_request->canonical_request.starts_with("GET\n/\nmax-keys=2&prefix=J\n"));
  EXPECT_EQ(signed_request->signature,
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, AwsCAuthGetVanillaWithPlusInTheSecret) {
  SigV4Request request;
  request.method = "GET";
  request.path = "/";
  request.headers = {{"Host", "example.amazonaws.com"}};
  request.payload_sha256 = k_empty_sha256;
  request.time = at(1440938160); // 2015-08-30T12:36:00Z
  request.service = "service";
  request.content_sha256 = ContentSha256Header::omit;
  auto signed_request =
      sigv4_sign(request, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""});
  ASSERT_TRUE(signed_request) << signed_request.error().message;
  EXPECT_EQ(signed_request->canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                k_empty_sha256);
  EXPECT_EQ(signed_request->signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(header(*signed_request, "x-amz-content-sha256"), "<missing>");
}

namespace {
// aws-c-auth tests/aws-signing-test-suite/v4: service "service", no body hash.
SigV4Request aws_c_auth_request(std::string path) {
  SigV4Request request;
  request.method = "GET";
  request.path = std::move(path);
  request.headers = {{"Host", "example.amazonaws.com"}};
  request.payload_sha256 = k_empty_sha256;
  request.time = at(1440938160); // 2015-08-30T12:36:00Z
  request.service = "service";
  request.content_sha256 = ContentSha256Header::omit;
  return request;
}
} // namespace

TEST(SigV4, AwsCAuthGetVanillaWithSessionToken) {
  auto signed_request =
      sigv4_sign(aws_c_auth_request("/"),
                 {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                  "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"});
  ASSERT_TRUE(signed_request) << signed_request.error().message;
  EXPECT_EQ(header(*signed_request, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-security-token, "
            "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
}

TEST(SigV4, AwsCAuthGetSpaceUnnormalizedEncodesTheSpaceOnce) {
  auto signed_request = sigv4_sign(aws_c_auth_request("/example space/"),
                                   {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""});
  ASSERT_TRUE(signed_request) << signed_request.error().message;
  EXPECT_TRUE(signed_request->canonical_request.starts_with("GET\n/example%20space/\n\n"));
  EXPECT_EQ(signed_request->signature,
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
}

TEST(SigV4, CanonicalFormsFollowS3Rules) {
  EXPECT_EQ(s3_encode_path("/a b//c~d/é+x"), "/a%20b//c~d/%C3%A9%2Bx");
  EXPECT_EQ(s3_encode_path("/already%20encoded"), "/already%2520encoded");
  EXPECT_EQ(s3_canonical_query({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(
      s3_canonical_query({{"prefix", "a/b c"}, {"list-type", "2"}, {"continuation-token", "x+y="}}),
      "continuation-token=x%2By%3D&list-type=2&prefix=a%2Fb%20c");
  auto request = s3_docs_request("GET", "/k");
  request.headers["X-Amz-Meta-Note"] = "  two   spaces\tand tab  ";
  request.headers["User-Agent"] = "gate";
  request.headers["Content-Length"] = "0";
  auto signed_request = sigv4_sign(request, s3_docs_credentials());
  ASSERT_TRUE(signed_request);
  EXPECT_NE(signed_request->canonical_request.find("\nx-amz-meta-note:two spaces and tab\n"),
            std::string::npos);
  EXPECT_EQ(signed_request->canonical_request.find("user-agent"), std::string::npos);
  EXPECT_EQ(signed_request->canonical_request.find("content-length"), std::string::npos);
}

TEST(SigV4, SessionTokenIsSignedAndSent) {
  auto credentials = s3_docs_credentials();
  credentials.session_token = "FwoGZXIvYXdzEXAMPLETOKEN";
  auto signed_request = sigv4_sign(s3_docs_request("GET", "/test.txt"), credentials);
  ASSERT_TRUE(signed_request);
  EXPECT_EQ(header(*signed_request, "x-amz-security-token"), credentials.session_token);
  EXPECT_NE(header(*signed_request, "Authorization")
                .find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
            std::string::npos);
}

TEST(SigV4, CachedKeyGivesTheSameSignatureAndFollowsTheDate) {
  SigningKeyCache cache;
  auto request = s3_docs_request("GET", "/test.txt");
  request.headers["Range"] = "bytes=0-9";
  for (int i = 0; i < 2; ++i) {
    auto signed_request = sigv4_sign(request, s3_docs_credentials(), &cache);
    ASSERT_TRUE(signed_request);
    EXPECT_EQ(signed_request->signature,
              "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  }
  EXPECT_EQ(hex_encode(cache.get(s3_docs_credentials(), "20130525", "us-east-1", "s3")),
            hex_encode(sigv4_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130525",
                                         "us-east-1", "s3")));
}

TEST(SigV4, BadRequestsFailWithoutTheSecret) {
  auto credentials = s3_docs_credentials();
  auto request = s3_docs_request("GET", "test.txt");
  auto no_slash = sigv4_sign(request, credentials);
  ASSERT_FALSE(no_slash);
  EXPECT_NE(no_slash.error().message.find("does not start with '/'"), std::string::npos);
  request.path = "/test.txt";
  request.headers["x-amz-date"] = "20130524T000000Z";
  EXPECT_FALSE(sigv4_sign(request, credentials));
  request.headers.erase("x-amz-date");
  request.headers["host"] = "other";
  auto twice = sigv4_sign(request, credentials);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("given twice"), std::string::npos);
  request.headers.erase("host");
  request.payload_sha256 = "UNSIGNED-PAYLOAD";
  EXPECT_FALSE(sigv4_sign(request, credentials));
  request.payload_sha256 = k_empty_sha256;
  request.headers["Bad Name"] = "x";
  EXPECT_FALSE(sigv4_sign(request, credentials));
  request.headers.erase("Bad Name");
  credentials.access_key_id.clear();
  auto no_key = sigv4_sign(request, credentials);
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().message.find(credentials.secret_access_key), std::string::npos);
}

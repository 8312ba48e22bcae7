// The strict XML reader and the S3 documents read with it: errors (also inside
// a 200 to CompleteMultipartUpload), multipart, listings, deletes; malformed
// and truncated input must give an error value.
#include "util/s3_xml.hpp"
#include "util/xml.hpp"

#include <gtest/gtest.h>

using namespace gate::util;

namespace {
const char *k_decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
} // namespace

TEST(Xml, ReadsElementsAttributesTextAndEntities) {
  auto root =
      parse_xml(std::string(k_decl) +
                "<!-- c --><R xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\" a='1&amp;2'>"
                "<K>a &lt;b&gt; &quot;c&quot; &apos;d&apos; &#233;&#x20AC;</K><E/>"
                "<K><![CDATA[<raw>&amp;]]></K></R>\n");
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(root->name, "R");
  ASSERT_EQ(root->attributes.size(), 2u);
  EXPECT_EQ(root->attributes[1].second, "1&2");
  EXPECT_EQ(root->child_text("K"), "a <b> \"c\" 'd' \xC3\xA9\xE2\x82\xAC");
  ASSERT_NE(root->child("E"), nullptr);
  EXPECT_EQ(root->child("E")->text, "");
  ASSERT_EQ(root->children_named("K").size(), 2u);
  EXPECT_EQ(root->children_named("K")[1]->text, "<raw>&amp;");
  EXPECT_EQ(root->child("Missing"), nullptr);
}

TEST(Xml, MalformedAndTruncatedInputIsAnErrorWithAPosition) {
  const char *bad[] = {
      "",
      "   ",
      "text",
      "<A>",
      "<A><B></A>",
      "<A></B>",
      "<A>x</A><B/>",
      "<A>x</A>trailing",
      "<A>&unknown;</A>",
      "<A>&amp</A>",
      "<A>&#0;</A>",
      "<A>&#xD800;</A>",
      "<A>&#x110000;</A>",
      "<A>&#12a;</A>",
      "<!DOCTYPE A [<!ENTITY x \"y\">]><A>&x;</A>",
      "<A b=c/>",
      "<A b=\"c/>",
      "<A b=\"<\"/>",
      "<A<B/>",
      "<A><!-- unterminated </A>",
      "<A><![CDATA[ x </A>",
      "<?xml version=\"1.0\"",
      "<1A/>",
      "<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents><IsTrunc",
  };
  for (const char *text : bad) {
    auto root = parse_xml(text);
    EXPECT_FALSE(root) << "accepted: " << text;
    if (!root) {
      EXPECT_NE(root.error().message.find("malformed XML at "), std::string::npos) << text;
    }
  }
  auto located = parse_xml("<A>\n  <B></C>\n</A>");
  ASSERT_FALSE(located);
  EXPECT_NE(located.error().message.find("at 2:"), std::string::npos) << located.error().message;
}

TEST(Xml, DeepNestingIsRefusedNotOverflowed) {
  std::string deep;
  for (int i = 0; i < 100000; ++i)
    deep += "<a>";
  auto root = parse_xml(deep);
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().message.find("deeper than 64"), std::string::npos);
}

TEST(S3Xml, ErrorBodyWithRegion) {
  auto error = parse_s3_error(std::string(k_decl) +
                              "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region "
                              "'us-east-1' is wrong; expecting 'eu-west-1'</Message>"
                              "<Region>eu-west-1</Region><RequestId>R1</RequestId></Error>");
  ASSERT_TRUE(error) << error.error().message;
  ASSERT_TRUE(error->has_value());
  EXPECT_EQ((*error)->code, "AuthorizationHeaderMalformed");
  EXPECT_EQ((*error)->region, "eu-west-1");
  EXPECT_EQ((*error)->request_id, "R1");
  EXPECT_EQ(describe(**error),
            "AuthorizationHeaderMalformed: the region 'us-east-1' is wrong; expecting 'eu-west-1'");
}

TEST(S3Xml, ErrorInsideA200ToCompleteMultipartUpload) {
  const std::string body = std::string(k_decl) + "\n\n          \n" +
                           "<Error><Code>InternalError</Code><Message>We encountered an internal "
                           "error. Please try again.</Message></Error>";
  auto error = parse_s3_error(body);
  ASSERT_TRUE(error) << error.error().message;
  ASSERT_TRUE(error->has_value());
  EXPECT_EQ((*error)->code, "InternalError");
  auto etag = parse_complete_multipart_upload(body);
  ASSERT_FALSE(etag);
  EXPECT_NE(etag.error().message.find("InternalError: We encountered"), std::string::npos);
  // Whitespace before the declaration is what S3 streams while it assembles.
  auto padded = parse_s3_error("   \n  <Error><Code>SlowDown</Code></Error>");
  ASSERT_TRUE(padded && padded->has_value());
  EXPECT_EQ(describe(**padded), "SlowDown");
}

TEST(S3Xml, NoErrorInEmptyOrOtherDocuments) {
  auto empty = parse_s3_error("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->has_value());
  auto other = parse_s3_error("<CompleteMultipartUploadResult><ETag>&quot;x-2&quot;</ETag>"
                              "</CompleteMultipartUploadResult>");
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_value());
  EXPECT_FALSE(parse_s3_error("<Error><Code>Truncated"));
  EXPECT_FALSE(parse_s3_error("<Error><Message>no code</Message></Error>"));
  auto etag = parse_complete_multipart_upload(
      "<CompleteMultipartUploadResult><Location>l</"
      "Location><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
      "</CompleteMultipartUploadResult>");
  ASSERT_TRUE(etag) << etag.error().message;
  EXPECT_EQ(*etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
}

TEST(S3Xml, InitiateMultipartUploadGivesTheUploadId) {
  auto id = parse_initiate_multipart_upload(
      std::string(k_decl) +
      "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Bucket>b</Bucket><Key>set/db.dump</Key><UploadId>VXBsb2FkIElE-1</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, "VXBsb2FkIElE-1");
  EXPECT_FALSE(parse_initiate_multipart_upload(
      "<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>"));
  EXPECT_FALSE(parse_initiate_multipart_upload("<ListBucketResult/>"));
  EXPECT_FALSE(parse_initiate_multipart_upload("<InitiateMultipartUploadResult><UploadId>x"));
}

TEST(S3Xml, ListObjectsV2Pages) {
  auto page = parse_list_objects_v2(
      std::string(k_decl) +
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
      "<Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
      "<Contents><Key>p/a&amp;b.txt</Key><LastModified>2026-12-01T10:00:00.000Z</LastModified>"
      "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>"
      "<StorageClass>STANDARD</StorageClass></Contents>"
      "<Contents><Key>p/big</Key><Size>53687091200</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&b.txt");
  EXPECT_EQ(page->objects[0].etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
  EXPECT_EQ(page->objects[0].last_modified, "2026-12-01T10:00:00.000Z");
  EXPECT_EQ(page->objects[1].size, 53687091200u);
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

  auto last = parse_list_objects_v2("<ListBucketResult><IsTruncated>false</IsTruncated>"
                                    "<CommonPrefixes><Prefix>p/set1/</Prefix></CommonPrefixes>"
                                    "</ListBucketResult>");
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_FALSE(last->is_truncated);
  EXPECT_TRUE(last->objects.empty());
  ASSERT_EQ(last->common_prefixes.size(), 1u);
  EXPECT_EQ(last->common_prefixes[0], "p/set1/");
}

TEST(S3Xml, ListObjectsV2DecodesUrlEncodedKeys) {
  auto page = parse_list_objects_v2(
      "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
      "<Contents><Key>p/a+b%2Bc%0A</Key><Size>1</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->objects[0].key, "p/a b+c\n");
  EXPECT_FALSE(parse_list_objects_v2("<ListBucketResult><EncodingType>url</EncodingType>"
                                     "<Contents><Key>bad%2</Key><Size>1</Size></Contents>"
                                     "</ListBucketResult>"));
}

TEST(S3Xml, ListObjectsV2RejectsWhatCannotBeTrusted) {
  const char *bad[] = {
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
      "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>1x</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999</Size></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>1</Size>",
      "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not "
      "exist</Message></Error>",
      "<ListAllMyBucketsResult/>",
  };
  for (const char *text : bad)
    EXPECT_FALSE(parse_list_objects_v2(text)) << "accepted: " << text;
  auto no_bucket = parse_list_objects_v2(bad[8]);
  EXPECT_NE(no_bucket.error().message.find("NoSuchBucket"), std::string::npos);
}

TEST(S3Xml, DeleteResultPerKey) {
  auto result = parse_delete_result(
      std::string(k_decl) + "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                            "<Deleted><Key>p/s1/manifest.json</Key></Deleted>"
                            "<Error><Key>p/s1/db.dump</Key><Code>AccessDenied</"
                            "Code><Message>Access Denied</Message></Error>"
                            "</DeleteResult>");
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->deleted.size(), 1u);
  EXPECT_EQ(result->deleted[0], "p/s1/manifest.json");
  ASSERT_EQ(result->errors.size(), 1u);
  EXPECT_EQ(result->errors[0].key, "p/s1/db.dump");
  EXPECT_EQ(result->errors[0].code, "AccessDenied");
  EXPECT_EQ(result->errors[0].message, "Access Denied");
  auto quiet = parse_delete_result("<DeleteResult/>");
  ASSERT_TRUE(quiet);
  EXPECT_TRUE(quiet->deleted.empty() && quiet->errors.empty());
  EXPECT_FALSE(parse_delete_result("<DeleteResult><Deleted></Deleted></DeleteResult>"));
  EXPECT_FALSE(parse_delete_result("<DeleteResult><Error><Key>k</Key></Error></DeleteResult>"));
  EXPECT_FALSE(parse_delete_result("<DeleteResult><Deleted><Key>k</Key>"));
}

TEST(S3Xml, ListMultipartUploads) {
  auto page = parse_list_multipart_uploads(
      std::string(k_decl) +
      "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Bucket>b</Bucket><NextKeyMarker>p/s2/db.dump</NextKeyMarker>"
      "<NextUploadIdMarker>U2</NextUploadIdMarker><IsTruncated>true</IsTruncated>"
      "<Upload><Key>p/s1/db.dump</Key><UploadId>U1</UploadId>"
      "<Initiator><ID>x</ID></Initiator><Initiated>2026-11-29T08:00:00.000Z</Initiated></Upload>"
      "<Upload><Key>p/s2/db.dump</Key><UploadId>U2</UploadId>"
      "<Initiated>2026-12-01T08:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>");
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->uploads.size(), 2u);
  EXPECT_EQ(page->uploads[0].key, "p/s1/db.dump");
  EXPECT_EQ(page->uploads[0].upload_id, "U1");
  EXPECT_EQ(page->uploads[0].initiated, "2026-11-29T08:00:00.000Z");
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_key_marker, "p/s2/db.dump");
  EXPECT_EQ(page->next_upload_id_marker, "U2");
  EXPECT_FALSE(parse_list_multipart_uploads(
      "<ListMultipartUploadsResult><Upload><Key>k</Key></Upload></ListMultipartUploadsResult>"));
  EXPECT_FALSE(parse_list_multipart_uploads("<ListMultipartUploadsResult><Upload>"));
}

TEST(XmlEscape, EscapesMarkupAndReplacesControlCharactersXmlCannotHold) {
  EXPECT_EQ(gate::util::xml_escape("a&b<c>\"d'\te\nf\x01g"),
            "a&amp;b&lt;c&gt;&quot;d&apos;\te\nf g");
}

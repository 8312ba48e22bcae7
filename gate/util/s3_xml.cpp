#include "util/s3_xml.hpp"

#include "util/xml.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace gate::util {

namespace {

bool blank(std::string_view body) {
  return std::all_of(body.begin(), body.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

S3ErrorBody error_body(const XmlElement &root) {
  return {root.child_text("Code"), root.child_text("Message"), root.child_text("Region"),
          root.child_text("Resource"), root.child_text("RequestId")};
}

// Parses `body` and checks that its root is `<expected>`; an `<Error>` root
// fails with the server's code and message.
Result<XmlElement> root_of(std::string_view body, std::string_view expected) {
  const std::string context = "unable to read S3 " + std::string(expected);
  auto root = parse_xml(body);
  if (!root) return fail(context + ": " + root.error().message);
  if (root->name == "Error")
    return fail(context + ": the server answered " + describe(error_body(*root)));
  if (root->name != expected) return fail(context + ": the document is <" + root->name + ">");
  return root;
}

Result<bool> read_bool(const XmlElement &parent, std::string_view name) {
  const XmlElement *element = parent.child(name);
  if (!element || element->text == "false") return false;
  if (element->text == "true") return true;
  return fail("<" + std::string(name) + "> is '" + element->text + "', not true or false");
}

Result<uint64_t> read_size(const XmlElement &entry, const std::string &key) {
  const XmlElement *size = entry.child("Size");
  if (!size) return fail("object '" + key + "' has no <Size>");
  uint64_t value = 0;
  const std::string &text = size->text;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return fail("object '" + key + "' has <Size> '" + text + "', not a byte count");
  return value;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// encoding-type=url: S3 encodes like a form ('+' for space, %XX otherwise).
Result<std::string> url_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] != '%') {
      out.push_back(text[i]);
    } else {
      int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      int low = high >= 0 ? hex_value(text[i + 2]) : -1;
      if (low < 0) return fail("bad percent-encoding in '" + std::string(text) + "'");
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
  }
  return out;
}

Result<S3ObjectEntry> read_object(const XmlElement &contents, bool url_encoded) {
  const XmlElement *key = contents.child("Key");
  if (!key) return fail("an entry has no <Key>");
  S3ObjectEntry entry;
  entry.key = key->text;
  if (url_encoded) TRY_ASSIGN(entry.key, url_decode(key->text));
  TRY_ASSIGN(entry.size, read_size(contents, entry.key));
  entry.last_modified = contents.child_text("LastModified");
  entry.etag = contents.child_text("ETag");
  return entry;
}

Result<S3ListPage> read_list_page(const XmlElement &root) {
  const bool url_encoded = root.child_text("EncodingType") == "url";
  S3ListPage page;
  for (const XmlElement *contents : root.children_named("Contents")) {
    TRY_ASSIGN(auto entry, read_object(*contents, url_encoded));
    page.objects.push_back(std::move(entry));
  }
  for (const XmlElement *prefix : root.children_named("CommonPrefixes")) {
    std::string text = prefix->child_text("Prefix");
    if (url_encoded) TRY_ASSIGN(text, url_decode(text));
    page.common_prefixes.push_back(std::move(text));
  }
  TRY_ASSIGN(page.is_truncated, read_bool(root, "IsTruncated"));
  page.next_continuation_token = root.child_text("NextContinuationToken");
  if (page.is_truncated && page.next_continuation_token.empty())
    return fail("a truncated listing has no <NextContinuationToken>");
  return page;
}

Result<S3DeleteResult> read_delete_result(const XmlElement &root) {
  S3DeleteResult result;
  for (const XmlElement *deleted : root.children_named("Deleted")) {
    if (!deleted->child("Key")) return fail("a <Deleted> entry has no <Key>");
    result.deleted.push_back(deleted->child_text("Key"));
  }
  for (const XmlElement *error : root.children_named("Error")) {
    if (!error->child("Key")) return fail("an <Error> entry has no <Key>");
    S3DeleteFailure failure{error->child_text("Key"), error->child_text("Code"),
                            error->child_text("Message")};
    if (failure.code.empty()) return fail("the <Error> for '" + failure.key + "' has no <Code>");
    result.errors.push_back(std::move(failure));
  }
  return result;
}

Result<S3UploadsPage> read_uploads_page(const XmlElement &root) {
  S3UploadsPage page;
  for (const XmlElement *upload : root.children_named("Upload")) {
    S3MultipartUpload entry{upload->child_text("Key"), upload->child_text("UploadId"),
                            upload->child_text("Initiated")};
    if (!upload->child("Key") || entry.upload_id.empty())
      return fail("an <Upload> has no <Key> or <UploadId>");
    page.uploads.push_back(std::move(entry));
  }
  TRY_ASSIGN(page.is_truncated, read_bool(root, "IsTruncated"));
  page.next_key_marker = root.child_text("NextKeyMarker");
  page.next_upload_id_marker = root.child_text("NextUploadIdMarker");
  return page;
}

// Runs `read` on the root `<expected>` of `body`, prefixing its failures.
template <typename Reader>
auto read_document(std::string_view body, std::string_view expected, Reader read)
    -> decltype(read(std::declval<const XmlElement &>())) {
  TRY_ASSIGN(auto root, root_of(body, expected));
  auto result = read(root);
  if (!result)
    return fail("unable to read S3 " + std::string(expected) + ": " + result.error().message);
  return result;
}

} // namespace

std::string describe(const S3ErrorBody &error) {
  return error.message.empty() ? error.code : error.code + ": " + error.message;
}

Result<std::optional<S3ErrorBody>> parse_s3_error(std::string_view body) {
  if (blank(body)) return std::nullopt;
  auto root = parse_xml(body);
  if (!root) return fail("unable to read S3 error: " + root.error().message);
  if (root->name != "Error") return std::nullopt;
  S3ErrorBody error = error_body(*root);
  if (error.code.empty()) return fail("unable to read S3 error: <Error> has no <Code>");
  return error;
}

Result<std::string> parse_initiate_multipart_upload(std::string_view body) {
  return read_document(body, "InitiateMultipartUploadResult",
                       [](const XmlElement &root) -> Result<std::string> {
                         std::string id = root.child_text("UploadId");
                         if (id.empty()) return fail("no <UploadId>");
                         return id;
                       });
}

Result<std::string> parse_complete_multipart_upload(std::string_view body) {
  return read_document(body, "CompleteMultipartUploadResult",
                       [](const XmlElement &root) -> Result<std::string> {
                         std::string etag = root.child_text("ETag");
                         if (etag.empty()) return fail("no <ETag>");
                         return etag;
                       });
}

Result<S3ListPage> parse_list_objects_v2(std::string_view body) {
  return read_document(body, "ListBucketResult", read_list_page);
}

Result<S3DeleteResult> parse_delete_result(std::string_view body) {
  return read_document(body, "DeleteResult", read_delete_result);
}

Result<S3UploadsPage> parse_list_multipart_uploads(std::string_view body) {
  return read_document(body, "ListMultipartUploadsResult", read_uploads_page);
}

} // namespace gate::util

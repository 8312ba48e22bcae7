// Fuzzes the XML reader and the S3 response parsers on top of it (ListObjectsV2,
// ListMultipartUploads, DeleteObjects, Initiate/CompleteMultipartUpload, Error):
// whatever an S3 peer sends must give a result or an error.
#include "util/s3_xml.hpp"
#include "util/xml.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace gate::util;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view body(reinterpret_cast<const char *>(data), size);
  (void)parse_xml(body);
  (void)xml_decode_entities(body);
  if (auto error = parse_s3_error(body); error && *error) (void)describe(**error);
  (void)parse_initiate_multipart_upload(body);
  (void)parse_complete_multipart_upload(body);
  (void)parse_list_objects_v2(body);
  (void)parse_delete_result(body);
  (void)parse_list_multipart_uploads(body);
  return 0;
}

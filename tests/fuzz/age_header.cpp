// Fuzzes the age header parser (the first bytes gate reads of an encrypted
// set): any bytes must give a Header or an error. A header that parses is
// re-encoded exactly as it was read (the parser accepts only canonical input).
#include "util/age_header.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace gate::util;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t pos = 0;
  // Short reads of varying size, as from a pipe.
  age::BufferedSource in([&](char *out, size_t want) -> Result<size_t> {
    size_t n = std::min({want, size - pos, size_t{1} + pos % 97});
    std::memcpy(out, data + pos, n);
    pos += n;
    return n;
  });
  auto header = age::parse_header(in);
  if (!header) return 0;
  if (age::encode_header_mac_input(header->stanzas) != header->mac_input) std::abort();
  return 0;
}

// The two text encodings of the age format (C2SP age.md): Bech32 (BIP 173,
// without its 90-character limit) for keys, and unpadded canonical base64
// (RFC 4648 standard alphabet) for the header. Both are strict: anything
// another implementation might read differently is rejected.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gate::util::age {

struct Bech32 {
  std::string hrp;  // human-readable part, as written (case preserved)
  std::string data; // the decoded bytes
};

// Encodes `data` (8-bit bytes) under `hrp`; the result is lowercase. Callers
// that need the uppercase form (identities) convert it.
std::string bech32_encode(std::string_view hrp, std::string_view data);

// Decodes a Bech32 string. nullopt (with `why` set) on mixed case, a character
// outside the charset, a bad checksum, or non-zero padding bits.
std::optional<Bech32> bech32_decode(std::string_view text, std::string *why);

// Unpadded standard base64 of raw bytes.
std::string base64_encode_raw(std::string_view bytes);

// Decodes unpadded canonical base64: rejects '=', characters outside the
// alphabet (CR and LF included), impossible lengths and non-zero trailing bits.
std::optional<std::string> base64_decode_strict(std::string_view text);

} // namespace gate::util::age

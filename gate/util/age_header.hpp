// The age v1 header (C2SP age.md): the version line, one stanza per
// recipient, and the MAC line; parsed strictly and written canonically.
// Also the byte source the decryptor reads through and the two stanza types
// gate understands (X25519 and scrypt), wrapping and unwrapping the file key.
#pragma once

#include "util/age_crypto.hpp"
#include "util/age_keys.hpp"
#include "util/expected.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gate::util::age {

// Where ciphertext comes from: fills up to `size` bytes, returns 0 at the end.
using Source = std::function<Result<size_t>(char *data, size_t size)>;
// Where bytes go: takes all of them or fails.
using Sink = std::function<Result<void>(const char *data, size_t size)>;

// Reads a Source through a buffer, a line or a block at a time.
class BufferedSource {
public:
  explicit BufferedSource(Source source) : m_source(std::move(source)) {}
  // The next line without its '\n'. Fails when `limit` bytes pass without a
  // '\n' or the input ends first (`ended` tells which).
  Result<std::string> read_line(size_t limit, bool *ended);
  // Up to `size` bytes; fewer only at the end of the input.
  Result<size_t> read(char *data, size_t size);
  // True once the source itself failed (I/O, not a format problem).
  bool io_failed() const { return m_io_failed; }

private:
  Result<bool> fill();
  Source m_source;
  std::string m_buf;
  size_t m_pos = 0;
  bool m_eof = false;
  bool m_io_failed = false;
};

struct Stanza {
  std::vector<std::string> args; // args[0] is the type ("X25519", "scrypt")
  std::string body;              // decoded bytes
};

struct Header {
  std::vector<Stanza> stanzas;
  std::string mac_input; // the bytes from "age-encryption.org/v1" through "---"
  std::string mac;       // 32 raw bytes
};

// Limits on what the parser accepts before it gives up on a file.
constexpr size_t k_header_line_limit = 4096;
constexpr size_t k_header_size_limit = 1 << 20;

// Parses the header; the source is left at the first byte after the MAC line.
// Fails on any deviation from the grammar: another version, CR, a line over
// the limit, an empty or invalid argument, a body line over 64 columns, a
// missing final short body line, non-canonical base64, a malformed MAC line,
// or an scrypt stanza that is not alone.
Result<Header> parse_header(BufferedSource &in);

// The header text up to and including "---" (the MAC input) for `stanzas`.
std::string encode_header_mac_input(const std::vector<Stanza> &stanzas);

// The complete header: MAC input, " ", base64 of HMAC-SHA256 under the key
// HKDF(file_key, info "header"), "\n".
Result<std::string> encode_header(const std::vector<Stanza> &stanzas, const Secret &file_key);

// Checks the header MAC against `file_key` (false: wrong key or tampering).
Result<bool> header_mac_matches(const Header &header, const Secret &file_key);

// Stanzas wrapping `file_key` for every recipient (or the passphrase).
Result<std::vector<Stanza>> wrap_file_key(const Recipients &recipients, const Secret &file_key);

// The file key unwrapped with the first identity that opens a stanza.
// nullopt: no identity matches. An error: a stanza gate knows is malformed
// (wrong arguments or sizes, a low-order share, a work factor over the limit).
Result<std::optional<Secret>> unwrap_file_key(const Header &header, const Identities &identities);

} // namespace gate::util::age

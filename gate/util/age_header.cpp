#include "util/age_header.hpp"

#include "util/age_encoding.hpp"

#include <algorithm>
#include <cstring>

namespace gate::util::age {

namespace {

constexpr std::string_view k_version_line = "age-encryption.org/v1";
constexpr size_t k_body_columns = 64;
constexpr size_t k_mac_b64_size = 43;

bool valid_argument(std::string_view arg) {
  return !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x21 && static_cast<unsigned char>(c) <= 0x7e;
  });
}

Result<std::vector<std::string>> parse_arguments(std::string_view line) {
  std::vector<std::string> args;
  std::string_view rest = line.substr(3);
  while (true) {
    auto space = rest.find(' ');
    std::string_view arg = rest.substr(0, space);
    if (!valid_argument(arg))
      return fail("malformed age header: a stanza has an empty or invalid argument");
    args.emplace_back(arg);
    if (space == std::string_view::npos) break;
    rest = rest.substr(space + 1);
  }
  return args;
}

// Body lines follow the stanza line: full 64-column lines, then exactly one
// shorter (possibly empty) line that ends the stanza.
Result<std::string> read_body(BufferedSource &in, std::string &raw) {
  std::string b64;
  while (true) {
    bool ended = false;
    auto line = in.read_line(k_body_columns + 1, &ended);
    if (!line) return fail("malformed age header: a stanza body line is missing or too long");
    raw += *line + "\n";
    if (line->size() > k_body_columns)
      return fail("malformed age header: a stanza body line is longer than 64 columns");
    if (line->rfind("-> ", 0) == 0 || line->rfind("---", 0) == 0)
      return fail("malformed age header: a stanza does not end with a short body line");
    b64 += *line;
    if (line->size() < k_body_columns) break;
  }
  auto body = base64_decode_strict(b64);
  if (!body) return fail("malformed age header: a stanza body is not canonical base64");
  return *body;
}

Result<void> parse_mac_line(const std::string &line, Header &header) {
  if (line.size() != 4 + k_mac_b64_size || line.compare(0, 4, "--- ") != 0)
    return fail("malformed age header: the MAC line is not '--- ' and 43 base64 characters");
  auto mac = base64_decode_strict(std::string_view(line).substr(4));
  if (!mac || mac->size() != 32)
    return fail("malformed age header: the MAC is not canonical base64");
  header.mac = std::move(*mac);
  header.mac_input += "---";
  return {};
}

Result<void> check_version_line(BufferedSource &in, Header &header) {
  bool ended = false;
  auto line = in.read_line(k_header_line_limit, &ended);
  if (!line) {
    if (in.io_failed()) return std::unexpected(line.error());
    return fail("not an age file: no 'age-encryption.org/v1' line");
  }
  if (*line == k_version_line) {
    header.mac_input = *line + "\n";
    return {};
  }
  if (line->rfind("-----BEGIN AGE ENCRYPTED FILE-----", 0) == 0)
    return fail("armored (PEM) age files are not supported; decrypt with 'age -d' instead");
  if (line->rfind("age-encryption.org/", 0) == 0)
    return fail("unsupported age format version (only age-encryption.org/v1 is read)");
  return fail("not an age file: it does not start with 'age-encryption.org/v1'");
}

} // namespace

Result<bool> BufferedSource::fill() {
  if (m_eof) return false;
  if (m_pos > 0) {
    m_buf.erase(0, m_pos);
    m_pos = 0;
  }
  size_t old = m_buf.size();
  m_buf.resize(old + 65536);
  auto got = m_source(m_buf.data() + old, 65536);
  if (!got) {
    m_buf.resize(old);
    m_io_failed = true;
    return std::unexpected(got.error());
  }
  m_buf.resize(old + *got);
  if (*got == 0) m_eof = true;
  return *got > 0;
}

Result<std::string> BufferedSource::read_line(size_t limit, bool *ended) {
  *ended = false;
  size_t scanned = 0;
  while (true) {
    auto nl = m_buf.find('\n', m_pos + scanned);
    if (nl != std::string::npos && nl - m_pos < limit) {
      std::string line = m_buf.substr(m_pos, nl - m_pos);
      m_pos = nl + 1;
      return line;
    }
    if (m_buf.size() - m_pos >= limit) return fail("a header line is longer than the limit");
    scanned = m_buf.size() - m_pos;
    TRY_ASSIGN(bool more, fill());
    if (!more) {
      *ended = true;
      return fail("the header ends in the middle of a line");
    }
  }
}

Result<size_t> BufferedSource::read(char *data, size_t size) {
  size_t done = 0;
  while (done < size) {
    if (m_pos == m_buf.size()) {
      m_buf.clear();
      m_pos = 0;
      // Large reads go straight to the source: no copy through the buffer.
      if (m_eof) break;
      auto got = m_source(data + done, size - done);
      if (!got) {
        m_io_failed = true;
        return std::unexpected(got.error());
      }
      if (*got == 0) m_eof = true;
      done += *got;
      continue;
    }
    size_t n = std::min(size - done, m_buf.size() - m_pos);
    std::memcpy(data + done, m_buf.data() + m_pos, n);
    m_pos += n;
    done += n;
  }
  return done;
}

Result<Header> parse_header(BufferedSource &in) {
  Header header;
  TRY(check_version_line(in, header));
  while (true) {
    if (header.mac_input.size() > k_header_size_limit)
      return fail("malformed age header: larger than 1 MiB");
    bool ended = false;
    auto line = in.read_line(k_header_line_limit, &ended);
    if (!line) {
      if (in.io_failed()) return std::unexpected(line.error());
      return fail("malformed age header: " + line.error().message + " (no MAC line)");
    }
    if (line->rfind("---", 0) == 0) {
      TRY(parse_mac_line(*line, header));
      break;
    }
    if (line->rfind("-> ", 0) != 0)
      return fail("malformed age header: a line is neither a stanza ('-> ') nor the MAC ('---')");
    header.mac_input += *line + "\n";
    Stanza stanza;
    TRY_ASSIGN(stanza.args, parse_arguments(*line));
    TRY_ASSIGN(stanza.body, read_body(in, header.mac_input));
    header.stanzas.push_back(std::move(stanza));
  }
  bool has_scrypt = std::any_of(header.stanzas.begin(), header.stanzas.end(),
                                [](const Stanza &s) { return s.args[0] == "scrypt"; });
  if (has_scrypt && header.stanzas.size() != 1)
    return fail("malformed age header: an scrypt (passphrase) stanza must be the only stanza");
  return header;
}

std::string encode_header_mac_input(const std::vector<Stanza> &stanzas) {
  std::string out = std::string(k_version_line) + "\n";
  for (const auto &stanza : stanzas) {
    out += "->";
    for (const auto &arg : stanza.args)
      out += " " + arg;
    out += "\n";
    std::string b64 = base64_encode_raw(stanza.body);
    // Full 64-column lines, then a short final line (empty when the base64
    // length is a multiple of 64).
    for (size_t i = 0; i + k_body_columns <= b64.size(); i += k_body_columns)
      out += b64.substr(i, k_body_columns) + "\n";
    out += b64.substr(b64.size() - b64.size() % k_body_columns) + "\n";
  }
  return out + "---";
}

Result<std::string> encode_header(const std::vector<Stanza> &stanzas, const Secret &file_key) {
  std::string text = encode_header_mac_input(stanzas);
  TRY_ASSIGN(auto mac_key, hkdf_sha256(file_key, "", "header", 32));
  return text + " " + base64_encode_raw(hmac_sha256(mac_key, text)) + "\n";
}

Result<bool> header_mac_matches(const Header &header, const Secret &file_key) {
  TRY_ASSIGN(auto mac_key, hkdf_sha256(file_key, "", "header", 32));
  return equal_constant_time(hmac_sha256(mac_key, header.mac_input), header.mac);
}

} // namespace gate::util::age

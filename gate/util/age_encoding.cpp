#include "util/age_encoding.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <vector>

namespace gate::util::age {

namespace {

constexpr std::string_view k_charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t polymod(const std::vector<uint8_t> &values) {
  static constexpr std::array<uint32_t, 5> k_gen = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                                    0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i)
      if ((top >> i) & 1) chk ^= k_gen[static_cast<size_t>(i)];
  }
  return chk;
}

// The checksum covers the lowercase hrp, expanded into high and low bits.
std::vector<uint8_t> hrp_expand(std::string_view hrp) {
  std::vector<uint8_t> out;
  for (char c : hrp)
    out.push_back(static_cast<uint8_t>(std::tolower(c)) >> 5);
  out.push_back(0);
  for (char c : hrp)
    out.push_back(static_cast<uint8_t>(std::tolower(c)) & 31);
  return out;
}

// Regroups bits; with `pad` false, leftover bits must be fewer than `from`
// and zero, as BIP 173 demands for decoding.
std::optional<std::vector<uint8_t>> convert_bits(const std::vector<uint8_t> &in, int from, int to,
                                                 bool pad) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to) - 1;
  std::vector<uint8_t> out;
  for (uint8_t v : in) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv) != 0) {
    return std::nullopt;
  }
  return out;
}

constexpr std::string_view k_b64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  auto pos = k_b64.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

} // namespace

std::string bech32_encode(std::string_view hrp, std::string_view data) {
  std::vector<uint8_t> bytes(data.begin(), data.end());
  auto five = *convert_bits(bytes, 8, 5, true);
  auto values = hrp_expand(hrp);
  values.insert(values.end(), five.begin(), five.end());
  values.insert(values.end(), 6, 0);
  uint32_t mod = polymod(values) ^ 1;
  std::string out;
  for (char c : hrp)
    out.push_back(static_cast<char>(std::tolower(c)));
  out.push_back('1');
  for (uint8_t v : five)
    out.push_back(k_charset[v]);
  for (int i = 0; i < 6; ++i)
    out.push_back(k_charset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

std::optional<Bech32> bech32_decode(std::string_view text, std::string *why) {
  auto reject = [&](const char *reason) -> std::optional<Bech32> {
    if (why) *why = reason;
    return std::nullopt;
  };
  bool lower = false, upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return reject("invalid character");
    lower |= (c >= 'a' && c <= 'z');
    upper |= (c >= 'A' && c <= 'Z');
  }
  if (lower && upper) return reject("mixed upper and lower case");
  auto sep = text.rfind('1');
  if (sep == std::string_view::npos || sep == 0) return reject("no human-readable part");
  if (text.size() - sep - 1 < 6) return reject("too short for a checksum");
  std::vector<uint8_t> five;
  for (char c : text.substr(sep + 1)) {
    auto pos = k_charset.find(static_cast<char>(std::tolower(c)));
    if (pos == std::string_view::npos) return reject("character outside the Bech32 charset");
    five.push_back(static_cast<uint8_t>(pos));
  }
  auto values = hrp_expand(text.substr(0, sep));
  values.insert(values.end(), five.begin(), five.end());
  if (polymod(values) != 1) return reject("bad checksum");
  five.resize(five.size() - 6);
  auto bytes = convert_bits(five, 5, 8, false);
  if (!bytes) return reject("non-zero padding bits");
  return Bech32{std::string(text.substr(0, sep)), std::string(bytes->begin(), bytes->end())};
}

std::string base64_encode_raw(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(k_b64[(v >> s) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(k_b64[(v >> 18) & 63]);
    out.push_back(k_b64[(v >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out.push_back(k_b64[(v >> 18) & 63]);
    out.push_back(k_b64[(v >> 12) & 63]);
    out.push_back(k_b64[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64_decode_strict(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Canonical: the bits left over after the last whole byte are zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

} // namespace gate::util::age

// The X25519 and scrypt recipient stanzas (C2SP age.md): wrapping the file
// key for a recipient and unwrapping it with an identity.
#include "util/age_encoding.hpp"
#include "util/age_header.hpp"

#include <charconv>

namespace gate::util::age {

namespace {

constexpr std::string_view k_x25519_label = "age-encryption.org/v1/X25519";
constexpr std::string_view k_scrypt_label = "age-encryption.org/v1/scrypt";
constexpr size_t k_wrapped_key_size = k_file_key_size + k_aead_tag_size;
constexpr size_t k_scrypt_salt_size = 16;

Result<Stanza> wrap_x25519(const X25519Recipient &recipient, const Secret &file_key) {
  TRY_ASSIGN(auto ephemeral, random_bytes(k_x25519_key_size));
  TRY_ASSIGN(auto share, x25519_public(ephemeral));
  TRY_ASSIGN(auto shared, x25519_shared(ephemeral, recipient.public_key));
  TRY_ASSIGN(auto wrap_key, hkdf_sha256(shared, share + recipient.public_key, k_x25519_label, 32));
  TRY_ASSIGN(auto body, seal_zero_nonce(wrap_key, file_key.bytes()));
  return Stanza{{"X25519", base64_encode_raw(share)}, std::move(body)};
}

Result<Stanza> wrap_scrypt(const Secret &passphrase, int log_n, const Secret &file_key) {
  TRY_ASSIGN(auto salt, random_bytes(k_scrypt_salt_size));
  TRY_ASSIGN(auto wrap_key,
             scrypt_derive(passphrase, std::string(k_scrypt_label) + salt.bytes(), log_n));
  TRY_ASSIGN(auto body, seal_zero_nonce(wrap_key, file_key.bytes()));
  return Stanza{{"scrypt", base64_encode_raw(salt.bytes()), std::to_string(log_n)},
                std::move(body)};
}

Result<std::string> x25519_share(const Stanza &stanza) {
  if (stanza.args.size() != 2)
    return fail("malformed age header: an X25519 stanza must have exactly one argument");
  auto share = base64_decode_strict(stanza.args[1]);
  if (!share || share->size() != k_x25519_key_size)
    return fail("malformed age header: an X25519 share is not 32 bytes of canonical base64");
  if (stanza.body.size() != k_wrapped_key_size)
    return fail("malformed age header: an X25519 stanza body is not 32 bytes");
  return *share;
}

Result<std::optional<Secret>> unwrap_x25519(const Stanza &stanza,
                                            const std::vector<X25519Identity> &identities) {
  TRY_ASSIGN(auto share, x25519_share(stanza));
  for (const auto &identity : identities) {
    auto shared = x25519_shared(identity.secret, share);
    if (!shared) return fail("malformed age header: " + shared.error().message);
    TRY_ASSIGN(auto wrap_key,
               hkdf_sha256(*shared, share + identity.public_key, k_x25519_label, 32));
    TRY_ASSIGN(auto key, open_zero_nonce(wrap_key, stanza.body));
    if (key) return key;
  }
  return std::optional<Secret>();
}

// The work factor is a decimal without leading zeros or signs; anything
// larger than the limit is refused before any memory is spent on it.
Result<int> scrypt_log_n(const std::string &text, int limit) {
  int value = 0;
  bool digits = !text.empty() && text[0] >= '1' && text[0] <= '9' &&
                text.find_first_not_of("0123456789") == std::string::npos;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!digits || ec != std::errc() || end != text.data() + text.size())
    return fail("malformed age header: the scrypt work factor is not a decimal number");
  if (value > limit)
    return fail("the scrypt work factor " + text + " is over the limit of " +
                std::to_string(limit) + " (each step doubles the memory and time it needs)");
  return value;
}

Result<std::optional<Secret>> unwrap_scrypt(const Stanza &stanza, const Secret &passphrase,
                                            int limit) {
  if (stanza.args.size() != 3)
    return fail("malformed age header: an scrypt stanza must have exactly two arguments");
  auto salt = base64_decode_strict(stanza.args[1]);
  if (!salt || salt->size() != k_scrypt_salt_size)
    return fail("malformed age header: the scrypt salt is not 16 bytes of canonical base64");
  TRY_ASSIGN(int log_n, scrypt_log_n(stanza.args[2], limit));
  if (stanza.body.size() != k_wrapped_key_size)
    return fail("malformed age header: an scrypt stanza body is not 32 bytes");
  TRY_ASSIGN(auto wrap_key, scrypt_derive(passphrase, std::string(k_scrypt_label) + *salt, log_n));
  return open_zero_nonce(wrap_key, stanza.body);
}

} // namespace

Result<std::vector<Stanza>> wrap_file_key(const Recipients &recipients, const Secret &file_key) {
  TRY(validate_recipients(recipients));
  std::vector<Stanza> stanzas;
  if (recipients.passphrase) {
    TRY_ASSIGN(auto s, wrap_scrypt(*recipients.passphrase, recipients.scrypt_log_n, file_key));
    stanzas.push_back(std::move(s));
    return stanzas;
  }
  for (const auto &recipient : recipients.x25519) {
    TRY_ASSIGN(auto s, wrap_x25519(recipient, file_key));
    stanzas.push_back(std::move(s));
  }
  return stanzas;
}

Result<std::optional<Secret>> unwrap_file_key(const Header &header, const Identities &identities) {
  for (const auto &stanza : header.stanzas) {
    std::optional<Secret> key;
    if (stanza.args[0] == "X25519" && !identities.x25519.empty()) {
      TRY_ASSIGN(key, unwrap_x25519(stanza, identities.x25519));
    } else if (stanza.args[0] == "scrypt" && identities.passphrase) {
      TRY_ASSIGN(key, unwrap_scrypt(stanza, *identities.passphrase, identities.scrypt_max_log_n));
    }
    // Other stanza types (plugins, "grease") are skipped, as the spec asks.
    if (key) {
      if (key->size() != k_file_key_size) return std::optional<Secret>();
      return key;
    }
  }
  return std::optional<Secret>();
}

} // namespace gate::util::age

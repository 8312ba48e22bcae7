#include "util/age_keys.hpp"

#include "util/age_encoding.hpp"
#include "util/fs.hpp"

#include <cctype>
#include <system_error>

namespace gate::util::age {

namespace {

constexpr std::string_view k_recipient_hrp = "age";
constexpr std::string_view k_identity_hrp = "AGE-SECRET-KEY-";
constexpr std::string_view k_identity_prefix = "AGE-SECRET-KEY-1";
constexpr uintmax_t k_key_file_limit = 1 << 20;

std::string_view trim(std::string_view line) {
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
    line.remove_suffix(1);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
    line.remove_prefix(1);
  return line;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

// Calls `each(line, number)` for every line that is not blank or a comment,
// stopping at the first error.
template <typename F> Result<void> for_each_entry(std::string_view text, F &&each) {
  size_t number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    TRY(each(line, number));
  }
  return {};
}

Result<std::string> read_key_file(const std::filesystem::path &path, const char *what) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > k_key_file_limit)
    return fail("'" + path.string() + "' is larger than 1 MiB: not " + what);
  return read_file(path);
}

} // namespace

std::string X25519Recipient::encode() const {
  return bech32_encode(k_recipient_hrp, public_key);
}

Result<X25519Identity> X25519Identity::generate() {
  TRY_ASSIGN(auto secret, random_bytes(k_x25519_key_size));
  return from_secret(std::move(secret));
}

Result<X25519Identity> X25519Identity::from_secret(Secret secret) {
  if (secret.size() != k_x25519_key_size) return fail("an X25519 secret key must be 32 bytes");
  TRY_ASSIGN(auto pub, x25519_public(secret));
  return X25519Identity{std::move(secret), std::move(pub)};
}

Secret X25519Identity::encode() const {
  std::string text = bech32_encode(k_identity_hrp, secret.bytes());
  for (char &c : text)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return Secret(std::move(text));
}

Result<X25519Recipient> parse_recipient(std::string_view text) {
  std::string quoted = "'" + std::string(text) + "'";
  if (starts_with_ci(text, k_identity_prefix))
    return fail(ErrorKind::config, "a secret key (AGE-SECRET-KEY-1...) was given as a recipient; "
                                   "use its public key (age-keygen -y FILE)");
  if (text.rfind("ssh-", 0) == 0)
    return fail(ErrorKind::config,
                "SSH keys are not supported as age recipients; use an age1... key");
  std::string why;
  auto decoded = bech32_decode(text, &why);
  if (!decoded) return fail(ErrorKind::config, "malformed age recipient " + quoted + ": " + why);
  if (decoded->hrp != k_recipient_hrp)
    return fail(ErrorKind::config,
                "malformed age recipient " + quoted + ": it must start with 'age1' (lowercase)");
  if (decoded->data.size() != k_x25519_key_size)
    return fail(ErrorKind::config,
                "malformed age recipient " + quoted + ": not a 32-byte X25519 key");
  return X25519Recipient{std::move(decoded->data)};
}

Result<X25519Identity> parse_identity(std::string_view text) {
  std::string why;
  auto decoded = bech32_decode(text, &why);
  if (!decoded) return fail(ErrorKind::config, "malformed age identity: " + why);
  if (decoded->hrp != k_identity_hrp)
    return fail(ErrorKind::config,
                "malformed age identity: it must start with 'AGE-SECRET-KEY-1' (uppercase)");
  Secret secret(std::move(decoded->data));
  if (secret.size() != k_x25519_key_size)
    return fail(ErrorKind::config, "malformed age identity: not a 32-byte X25519 key");
  return X25519Identity::from_secret(std::move(secret));
}

Result<std::vector<X25519Recipient>> parse_recipients_text(std::string_view text,
                                                           const std::string &name) {
  std::vector<X25519Recipient> out;
  TRY(for_each_entry(text, [&](std::string_view line, size_t number) -> Result<void> {
    auto recipient = parse_recipient(line);
    if (!recipient)
      return std::unexpected(recipient.error().with_context(name + ":" + std::to_string(number)));
    out.push_back(std::move(*recipient));
    return {};
  }));
  if (out.empty()) return fail(ErrorKind::config, name + ": no age1... recipient in the file");
  return out;
}

Result<std::vector<X25519Recipient>> read_recipients_file(const std::filesystem::path &path) {
  TRY_ASSIGN(auto text, read_key_file(path, "a recipients file"));
  return parse_recipients_text(text, path.string());
}

Result<std::vector<X25519Identity>> parse_identity_text(std::string_view text,
                                                        const std::string &name) {
  std::vector<X25519Identity> out;
  TRY(for_each_entry(text, [&](std::string_view line, size_t number) -> Result<void> {
    std::string where = name + ":" + std::to_string(number);
    if (line.rfind("age1", 0) == 0)
      return fail(ErrorKind::config, where + ": a public key (age1...) where an identity "
                                             "(AGE-SECRET-KEY-1...) belongs");
    if (!starts_with_ci(line, k_identity_prefix))
      return fail(ErrorKind::config, where + ": not an age identity (AGE-SECRET-KEY-1...); "
                                             "only X25519 identities are supported");
    auto identity = parse_identity(line);
    if (!identity) return std::unexpected(identity.error().with_context(where));
    out.push_back(std::move(*identity));
    return {};
  }));
  if (out.empty())
    return fail(ErrorKind::config, name + ": no age identity (AGE-SECRET-KEY-1...) in the file");
  return out;
}

Result<std::vector<X25519Identity>> read_identity_file(const std::filesystem::path &path) {
  TRY_ASSIGN(auto raw, read_key_file(path, "an age identity file"));
  Secret text(std::move(raw));
  return parse_identity_text(text.bytes(), path.string());
}

Secret identity_file_text(const X25519Identity &identity, std::string_view created) {
  Secret key = identity.encode();
  return Secret("# created: " + std::string(created) +
                "\n# public key: " + identity.recipient().encode() + "\n" + key.bytes() + "\n");
}

Result<void> validate_recipients(const Recipients &recipients) {
  if (recipients.passphrase && !recipients.x25519.empty())
    return fail(ErrorKind::config, "a passphrase cannot be combined with recipients: age allows "
                                   "an scrypt (passphrase) stanza only on its own");
  if (!recipients.passphrase && recipients.x25519.empty())
    return fail(ErrorKind::config, "no age recipient and no passphrase to encrypt to");
  if (recipients.passphrase && recipients.passphrase->empty())
    return fail(ErrorKind::config, "the passphrase is empty");
  if (recipients.scrypt_log_n < 1 || recipients.scrypt_log_n > 30)
    return fail(ErrorKind::config, "the scrypt work factor must be between 1 and 30");
  return {};
}

} // namespace gate::util::age

#include "config/encryption.hpp"

#include "util/fs.hpp"
#include "util/redact.hpp"

namespace gate::config {

using util::Result;
namespace age = util::age;

namespace {

Result<std::vector<age::X25519Recipient>> parse_recipient_list(const Node &node) {
  std::vector<Node> items = node.is_sequence() ? node.items() : std::vector<Node>{node};
  if (!node.is_sequence() && !node.is_scalar())
    return std::unexpected(node.error("recipients must be a list of age1... public keys"));
  std::vector<age::X25519Recipient> out;
  for (const auto &item : items) {
    TRY_ASSIGN(std::string text, item.as_string());
    auto recipient = age::parse_recipient(text);
    if (!recipient) return std::unexpected(item.error(recipient.error().message));
    out.push_back(std::move(*recipient));
  }
  if (out.empty()) return std::unexpected(node.error("recipients is an empty list"));
  return out;
}

Result<std::filesystem::path> parse_path(const Node &node, const std::filesystem::path &base_dir,
                                         const char *key) {
  TRY_ASSIGN(std::string p, node.as_string());
  if (p.empty()) return std::unexpected(node.error(std::string("empty ") + key));
  return util::resolve_against(base_dir, p);
}

Result<void> take_recipients(MapReader &map, const std::filesystem::path &base_dir,
                             EncryptionConfig &c) {
  if (auto n = map.take("recipients")) TRY_ASSIGN(c.recipients, parse_recipient_list(*n));
  if (auto n = map.take("recipients_file")) {
    TRY_ASSIGN(c.recipients_file, parse_path(*n, base_dir, "recipients_file"));
    auto from_file = age::read_recipients_file(c.recipients_file);
    if (!from_file) return std::unexpected(n->error(from_file.error().message));
    c.recipients.insert(c.recipients.end(), from_file->begin(), from_file->end());
  }
  return {};
}

Result<void> take_passphrase(MapReader &map, EncryptionConfig &c) {
  auto n = map.take("passphrase");
  if (!n) return {};
  if (!c.recipients.empty())
    return std::unexpected(n->error("a passphrase cannot be combined with recipients: age allows "
                                    "a passphrase (scrypt) only on its own"));
  // A passphrase written into pipeline.yml would sit in git and in every
  // copy of the file: it must come from the environment.
  if (n->raw().find("${") == std::string::npos)
    return std::unexpected(
        n->error("the passphrase must come from the environment (passphrase: ${VAR})"));
  TRY_ASSIGN(auto pass, n->as_deferred_string());
  if (pass.known()) {
    if (pass.value_or_empty().empty()) return std::unexpected(n->error("the passphrase is empty"));
    util::register_secret(pass.value_or_empty());
  }
  c.passphrase = std::move(pass);
  return {};
}

} // namespace

Result<EncryptionConfig> parse_encryption(const Node &node, const std::filesystem::path &base_dir) {
  TRY_ASSIGN(auto map, MapReader::open(node, "encryption",
                                       {"recipients", "recipients_file", "passphrase",
                                        "identity_file", "local"}));
  EncryptionConfig c;
  c.where = node.location();
  TRY(take_recipients(map, base_dir, c));
  TRY(take_passphrase(map, c));
  if (c.recipients.empty() && !c.passphrase)
    return std::unexpected(
        node.error("encryption needs recipients, a recipients_file or a passphrase"));
  if (auto n = map.take("identity_file"))
    TRY_ASSIGN(c.identity_file, parse_path(*n, base_dir, "identity_file"));
  if (auto n = map.take("local")) TRY_ASSIGN(c.local, n->as_bool());
  TRY(map.finish());
  return c;
}

Result<age::Recipients> encryption_recipients(const EncryptionConfig &config) {
  age::Recipients r;
  r.x25519 = config.recipients;
  if (config.passphrase) {
    TRY_ASSIGN(std::string pass, config.passphrase->value());
    r.passphrase = age::Secret(std::move(pass));
  }
  TRY(age::validate_recipients(r));
  return r;
}

Result<age::Identities>
encryption_identities(const EncryptionConfig &config,
                      const std::optional<std::filesystem::path> &override) {
  age::Identities ids;
  std::filesystem::path file = override ? *override : config.identity_file;
  if (!file.empty()) {
    auto parsed = age::read_identity_file(file);
    if (!parsed)
      return util::fail(util::ErrorKind::config,
                        "unable to use the age identity file: " + parsed.error().message);
    ids.x25519 = std::move(*parsed);
  }
  if (config.passphrase) {
    TRY_ASSIGN(std::string pass, config.passphrase->value());
    ids.passphrase = age::Secret(std::move(pass));
  }
  if (ids.x25519.empty() && !ids.passphrase)
    return util::fail(util::ErrorKind::usage,
                      "no age identity to decrypt with; pass --identity FILE (or set "
                      "GATE_AGE_IDENTITY_FILE, or encryption.identity_file)");
  return ids;
}

} // namespace gate::config

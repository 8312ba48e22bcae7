// The `encryption:` section of pipeline.yml: whom backups are encrypted to
// (age X25519 recipients, inline or in an `age -R` file, or a passphrase on
// its own), which identity this host may decrypt with, and whether the local
// set is encrypted too or only what goes off-site.
#pragma once

#include "config/node.hpp"
#include "util/age_keys.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gate::config {

struct EncryptionConfig {
  Location where;
  // Every recipient, from `recipients:` and `recipients_file:`, checked while
  // the file is read (public keys: fine in messages and manifests).
  std::vector<util::age::X25519Recipient> recipients;
  std::filesystem::path recipients_file; // as resolved; empty when not given
  // `passphrase: ${VAR}` (scrypt), allowed only without recipients. Deferred:
  // an unset variable fails where a passphrase is needed, not in `gate list`.
  std::optional<DeferredString> passphrase;
  // Where this host may decrypt (deep verify, restore); empty: it may not.
  std::filesystem::path identity_file;
  bool local = false; // true: the local set is encrypted as well, not only off-site copies
};

// Parses the section. Fails with file:line:col on an unknown key, a malformed
// `age1...` recipient (the list item's place) or recipients file (its
// place, then `keys.txt:LINE:`), a passphrase together with recipients, and a
// section naming neither recipients nor a passphrase. Relative paths resolve
// against `base_dir`. A known passphrase is registered as a secret for
// redaction.
util::Result<EncryptionConfig> parse_encryption(const Node &node,
                                                const std::filesystem::path &base_dir);

// The age recipients to encrypt to; resolves the passphrase (an unset
// variable is a config error naming its place).
util::Result<util::age::Recipients> encryption_recipients(const EncryptionConfig &config);

// The identities this host decrypts with: `identity_file` (or `override`, as
// --identity and GATE_AGE_IDENTITY_FILE give), and the passphrase when set.
// Fails when there is neither, naming what to pass; a malformed identity file
// fails naming its path and line, never its content.
util::Result<util::age::Identities>
encryption_identities(const EncryptionConfig &config,
                      const std::optional<std::filesystem::path> &override = std::nullopt);

} // namespace gate::config

// age keys: X25519 recipients (`age1...`, public) and identities
// (`AGE-SECRET-KEY-1...`, secret), the `age -R` recipients file and the
// `age -i` identity file, and the sets of recipients a file is encrypted to
// and of identities that may open it.
//
// Messages name the file and line of a bad entry. A recipient (public) may be
// quoted in a message; an identity or a passphrase never is.
#pragma once

#include "util/age_crypto.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gate::util::age {

// A public key to encrypt to.
struct X25519Recipient {
  std::string public_key; // 32 raw bytes
  // The `age1...` form.
  std::string encode() const;
};

// A secret key that decrypts what was encrypted to its recipient.
struct X25519Identity {
  Secret secret; // 32 raw bytes
  std::string public_key;

  // A fresh random identity (as `age-keygen` makes).
  static Result<X25519Identity> generate();
  // From 32 raw secret bytes.
  static Result<X25519Identity> from_secret(Secret secret);
  X25519Recipient recipient() const { return X25519Recipient{public_key}; }
  // The `AGE-SECRET-KEY-1...` form: a secret, never log it.
  Secret encode() const;
};

// Parses an `age1...` recipient. Fails (quoting the text, which is public)
// on a wrong prefix, mixed or upper case, a bad checksum, or a wrong length.
Result<X25519Recipient> parse_recipient(std::string_view text);

// Parses an `AGE-SECRET-KEY-1...` identity. The message never quotes the text.
Result<X25519Identity> parse_identity(std::string_view text);

// Reads a recipients file in the `age -R` format: one `age1...` per line, `#`
// comments and blank lines ignored. Fails naming `path:line` on a bad line, on
// a secret key found where a public one belongs (without quoting it), and on a
// file with no recipient at all.
Result<std::vector<X25519Recipient>> read_recipients_file(const std::filesystem::path &path);

// Parses the text of a recipients file; `name` is used in messages.
Result<std::vector<X25519Recipient>> parse_recipients_text(std::string_view text,
                                                           const std::string &name);

// Reads an identity file in the `age-keygen` format: `AGE-SECRET-KEY-1...`
// lines, `#` comments (such as `# public key: age1...`) and blank lines
// ignored. Fails naming `path:line` (never the line's content), and on a file
// without any identity.
Result<std::vector<X25519Identity>> read_identity_file(const std::filesystem::path &path);

// Parses the text of an identity file; `name` is used in messages.
Result<std::vector<X25519Identity>> parse_identity_text(std::string_view text,
                                                        const std::string &name);

// The identity-file text `age-keygen` would write for `identity`.
Secret identity_file_text(const X25519Identity &identity, std::string_view created);

// Default scrypt work factor (log2 N) when encrypting: age's own (256 MiB, ~1 s).
constexpr int k_scrypt_encrypt_log_n = 18;
// Default limit on the work factor accepted when decrypting: 2^20 needs 1 GiB
// of memory; a file asking for more is refused rather than let it exhaust
// memory. age itself accepts up to 22.
constexpr int k_scrypt_max_log_n = 20;

// Whom a file is encrypted to: X25519 recipients, or a passphrase alone (the
// spec allows an scrypt stanza only as the header's single stanza).
struct Recipients {
  std::vector<X25519Recipient> x25519;
  std::optional<Secret> passphrase;
  int scrypt_log_n = k_scrypt_encrypt_log_n;
};

// What may open a file: X25519 identities and/or a passphrase.
struct Identities {
  std::vector<X25519Identity> x25519;
  std::optional<Secret> passphrase;
  int scrypt_max_log_n = k_scrypt_max_log_n;
};

// Checks that `recipients` can encrypt: at least one, and a passphrase alone.
Result<void> validate_recipients(const Recipients &recipients);

} // namespace gate::util::age

// Keeping secrets out of everything gate writes: URL sanitising and a registry
// of known secret values that every log line and report passes through.
#pragma once

#include <string>
#include <string_view>

namespace gate::util {

// Returns `url` with credentials masked: the password in a URI's user info,
// query parameters that carry secrets (password, token, key, secret,
// signature...), and `password=` in libpq keyword strings. Other text is kept.
std::string sanitize_url(std::string_view url);

// "https://hooks.example.com/…": a URL reduced to where it goes, for messages
// about webhooks whose path itself may be the secret (Slack, Discord).
std::string describe_endpoint(std::string_view url);

// Registers a secret value (a password, a token, a webhook URL) so that
// redact() masks it wherever it appears. Thread-safe.
void register_secret(std::string_view secret);

// Returns `text` with every registered secret replaced by "***".
std::string redact(std::string_view text);

} // namespace gate::util

namespace gate::util {
// Registers the secret parts of a URL or libpq keyword string: a URI's
// password (raw and percent-decoded), secret-looking query values, a keyword
// string's password. Webhook URLs should also be registered whole.
void register_url_secrets(std::string_view url);
} // namespace gate::util

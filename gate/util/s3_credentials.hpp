// Where an S3 remote's key pair comes from, by the AWS conventions: keys given
// in the configuration, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
// AWS_SESSION_TOKEN), else the profile AWS_PROFILE (default "default") in the
// shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials)
// and then in the config file (AWS_CONFIG_FILE, ~/.aws/config). Every secret
// found is registered with util::redact, so no log line can show it.
#pragma once

#include "util/expected.hpp"
#include "util/s3_sign.hpp"

#include <functional>
#include <optional>
#include <string>

namespace gate::util {

// Keys written in the configuration (already expanded from ${VAR}); unset
// members were not written.
struct ExplicitS3Keys {
  std::optional<std::string> access_key_id;
  std::optional<std::string> secret_access_key;
  std::optional<std::string> session_token;
};

// Reads one environment variable; nullopt when unset. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const std::string &name)>;

// The process environment (getenv).
EnvLookup process_environment();

// Finds the key pair for the remote named `remote`. Fails with
// ErrorKind::config when only one half of a pair is given somewhere, or a
// profile file cannot be parsed; with ErrorKind::failed when no source has
// keys: the message lists every place it looked (no value, only names and
// paths).
Result<S3Credentials> resolve_s3_credentials(const std::string &remote,
                                             const ExplicitS3Keys &explicit_keys,
                                             const EnvLookup &env = process_environment());

} // namespace gate::util

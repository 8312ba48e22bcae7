// `remotes:` in pipeline.yml: S3-compatible buckets that hold off-site copies
// of the backup sets. Parsing is strict like the rest of the file (unknown
// keys and bad values are errors with file:line:col); the key pair is a lazy
// secret (DeferredString) that only commands talking to the remote need.
#pragma once

#include "config/node.hpp"
#include "config/retention.hpp"
#include "util/expected.hpp"
#include "util/s3_client.hpp"
#include "util/s3_credentials.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gate::config {

struct RemoteConfig {
  std::string name;
  Location where;
  std::string url;      // as written: s3://BUCKET/PREFIX
  std::string bucket;   // from url
  std::string prefix;   // from url: no leading or trailing '/'; may be empty
  std::string endpoint; // "http(s)://host[:port]"; empty: AWS
  std::string region;   // default AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
  util::S3UrlStyle url_style = util::S3UrlStyle::automatic;
  std::optional<uint64_t> part_size; // empty: computed from each file's size
  uint32_t max_parts = 10000;
  bool required = true; // false: a failed copy is a warning and an alert, not a failed gate
  std::optional<Retention> retention; // empty: the local policy
  std::string storage_class;
  std::string ca_file; // resolved against the pipeline's directory
  std::chrono::milliseconds timeout{60000};
  // Explicit keys (usually ${VAR}); unset: the AWS conventions
  // (util/s3_credentials.hpp). Secrets: registered for redaction.
  std::optional<DeferredString> access_key_id;
  std::optional<DeferredString> secret_access_key;
  std::optional<DeferredString> session_token;
};

// Reads the `remotes:` list. `env` supplies the default region (AWS_REGION,
// AWS_DEFAULT_REGION). Fails with file:line:col on anything malformed, an
// unknown key, or a name used twice.
util::Result<std::vector<RemoteConfig>>
parse_remotes(const Node &node, const std::filesystem::path &base_dir,
              const util::EnvLookup &env = util::process_environment());

// The key in the bucket of `relative` (a path under the remote's prefix).
std::string remote_key(const RemoteConfig &remote, const std::string &relative);

// What util::S3Client needs from a remote.
util::S3ClientOptions s3_client_options(const RemoteConfig &remote);

// The remote's key pair: its explicit keys (an unset ${VAR} fails here, with
// its location), else the AWS conventions.
util::Result<util::S3Credentials>
remote_credentials(const RemoteConfig &remote,
                   const util::EnvLookup &env = util::process_environment());

} // namespace gate::config

// pipeline.yml as typed structs. Parsing is strict: unknown keys, bad values
// and unset ${VAR}s are config errors with file:line:col (exit 2), except in
// the values that only acting needs (database URLs, webhooks, alert secrets):
// those are DeferredStrings whose unset variable fails where they are used.
#pragma once

#include "config/encryption.hpp"
#include "config/environments.hpp"
#include "config/node.hpp"
#include "config/remotes.hpp"
#include "config/retention.hpp"
#include "util/expected.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gate::config {

enum class Compression { zstd, gzip, none };
enum class Quiesce { none, stop, pause };
enum class DumpFormat { custom, sql, directory, csv };
enum class RestoreMode { clean, recreate };

const char *to_string(Compression c);
const char *to_string(DumpFormat f);

struct VolumeTarget {
  std::string name;
  Location where;
  std::filesystem::path path; // a directory ...
  std::string volume;         // ... or a Docker/Podman named volume
  Compression compression = Compression::zstd;
  int level = 0; // 0: the compression's fast default
  std::vector<std::string> exclude;
  uint64_t min_size = 512;
  bool allow_empty = false;
  Quiesce quiesce = Quiesce::none;
  std::chrono::milliseconds stop_timeout{30000};
  bool container_configs = false;
  bool standby = false; // keep the verified extraction beside the live data (issue: standbys)
  std::optional<std::chrono::milliseconds> rto_budget; // the longest rollback accepted
};

struct DatabaseTarget {
  std::string name;
  Location where;
  DeferredString url; // holds secrets: never log it; util::sanitize_url() first
  std::vector<DumpFormat> formats{DumpFormat::custom};
  bool globals = false;
  bool schema_only = false; // also write a schema-only SQL dump (NAME.schema.sql) for reference
  std::vector<std::string> tables;
  std::vector<std::string> exclude_tables;
  uint64_t min_size = 1024;
  int jobs = 2;
  std::optional<double> max_shrink;         // fraction, 0.2 for 20%
  DeferredString verify_url;                // where deep verify restores; default (""): same server
  RestoreMode mode = RestoreMode::recreate; // clean: for roles that may not create databases
  Compression compression = Compression::zstd;
  std::chrono::milliseconds connect_timeout{10000};
  bool standby = false; // keep the verified restore as a closed standby database
  std::optional<std::chrono::milliseconds> rto_budget; // the longest rollback accepted
};

enum class AlertEvent { failure, success, rollback };
enum class AlertFormat { json, slack };

// An alert by email: an RFC 5322 message handed to `sendmail -t`.
struct EmailConfig {
  std::vector<std::string> to;
  std::string from; // default gate@<host name>
  std::string sendmail = "/usr/sbin/sendmail";
};

struct AlertConfig {
  Location where;
  std::optional<EmailConfig> email; // with it, `command` is the sendmail argv
  DeferredString webhook;           // URL (secret: may carry a token); unused with a command
  std::vector<std::string> command; // or argv receiving the JSON on stdin
  AlertFormat format = AlertFormat::json;
  std::vector<AlertEvent> on{AlertEvent::failure, AlertEvent::rollback};
  DeferredString secret; // HMAC key for X-Gate-Signature ("": none)
  std::string ca_file;   // extra CA bundle for HTTPS
  std::chrono::milliseconds timeout{10000};
  int retries = 3;
};

enum class PingFormat { healthchecks, uptime_kuma };

// A health-check URL pinged at the start and end of every run (healthchecks.io,
// Uptime Kuma push monitors, Cronitor): a missing ping is the alert.
struct HealthcheckConfig {
  Location where;
  std::string url; // secret: the UUID or push token is in it
  PingFormat format = PingFormat::healthchecks;
  std::chrono::milliseconds timeout{10000};
  int retries = 2;
};

// One step of a stage as written; the step registry decides its kind.
struct StepSpec {
  Node node;
};

struct StageConfig {
  std::string name;
  Location where;
  bool parallel = false;
  std::vector<StepSpec> steps;
};

struct PipelineConfig {
  std::filesystem::path file;     // the pipeline.yml read
  std::filesystem::path base_dir; // relative paths resolve against this (the file's directory)
  int version = 1;
  std::string project;
  std::string environment;
  std::filesystem::path backup_root;
  std::filesystem::path record;
  std::filesystem::path git_dir; // default: base_dir
  std::chrono::milliseconds lock_wait{0};
  double space_factor = 2.0;
  uint64_t min_free = 0; // backup_root must keep this much free (0: no floor)
  std::string pg_bindir;
  std::string engine_socket;
  std::optional<Retention> retention;
  std::vector<DatabaseTarget> databases;
  std::vector<VolumeTarget> volumes;
  std::vector<StageConfig> stages; // as written; empty means the default pipeline
  std::vector<AlertConfig> alerts;
  std::vector<HealthcheckConfig> healthchecks;
  std::filesystem::path metrics_file;
  std::optional<EncryptionConfig> encryption;          // absent: nothing is encrypted
  std::vector<RemoteConfig> remotes;                   // off-site copies (config/remotes.hpp)
  std::optional<std::chrono::milliseconds> rto_budget; // the longest whole rollback accepted
  int keep_replaced = 1; // successful runs a standby rollback's replaced data survives

  const RemoteConfig *find_remote(const std::string &name) const;
  const DatabaseTarget *find_database(const std::string &name) const;
  const VolumeTarget *find_volume(const std::string &name) const;
  std::vector<std::string> target_names() const;
};

// Parses pipeline.yml text; `file_name` is used in error locations and to
// resolve relative paths. `environment` picks one of the file's
// `environments:` (config/environments.hpp); a file that defines them needs one.
util::Result<PipelineConfig>
parse_pipeline(const std::string &text, const std::filesystem::path &file_name,
               const std::optional<EnvironmentRequest> &environment = std::nullopt);
util::Result<PipelineConfig>
load_pipeline(const std::filesystem::path &path,
              const std::optional<EnvironmentRequest> &environment = std::nullopt);

} // namespace gate::config

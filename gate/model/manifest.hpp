// manifest.json: what a backup set contains and what was proven about it.
// Written by the engine, read by list/show/verify/rollback.
#pragma once

#include "util/expected.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gate::model {

// One file of an artifact, relative to the set's directory.
// `path`, `bytes` and `sha256` describe the file as stored: for an encrypted
// file (`app.dump.zst.age`) the ciphertext, which checksums.sha256 lists too.
struct StoredFile {
  std::string path;
  uint64_t bytes = 0;
  std::string sha256;
  // Set only for an age-encrypted file: what it decrypts to.
  struct Plaintext {
    uint64_t bytes = 0;
    std::string sha256;
  };
  std::optional<Plaintext> plaintext = std::nullopt;
};

// One backed-up thing: a database dump in one format, a volume archive.
struct Artifact {
  std::string target;      // the name in pipeline.yml ("app", "minio")
  std::string kind;        // "database" | "globals" | "volume"
  std::string format;      // "custom" | "sql" | "directory" | "csv" | "globals" | "tar"
  std::string compression; // "zstd" | "gzip" | "none"
  std::string path;        // file or directory, relative to the set
  std::vector<StoredFile> files;
  // Kind-specific facts: source (sanitised), entry counts, tables with row
  // counts, server version, the plain restore commands ("restore": [...]).
  nlohmann::json details = nlohmann::json::object();
  // null: stored as plaintext. Otherwise whom the files are encrypted to:
  // {"format": "age-v1", "recipients": ["age1..."]} (public keys only) or
  // {"format": "age-v1", "passphrase": "scrypt"} (never the passphrase).
  nlohmann::json encryption;

  uint64_t bytes() const;
  bool encrypted() const { return encryption.is_object(); }
};

enum class VerifyLevel { quick, full, deep };
const char *to_string(VerifyLevel level);

struct Verification {
  std::string artifact; // Artifact::path
  VerifyLevel level = VerifyLevel::quick;
  bool ok = false;
  std::string reason; // why it failed, or a short note
  long long duration_ms = 0;
  std::string at;                                    // ISO-8601 UTC
  nlohmann::json metrics = nlohmann::json::object(); // e.g. {"restore_ms": 1234} from a deep verify
};

struct Manifest {
  std::string id;
  std::string kind;   // "pre-deployment" | "scheduled" | "pre-rollback"
  std::string status; // "complete" | "failed"
  std::string created_at;
  std::string project;
  std::string environment;
  std::string gate_version;
  std::string host;
  nlohmann::json git; // null outside a git working copy
  std::vector<Artifact> artifacts;
  std::vector<Verification> verifications;
  nlohmann::json timings = nlohmann::json::object();
  nlohmann::json extra = nlohmann::json::object(); // e.g. containers stopped
  std::string failure;

  uint64_t total_bytes() const;
  const Artifact *find_artifact(const std::string &path) const;
  // The strongest level at which every artifact has passed, if any.
  std::optional<VerifyLevel> verified_level() const;
  // True when any recorded verification failed and none later passed.
  bool has_failed_verification() const;
  // Whom any artifact is encrypted to: `age1...` keys, "passphrase (scrypt)";
  // empty for a plaintext set.
  std::vector<std::string> encrypted_to() const;
};

nlohmann::json to_json(const Manifest &m);
util::Result<Manifest> manifest_from_json(const nlohmann::json &j);
util::Result<Manifest> load_manifest(const std::filesystem::path &set_dir);
// Atomically replaces set_dir/manifest.json (0600).
util::Result<void> save_manifest(const std::filesystem::path &set_dir, const Manifest &m);

} // namespace gate::model

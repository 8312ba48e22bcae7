// .last-deployment-backup: where the verified set protecting a deploy is and
// which git commit it protects. Replaced atomically, only after a set sealed.
#pragma once

#include "model/manifest.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gate::model {

// An off-site copy of a set, confirmed object by object before its manifest
// went up.
struct RemoteCopy {
  std::string name;         // the remote's name in pipeline.yml
  std::string url;          // s3://BUCKET/PREFIX/ID/
  std::string endpoint;     // empty: AWS
  std::string confirmed_at; // ISO 8601 UTC
};

nlohmann::json remote_copies_json(const std::vector<RemoteCopy> &copies);
// The copies a record or manifest lists under "remotes" (none when absent or malformed).
std::vector<RemoteCopy> remote_copies_from_json(const nlohmann::json &j);

// Writes the record for the sealed set at `set_dir`, naming its confirmed
// off-site copies (`remotes: [{name, url, confirmed_at}]`).
util::Result<void> write_record(const std::filesystem::path &record_path, const Manifest &manifest,
                                const std::filesystem::path &set_dir,
                                const std::vector<RemoteCopy> &remotes = {});

// The set id the record names, if the record exists and is readable.
util::Result<std::optional<std::string>> read_record_id(const std::filesystem::path &record_path);

// Fails, naming both roots, when the record names a set in another backup
// root than `backup_root`: another pipeline sharing this record file wrote it.
// A record without a path (or none at all) passes.
util::Result<void> check_record_root(const std::filesystem::path &record_path,
                                     const std::filesystem::path &backup_root);

} // namespace gate::model

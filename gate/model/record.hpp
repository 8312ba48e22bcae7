// .last-deployment-backup: where the verified set protecting a deploy is and
// which git commit it protects. Replaced atomically, only after a set sealed.
#pragma once

#include "model/manifest.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <optional>

namespace gate::model {

// Writes the record for the sealed set at `set_dir`.
util::Result<void> write_record(const std::filesystem::path &record_path, const Manifest &manifest,
                                const std::filesystem::path &set_dir);

// The set id the record names, if the record exists and is readable.
util::Result<std::optional<std::string>> read_record_id(const std::filesystem::path &record_path);

// Fails, naming both roots, when the record names a set in another backup
// root than `backup_root`: another pipeline sharing this record file wrote it.
// A record without a path (or none at all) passes.
util::Result<void> check_record_root(const std::filesystem::path &record_path,
                                     const std::filesystem::path &backup_root);

} // namespace gate::model

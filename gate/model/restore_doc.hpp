// RESTORE.md: how to restore a set with plain tools (sha256sum, tar, zstd,
// pg_restore, psql), no gate needed. Also used by `gate show`.
#pragma once

#include "model/manifest.hpp"

#include <filesystem>
#include <string>

namespace gate::model {

// The plain-tool commands for one artifact, with the set directory filled in.
std::vector<std::string> plain_restore_commands(const Artifact &artifact,
                                                const std::filesystem::path &set_dir);

// The whole RESTORE.md for a set that will live at `set_dir`.
std::string restore_markdown(const Manifest &manifest, const std::filesystem::path &set_dir);

} // namespace gate::model

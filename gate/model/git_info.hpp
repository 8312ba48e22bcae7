// The git commit a backup protects: commit, branch and dirty flag of a
// working copy. Outside a git working copy (or without git) there is none.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

namespace gate::model {

// {"commit": "...", "branch": "...", "dirty": false}, or null.
nlohmann::json read_git_info(const std::filesystem::path &dir);

} // namespace gate::model

// What every verification shares: findings as values, and the quick check of
// an artifact's files (present, sizes, SHA-256) against the manifest.
#pragma once

#include "model/manifest.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace gate::steps {

// A verification's verdict. "gate said no" (ok == false) is a value; an
// Error from a verify function means it could not decide.
struct Finding {
  bool ok = true;
  std::string reason; // why not ok
  std::string note;   // what was proven, for the log ("1234 entries, 98 MiB read")
  nlohmann::json metrics = nlohmann::json::object(); // measurements kept in the manifest
};

inline Finding finding_ok(std::string note) {
  return Finding{true, {}, std::move(note)};
}
inline Finding finding_failed(std::string reason) {
  return Finding{false, std::move(reason), {}};
}

// The manifest's record of one verification of `artifact` at `level`: the
// verdict (what was proven, or why not), its measurements, how long it took,
// stamped now. The one way a Finding becomes a Verification.
model::Verification verification_of(const std::string &artifact, model::VerifyLevel level,
                                    const Finding &finding, long long duration_ms);

// Every file of `artifact` exists with the recorded size and SHA-256, and the
// total is at least details.min_size.
util::Result<Finding> verify_files_quick(const model::Artifact &artifact,
                                         const std::filesystem::path &set_dir);

// Size and min_size checks only (no hashing), for verifications that hash the
// file while reading it anyway.
Finding verify_sizes(const model::Artifact &artifact, const std::filesystem::path &set_dir);

} // namespace gate::steps

// `gate verify`: proves a stored set restorable again at a level (quick:
// sizes and checksums; full: every byte read back; deep: restored into a
// scratch database and compared), records the results in its manifest, and
// marks a set that failed `.failed-<id>` so nothing offers it any more.
#pragma once

#include "config/pipeline.hpp"

#include "model/manifest.hpp"
#include "ops/reporter.hpp"
#include "ops/run.hpp"
#include <filesystem>
#include <optional>

namespace gate::ops {

struct VerifyRequest {
  std::string set_id;
  model::VerifyLevel level = model::VerifyLevel::full;
  bool content = false;                               // with deep: compare content fingerprints too
  std::optional<std::filesystem::path> identity_file; // --identity: decrypts an encrypted set
  std::string command_line;
};

// `out` as a failure of `kind`: its exit code from the ErrorKind table.
RunOutcome failed_outcome(RunOutcome out, util::ErrorKind kind, const std::string &verdict);

// Takes the backup root's lock. exit_code comes from the ErrorKind table:
// 0 verified, 1 not restorable (or could not be verified), 130 interrupted.
RunOutcome verify_stored_set(const config::PipelineConfig &config, const VerifyRequest &request,
                             Reporter &reporter);

} // namespace gate::ops

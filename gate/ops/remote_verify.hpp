// `gate verify --remote NAME`: proves a set on a remote restorable without
// fetching it. quick: every object the manifest names is there with its size
// (one listing). full (the default): every object downloaded through SHA-256
// and read back exactly as a local full verify reads a set, through pipes
// (ops/remote_feed.hpp): nothing is written to disk. deep: the set is
// downloaded into a scratch directory under backup_root, removed afterwards
// whatever happens, and restored into a scratch database as a local deep
// verify does. The remote's manifest is not changed.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "ops/reporter.hpp"
#include "ops/run.hpp"

namespace gate::ops {

struct RemoteVerifyRequest {
  std::string remote;
  std::string set_id; // empty: --last on the remote
  model::VerifyLevel level = model::VerifyLevel::full;
  bool content = false;                               // with deep: compare content fingerprints too
  std::optional<std::filesystem::path> identity_file; // --identity: decrypts an encrypted set
  std::string command_line;
};

// exit_code from the ErrorKind table: 0 verified, 1 not restorable (a missing
// or corrupted object is named by remote, bucket and key) or could not be
// verified, 2 an unknown remote, 130 interrupted.
RunOutcome verify_remote_set(const config::PipelineConfig &config,
                             const RemoteVerifyRequest &request, Reporter &reporter);

} // namespace gate::ops

// Sets read back from a remote: which set `--last` means there, the download
// of a set's files with their checksums checked as they arrive, and
// `gate fetch` (a set brought home into backup_root and verified before it is
// listed there).
#pragma once

#include "config/pipeline.hpp"
#include "model/s3_store.hpp"
#include "ops/reporter.hpp"
#include "steps/step.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace gate::ops {

// Remote `name` of the pipeline as a set store; a usage error names the
// remotes there are.
util::Result<std::unique_ptr<model::S3SetStore>> open_remote(const config::PipelineConfig &config,
                                                             const std::string &name);

// The usable set `id` on the remote; with an empty id the newest complete set
// of this project and environment there (never a pre-rollback snapshot).
util::Result<model::SetInfo> find_remote_set(const config::PipelineConfig &config,
                                             const model::S3SetStore &store, const std::string &id);

// Every file `manifest` names is on the remote with the size it records
// (one listing); a failed result names the first missing or different
// object by its s3:// URI.
util::Result<steps::StepResult> remote_objects_present(const model::S3SetStore &store,
                                                       const model::Manifest &manifest);

// Downloads every artifact file of `manifest` (and checksums.sha256) into
// `dir`, each checked against the manifest's size and SHA-256 as it arrives.
// A mismatch is an error naming the remote, the bucket and the key.
util::Result<void> download_set_files(const model::S3SetStore &store,
                                      const model::Manifest &manifest,
                                      const std::filesystem::path &dir,
                                      const std::function<void(uint64_t)> &progress);

struct FetchRequest {
  std::string remote;
  std::string set_id;     // empty: --last on the remote
  bool lock_held = false; // the caller (a rollback) holds the root's lock
  std::string command_line;
  // --identity: an encrypted set is fetched only where it can be decrypted,
  // and its full verify decrypts every byte.
  std::optional<std::filesystem::path> identity_file;
};

struct FetchedSet {
  model::SetInfo info;       // the set in backup_root
  bool already_here = false; // a usable set of that id was already in backup_root
};

// `gate fetch`: downloads the set into backup_root/.partial-<id>, checks every
// checksum, verifies it fully as `gate verify` would and only then renames
// it into place. A fetch that fails or is interrupted leaves nothing usable.
util::Result<FetchedSet> fetch_set(const config::PipelineConfig &config,
                                   const FetchRequest &request, Reporter &reporter);

} // namespace gate::ops

// Off-site copies: after a set sealed, it is copied to every remote of the
// pipeline at once (model/s3_store.hpp), all remotes' transfers together at
// most model::k_upload_connections at a time — each artifact file and the set's log, each
// confirmed by HEAD, then its checksums, RESTORE.md and, last, manifest.json,
// so a copy cut short is never listed. A remote with `required: true` (the
// default) that cannot take the copy fails the gate before the record is
// written; `required: false` logs a warning, alerts, and the run goes on.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "model/record.hpp"
#include "model/set_store.hpp"
#include "ops/reporter.hpp"

#include <filesystem>

namespace gate::ops {

// The store `remote` names (a remote of the pipeline), or the local backup
// root when it is empty. Fails naming the remotes there are.
util::Result<std::unique_ptr<model::SetStore>> open_set_store(const config::PipelineConfig &config,
                                                              const std::string &remote);

// Copies the sealed set in `set_dir` to every remote; returns the copies
// confirmed (also noted in the local manifest's extra.remotes). Fails, naming
// the remote, when a required remote did not take it; an optional one that
// did not is a warning and an alert through every alert that fires on failure.
util::Result<std::vector<model::RemoteCopy>> copy_off_site(const config::PipelineConfig &config,
                                                           const model::Manifest &manifest,
                                                           const std::filesystem::path &set_dir,
                                                           Reporter &reporter);

// Writes `copies` into the manifest of the local set at `set_dir`
// (extra.remotes); a failure is a warning.
void note_copies_in_manifest(const std::filesystem::path &set_dir,
                             const std::vector<model::RemoteCopy> &copies);

// "s3://BUCKET/PREFIX/ID/": where set `id` is on `remote`.
std::string remote_set_url(const config::RemoteConfig &remote, const std::string &id);

} // namespace gate::ops

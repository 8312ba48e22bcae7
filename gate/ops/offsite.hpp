// Off-site copies: after a set sealed, it is copied to every remote of the
// pipeline (model/s3_store.hpp) — each artifact file and the set's log, then
// its checksums, RESTORE.md and, last, manifest.json, so a copy cut short is
// never listed. A remote with `required: true` (the default) that cannot take
// the copy fails the gate before the record is written; `required: false`
// logs a warning and the run goes on.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "model/set_store.hpp"
#include "ops/reporter.hpp"

#include <filesystem>

namespace gate::ops {

// The store `remote` names (a remote of the pipeline), or the local backup
// root when it is empty. Fails naming the remotes there are.
util::Result<std::unique_ptr<model::SetStore>> open_set_store(const config::PipelineConfig &config,
                                                              const std::string &remote);

// Copies the sealed set in `set_dir` to every remote. Fails, naming the
// remote, when a required remote did not take it.
util::Result<void> copy_off_site(const config::PipelineConfig &config,
                                 const model::Manifest &manifest,
                                 const std::filesystem::path &set_dir, Reporter &reporter);

} // namespace gate::ops

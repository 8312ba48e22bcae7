#include "ops/offsite.hpp"

#include "model/local_store.hpp"
#include "model/s3_store.hpp"
#include "ops/offsite_encryption.hpp"
#include "util/log.hpp"
#include "util/s3_client.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::ops {

namespace {

// One remote: the set uploaded file by file, then committed.
util::Result<void> copy_to(const config::RemoteConfig &remote, const model::Manifest &manifest,
                           const std::filesystem::path &set_dir) {
  TRY_ASSIGN(auto store, model::S3SetStore::open(remote));
  if (auto existing = store->find(manifest.id); existing && !existing->failed) return {};
  TRY_ASSIGN(auto writer, store->begin(manifest.id));
  for (const auto &a : manifest.artifacts)
    for (const auto &f : a.files)
      if (auto put = writer->put_file(f.path, set_dir / f.path); !put) {
        writer->abandon(put.error().message);
        return put;
      }
  std::error_code ec;
  if (std::filesystem::exists(set_dir / "gate.log", ec))
    TRY(writer->put_file("gate.log", set_dir / "gate.log"));
  if (auto committed = writer->commit(manifest); !committed) {
    writer->abandon(committed.error().message);
    return committed;
  }
  return {};
}

} // namespace

util::Result<std::unique_ptr<model::SetStore>> open_set_store(const config::PipelineConfig &config,
                                                              const std::string &remote) {
  if (remote.empty()) return std::make_unique<model::LocalSetStore>(config.backup_root);
  const auto *r = config.find_remote(remote);
  if (!r) {
    std::vector<std::string> names;
    for (const auto &x : config.remotes)
      names.push_back(x.name);
    return util::fail(util::ErrorKind::usage,
                      "--remote " + remote + ": no remote of that name in " + config.file.string() +
                          (names.empty() ? " (it has no remotes:)"
                                         : " (remotes: " + util::join(names, ", ") + ")"));
  }
  TRY_ASSIGN(auto store, model::S3SetStore::open(*r));
  return std::unique_ptr<model::SetStore>(std::move(store));
}

util::Result<void> copy_off_site(const config::PipelineConfig &config,
                                 const model::Manifest &manifest,
                                 const std::filesystem::path &set_dir, Reporter &reporter) {
  if (config.remotes.empty()) return {};
  // Encrypted once for every remote when encryption: is configured.
  TRY_ASSIGN(auto outgoing, OutgoingSet::prepare(config, manifest, set_dir));
  for (const auto &remote : config.remotes) {
    auto start = std::chrono::steady_clock::now();
    std::string label = "copy to " + remote.name;
    reporter.step_started("off-site", label);
    auto copied = copy_to(remote, outgoing->manifest(), outgoing->dir());
    StepReport report{"off-site", label};
    report.duration_ms = util::elapsed_ms(start);
    report.ok = copied.has_value();
    report.bytes = copied ? manifest.total_bytes() : 0;
    report.summary = copied ? fmt::format("set {} copied to {} ({})", manifest.id,
                                          util::s3_uri(remote.bucket, remote.prefix),
                                          util::human_bytes(manifest.total_bytes()))
                            : copied.error().message;
    reporter.step_finished(report);
    if (copied) continue;
    std::string message = fmt::format("the off-site copy of set {} to remote '{}' failed: {}",
                                      manifest.id, remote.name, copied.error().message);
    if (remote.required) return util::fail(message);
    util::log_warn("{} (required: false: the local set stands)", message);
  }
  return {};
}

} // namespace gate::ops

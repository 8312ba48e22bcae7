#include "ops/remote_sets.hpp"

#include "model/backup_set.hpp"
#include "model/lock.hpp"
#include "ops/offsite.hpp"
#include "ops/work.hpp"
#include "steps/decrypt.hpp"
#include "steps/verify/verify.hpp"
#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/s3_client.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::ops {

namespace fs = std::filesystem;

util::Result<std::unique_ptr<model::S3SetStore>> open_remote(const config::PipelineConfig &config,
                                                             const std::string &name) {
  TRY_ASSIGN(auto store, open_set_store(config, name));
  auto *remote = dynamic_cast<model::S3SetStore *>(store.get());
  if (!remote) return util::fail(util::ErrorKind::usage, "--remote needs the name of a remote");
  store.release();
  return std::unique_ptr<model::S3SetStore>(remote);
}

namespace {

bool is_newest_candidate(const config::PipelineConfig &config, const model::SetInfo &s) {
  return !s.failed && s.manifest && s.manifest->kind != "pre-rollback" &&
         s.manifest->project == config.project && s.manifest->environment == config.environment;
}

std::string project_and_environment(const config::PipelineConfig &config) {
  return "project '" + config.project + "'" +
         (config.environment.empty() ? "" : ", environment '" + config.environment + "'");
}

} // namespace

util::Result<model::SetInfo> find_remote_set(const config::PipelineConfig &config,
                                             const model::S3SetStore &store,
                                             const std::string &id) {
  if (id.empty()) {
    TRY_ASSIGN(auto sets, store.list(model::IncludeFailed::no));
    for (auto &s : sets)
      if (is_newest_candidate(config, s)) return s;
    return util::fail("no complete backup set of " + project_and_environment(config) + " on " +
                      store.location());
  }
  TRY_ASSIGN(auto info, store.find(id));
  if (info.failed || !info.manifest)
    return util::fail(
        fmt::format("set '{}' on {} is not usable ({})", id, store.location(),
                    info.manifest ? "status " + info.manifest->status : info.problem));
  return info;
}

util::Result<steps::StepResult> remote_objects_present(const model::S3SetStore &store,
                                                       const model::Manifest &manifest) {
  TRY_ASSIGN(auto sizes, store.object_sizes(manifest.id));
  size_t count = 0;
  for (const auto &a : manifest.artifacts)
    for (const auto &f : a.files) {
      auto it = sizes.find(f.path);
      if (it == sizes.end())
        return steps::failed(fmt::format("{}: {} is missing (set '{}' names it)", store.location(),
                                         store.uri(manifest.id, f.path), manifest.id));
      if (it->second != f.bytes)
        return steps::failed(fmt::format("{}: {} is {} bytes, the manifest says {}",
                                         store.location(), store.uri(manifest.id, f.path),
                                         it->second, f.bytes));
      ++count;
    }
  return steps::passed(fmt::format("{} objects present with their recorded sizes ({})", count,
                                   util::human_bytes(manifest.total_bytes())),
                       manifest.total_bytes());
}

util::Result<void> download_set_files(const model::S3SetStore &store,
                                      const model::Manifest &manifest, const fs::path &dir,
                                      const std::function<void(uint64_t)> &progress) {
  uint64_t done = 0;
  for (const auto &a : manifest.artifacts)
    for (const auto &f : a.files) {
      fs::path dest = dir / f.path;
      TRY(util::make_dirs(dest.parent_path(), 0700));
      TRY_ASSIGN(auto got, store.download(manifest.id, f.path, dest));
      if (got.sha256 != f.sha256 || got.size != f.bytes)
        return util::fail(fmt::format(
            "{}: {} does not match the manifest: {} bytes with sha256 {}, the manifest says {} "
            "bytes with sha256 {}",
            store.location(), store.uri(manifest.id, f.path), got.size, got.sha256, f.bytes,
            f.sha256));
      done += got.size;
      if (progress) progress(done);
      util::fault_point("fetch.mid-download");
      if (util::cancel_requested()) return util::fail(util::ErrorKind::interrupted, "interrupted");
    }
  (void)store.download(manifest.id, "checksums.sha256", dir / "checksums.sha256");
  return {};
}

namespace {

// A failed local copy of the same id (.failed-<id>, kept for forensics) is
// moved aside so the good copy can take its name; it stays a failed set.
util::Result<void> set_aside_failed_copy(const model::LocalSetStore &local, const std::string &id) {
  fs::path failed = local.root() / (std::string(model::LocalSetStore::k_failed_prefix) + id);
  std::error_code ec;
  if (!fs::exists(failed, ec)) return {};
  std::string aside = std::string(model::LocalSetStore::k_failed_prefix) + id + "-replaced-" +
                      util::compact_timestamp(util::Clock::now());
  fs::rename(failed, local.root() / aside, ec);
  if (ec) return util::fail("unable to move '" + failed.string() + "' aside: " + ec.message());
  util::log_warn("the failed local copy of set '{}' is kept as {}", id, aside);
  return {};
}

std::vector<const model::Artifact *> encrypted_artifacts(const model::Manifest &m) {
  std::vector<const model::Artifact *> out;
  for (const auto &a : m.artifacts)
    if (a.encrypted()) out.push_back(&a);
  return out;
}

// The files downloaded into the partial set, then the full verification.
util::Result<steps::StepResult> download_and_verify(const config::PipelineConfig &config,
                                                    const model::S3SetStore &remote,
                                                    model::LocalSetStore &local,
                                                    model::PendingSet &pending,
                                                    const std::optional<fs::path> &identity_file,
                                                    const std::string &label, Reporter &reporter) {
  model::Manifest m = pending.manifest();
  auto progress = [&](uint64_t done) { reporter.step_progress(label, done, m.total_bytes()); };
  TRY(download_set_files(remote, m, pending.dir(), progress));
  util::fault_point("fetch.before-verify");
  steps::RunContext ctx{config, local};
  ctx.set = &pending;
  ctx.identity_file = identity_file;
  // An encrypted set comes home only where it opens (deep demands an identity).
  TRY(steps::check_decryptable(ctx, m, encrypted_artifacts(m), pending.dir(),
                               model::VerifyLevel::deep));
  steps::VerifyStep verify("all", model::VerifyLevel::full);
  TRY_ASSIGN(auto verified, verify.verify_set(ctx, pending, false));
  if (verified.outcome == steps::Outcome::failed) return verified;
  return steps::passed(fmt::format("set {} fetched from {} and verified: {}", m.id,
                                   remote.location(), verified.summary),
                       m.total_bytes());
}

} // namespace

// Phases: find the set on the remote; lock the root; say so when it is
// already here; download into .partial-<id> (checksums checked as each file
// arrives); verify fully; seal, which renames it into place.
util::Result<FetchedSet> fetch_set(const config::PipelineConfig &config,
                                   const FetchRequest &request, Reporter &reporter) {
  TRY_ASSIGN(auto remote, open_remote(config, request.remote));
  TRY_ASSIGN(auto info, find_remote_set(config, *remote, request.set_id));
  std::optional<model::RootLock> lock;
  if (!request.lock_held) {
    TRY_ASSIGN(auto l, model::RootLock::acquire(config.backup_root, config.lock_wait,
                                                request.command_line));
    lock.emplace(std::move(l));
  }
  model::LocalSetStore local(config.backup_root);
  TRY(local.recover_leftovers());
  if (auto here = local.find(info.id); here && !here->failed && here->manifest)
    return FetchedSet{*here, true};
  TRY(set_aside_failed_copy(local, info.id));
  model::Manifest base = *info.manifest;
  TRY_ASSIGN(auto pending, model::PendingSet::create_with_id(local, info.id, base));
  std::string label = "fetch " + info.id + " from " + request.remote;
  std::vector<Work> work{{"fetch", label, [&] {
                            return download_and_verify(config, *remote, local, *pending,
                                                       request.identity_file, label, reporter);
                          }}};
  auto done = run_work(work, Concurrency::in_order, reporter);
  if (!done[0].ok() || util::cancel_requested()) {
    pending->discard(); // a copy of what the remote holds: nothing to keep for forensics
    if (util::cancel_requested())
      return util::fail(util::ErrorKind::interrupted,
                        "interrupted while fetching set '" + info.id + "'; nothing was kept");
    auto kind = done[0].result ? util::ErrorKind::failed : done[0].result.error().kind;
    return util::fail(kind, "set '" + info.id + "' was not fetched: " + done[0].report.summary);
  }
  TRY(pending->seal());
  TRY_ASSIGN(auto fetched, local.find(info.id));
  return FetchedSet{fetched, false};
}

} // namespace gate::ops

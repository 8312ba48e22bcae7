#include "ops/remote_verify.hpp"

#include "model/lock.hpp"
#include "ops/remote_feed.hpp"
#include "ops/remote_sets.hpp"
#include "ops/verify.hpp"
#include "ops/work.hpp"
#include "steps/decrypt.hpp"
#include "steps/verify/verify.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <unistd.h>

namespace gate::ops {

namespace fs = std::filesystem;

namespace {

// A set on a remote as the local verification sees it: its files at `dir`
// (pipes fed from the remote, or a scratch copy). Verifications are kept in
// memory only: the remote's manifest is not rewritten.
class RemoteSetView final : public model::SetHandle {
public:
  RemoteSetView(model::Manifest manifest, fs::path dir)
      : m_manifest(std::move(manifest)), m_dir(std::move(dir)) {}
  const fs::path &dir() const override { return m_dir; }
  std::string id() const override { return m_manifest.id; }
  model::Manifest manifest() const override {
    std::lock_guard lock(m_mutex);
    return m_manifest;
  }
  void add_artifact(model::Artifact) override {}
  void add_verification(model::Verification v) override {
    std::lock_guard lock(m_mutex);
    m_manifest.verifications.push_back(std::move(v));
  }
  bool sealed_on_disk() const override { return true; } // its checksums.sha256 is there

private:
  mutable std::mutex m_mutex;
  model::Manifest m_manifest;
  fs::path m_dir;
};

util::Result<steps::StepResult> verify_view(const config::PipelineConfig &config,
                                            model::SetStore &store, RemoteSetView &view,
                                            model::VerifyLevel level, bool content,
                                            const std::optional<fs::path> &identity,
                                            const std::function<void(uint64_t)> &progress) {
  steps::RunContext ctx{config, store};
  ctx.set = &view;
  ctx.identity_file = identity;
  ctx.progress = [&](const std::string &, uint64_t done, uint64_t) { progress(done); };
  steps::VerifyStep verify("all", level, false, content);
  return verify.verify_set(ctx, view, false);
}

struct FeedProblem {
  bool corrupted = false; // arrived whole but different; else not read to its end
  std::string text;
};

// What the downloads said about each file, against the manifest: the first
// object that arrived different, or that no reader read to its end.
std::optional<FeedProblem> feed_problem(const model::S3SetStore &store,
                                        const model::Manifest &manifest,
                                        const RemoteSetFeeds &feeds) {
  for (const auto &a : manifest.artifacts)
    for (const auto &f : a.files) {
      FeedPasses passes = feeds.passes(f.path);
      for (const auto &p : passes.complete)
        if (p.sha256 != f.sha256 || p.size != f.bytes)
          return FeedProblem{
              true,
              fmt::format("{}: {} is corrupted: {} bytes with sha256 {}, the manifest says {} "
                          "bytes with sha256 {}",
                          store.location(), store.uri(manifest.id, f.path), p.size, p.sha256,
                          f.bytes, f.sha256)};
      if (passes.complete.empty())
        return FeedProblem{false, fmt::format("{}: {} was not read to its end{}", store.location(),
                                              store.uri(manifest.id, f.path),
                                              passes.error.empty() ? "" : ": " + passes.error)};
    }
  return std::nullopt;
}

// The default level: the read-back of a local full verify, fed through pipes.
util::Result<steps::StepResult> verify_streaming(const config::PipelineConfig &config,
                                                 model::S3SetStore &store,
                                                 const model::Manifest &manifest,
                                                 const std::optional<fs::path> &identity,
                                                 const std::function<void(uint64_t)> &progress) {
  TRY_ASSIGN(auto feeds, RemoteSetFeeds::start(store.remote(), manifest));
  RemoteSetView view(manifest, feeds->dir());
  auto verified =
      verify_view(config, store, view, model::VerifyLevel::full, false, identity, progress);
  // A named object beats the reader's view of the same fault (a short file, a bad checksum).
  if (auto problem = feed_problem(store, manifest, *feeds);
      problem && (problem->corrupted || !verified || verified->outcome == steps::Outcome::failed))
    return steps::failed(problem->text);
  if (verified && verified->outcome == steps::Outcome::passed)
    verified->summary += "; streamed from " + store.location() + ", nothing written to disk";
  return verified;
}

// Removes a scratch copy on every path out. Its name starts with
// `.removing-`: a gate that finds one left by a killed process deletes it.
struct ScratchCopy {
  fs::path dir;
  ~ScratchCopy() {
    util::CancelShield shield;
    if (auto removed = util::remove_tree(dir); !removed)
      util::log_warn("unable to remove the scratch copy '{}': {}", dir.string(),
                     removed.error().message);
  }
};

// An encrypted set this host can decrypt is read from a scratch copy even at
// the default level: decryption reads each file's header before its body,
// which a pipe (read once) cannot give twice.
bool decrypts_here(const config::PipelineConfig &config, const RemoteVerifyRequest &request,
                   const model::Manifest &manifest) {
  for (const auto &a : manifest.artifacts)
    if (a.encrypted() && steps::has_identity(config, request.identity_file, a)) return true;
  return false;
}

// deep (and full of an encrypted set decrypted here): a scratch copy under backup_root, restored
// into a scratch database.
util::Result<steps::StepResult> verify_scratch_copy(const config::PipelineConfig &config,
                                                    const RemoteVerifyRequest &request,
                                                    model::VerifyLevel level,
                                                    model::S3SetStore &store,
                                                    const model::Manifest &manifest,
                                                    const std::function<void(uint64_t)> &progress) {
  TRY_ASSIGN(auto lock,
             model::RootLock::acquire(config.backup_root, config.lock_wait, request.command_line));
  ScratchCopy scratch{config.backup_root / fmt::format("{}remote-verify-{}-{}",
                                                       model::LocalSetStore::k_removing_prefix,
                                                       manifest.id, ::getpid())};
  TRY(util::make_dirs(scratch.dir, 0700));
  util::log_info("deep verify of a remote set: downloading it into {} (removed afterwards)",
                 scratch.dir.string());
  auto downloaded = download_set_files(store, manifest, scratch.dir, progress);
  if (!downloaded && downloaded.error().kind != util::ErrorKind::interrupted)
    return steps::failed(downloaded.error().message);
  TRY(downloaded);
  RemoteSetView view(manifest, scratch.dir);
  return verify_view(config, store, view, level, request.content, request.identity_file, progress);
}

// What this verify found, recorded beside the set's manifest on the remote
// (never in it: the committed manifest is not rewritten), so that `gate list
// --remote` can tell when the copy was last verified. Advisory: a key that
// may not write there gets a warning, the verdict stands.
void record_outcome(model::S3SetStore &store, const std::string &id, model::VerifyLevel level,
                    bool ok, const std::string &summary) {
  nlohmann::json entry{{"at", util::iso8601_utc(util::Clock::now())},
                       {"level", model::to_string(level)},
                       {"ok", ok},
                       {"host", util::host_name()},
                       {"summary", summary.substr(0, 300)}};
  if (auto recorded = store.record_verification(id, std::move(entry)); !recorded)
    util::log_warn("{}: unable to record this verification of set '{}': {}", store.location(), id,
                   recorded.error().message);
}

} // namespace

// Phases: open the remote and find the set; its objects listed (every
// level); then the read-back (full) or the scratch restore (deep).
RunOutcome verify_remote_set(const config::PipelineConfig &config,
                             const RemoteVerifyRequest &request, Reporter &reporter) {
  RunOutcome out;
  out.set_id = request.set_id;
  auto store = open_remote(config, request.remote);
  if (!store) return failed_outcome(out, store.error().kind, "FAILED: " + store.error().message);
  auto info = find_remote_set(config, **store, request.set_id);
  if (!info) return failed_outcome(out, info.error().kind, "FAILED: " + info.error().message);
  out.set_id = info->id;
  const model::Manifest &m = *info->manifest;
  std::string label = fmt::format("verify {} on remote {} ({})", m.id, request.remote,
                                  model::to_string(request.level));
  auto progress = [&](uint64_t done) { reporter.step_progress(label, done, m.total_bytes()); };
  std::vector<Work> work{
      {"verify", label, [&]() -> util::Result<steps::StepResult> {
         TRY_ASSIGN(auto present, remote_objects_present(**store, m));
         if (present.outcome == steps::Outcome::failed ||
             request.level == model::VerifyLevel::quick)
           return present;
         if (request.level == model::VerifyLevel::full && !decrypts_here(config, request, m))
           return verify_streaming(config, **store, m, request.identity_file, progress);
         return verify_scratch_copy(config, request, request.level, **store, m, progress);
       }}};
  auto done = run_work(work, Concurrency::in_order, reporter);
  out.steps.push_back(done[0].report);
  if (util::cancel_requested())
    return failed_outcome(out, util::ErrorKind::interrupted,
                          "INTERRUPTED: verification of set " + m.id + " on remote " +
                              request.remote + " stopped");
  const auto &result = done[0].result;
  if (!result)
    return failed_outcome(out, result.error().kind,
                          "FAILED: could not verify set " + m.id + ": " + result.error().message);
  record_outcome(**store, m.id, request.level, done[0].ok(),
                 done[0].ok() ? result->summary : result->reason);
  if (!done[0].ok())
    return failed_outcome(out, util::ErrorKind::failed,
                          fmt::format("FAILED: set {} on remote {} is not restorable: {}", m.id,
                                      request.remote, result->reason));
  out.event = "success";
  out.verdict = fmt::format("OK: set {} on remote {} verified ({}): {}", m.id, request.remote,
                            model::to_string(request.level), result->summary);
  return out;
}

} // namespace gate::ops

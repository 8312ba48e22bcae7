#include "ops/safety_snapshot.hpp"

#include "model/backup_set.hpp"
#include "ops/offsite_encryption.hpp"
#include "ops/run.hpp"
#include "ops/work.hpp"
#include "steps/verify/verify.hpp"
#include "util/cancel.hpp"
#include "util/fault.hpp"

namespace gate::ops {

namespace {

constexpr const char *k_stage = "safety snapshot";

// The first target whose snapshot step failed, as the error to report.
std::optional<std::string> first_failure(const std::vector<WorkDone> &done,
                                         const std::vector<std::string> &targets) {
  for (size_t i = 0; i < done.size(); ++i)
    if (!done[i].ok())
      return "the safety snapshot of '" + targets[i] + "' failed: " + done[i].report.summary;
  return std::nullopt;
}

} // namespace

util::Result<std::string>
take_safety_snapshot(const config::PipelineConfig &config,
                     const std::vector<std::unique_ptr<steps::RestoreJob>> &jobs,
                     Reporter &reporter) {
  model::LocalSetStore store(config.backup_root);
  TRY_ASSIGN(auto pending, model::PendingSet::create(store, "pre-rollback", base_manifest(config)));
  TRY(encrypt_local_set(config, *pending));
  steps::RunContext ctx{config, store};
  ctx.set = pending.get();
  ctx.open_set = [&]() -> util::Result<model::SetHandle *> { return pending.get(); };
  std::vector<std::unique_ptr<steps::Step>> snapshot_steps;
  std::vector<std::string> targets;
  std::vector<Work> work;
  for (const auto &job : jobs)
    if (auto step = job->snapshot_step()) {
      targets.push_back(job->target());
      snapshot_steps.push_back(std::move(step));
      auto *s = snapshot_steps.back().get();
      work.push_back({k_stage, s->label(), [s, &ctx] { return s->run(ctx); }});
    }
  // Every target at once, as a backup stage would.
  ctx.compression_threads = threads_each(work.size());
  auto done = run_work(work, Concurrency::at_once, reporter);
  util::fault_point("rollback.mid-safety-snapshot");
  if (util::cancel_requested()) {
    pending->discard();
    return util::fail(util::ErrorKind::interrupted, "interrupted during the safety snapshot");
  }
  if (auto problem = first_failure(done, targets)) {
    pending->mark_failed(*problem);
    return util::fail(*problem);
  }
  if (pending->manifest().artifacts.empty()) {
    pending->discard();
    return std::string();
  }
  // What was not read back while it was written is verified now.
  steps::VerifyStep verify("all", model::VerifyLevel::quick);
  TRY_ASSIGN(auto v, verify.verify_set(ctx, *pending, true));
  if (v.outcome == steps::Outcome::failed) {
    pending->mark_failed(v.reason);
    return util::fail("the safety snapshot failed verification: " + v.reason);
  }
  TRY(pending->seal());
  return pending->id();
}

} // namespace gate::ops

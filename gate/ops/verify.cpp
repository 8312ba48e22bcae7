#include "ops/verify.hpp"

#include "model/backup_set.hpp"
#include "model/lock.hpp"
#include "ops/work.hpp"
#include "steps/verify/verify.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

namespace gate::ops {

RunOutcome failed_outcome(RunOutcome out, util::ErrorKind kind, const std::string &verdict) {
  out.ok = false;
  out.exit_code = util::exit_code_for(kind);
  out.event = kind == util::ErrorKind::interrupted ? "interrupted" : "failure";
  out.verdict = verdict;
  return out;
}

RunOutcome verify_stored_set(const config::PipelineConfig &config, const VerifyRequest &request,
                             Reporter &reporter) {
  RunOutcome out;
  out.set_id = request.set_id;
  auto lock = model::RootLock::acquire(config.backup_root, config.lock_wait, request.command_line);
  if (!lock) return failed_outcome(out, lock.error().kind, "FAILED: " + lock.error().message);
  model::LocalSetStore store(config.backup_root);
  auto info = store.find(request.set_id);
  if (!info) return failed_outcome(out, info.error().kind, "FAILED: " + info.error().message);
  if (!info->manifest)
    return failed_outcome(out, util::ErrorKind::failed,
                          "FAILED: set '" + request.set_id + "': " + info->problem);
  model::StoredSet set(*info);
  steps::RunContext ctx{config, store};
  ctx.set = &set;
  ctx.identity_file = request.identity_file;
  ctx.progress = [&](const std::string &step, uint64_t done, uint64_t total) {
    reporter.step_progress(step, done, total);
  };
  steps::VerifyStep verify("all", request.level, false, request.content);
  std::vector<Work> work{{"verify", verify.label() + " of " + request.set_id,
                          [&] { return verify.verify_set(ctx, set, false); }}};
  auto done = run_work(work, Concurrency::in_order, reporter);
  out.steps.push_back(done[0].report);
  if (util::cancel_requested())
    return failed_outcome(out, util::ErrorKind::interrupted,
                          "INTERRUPTED: verification of set " + request.set_id +
                              " stopped; the set is unchanged");
  if (auto saved = set.save(); !saved)
    util::log_warn("unable to record the results in the manifest: {}", saved.error().message);
  const auto &result = done[0].result;
  if (!result)
    return failed_outcome(out, result.error().kind,
                          "FAILED: could not verify set " + request.set_id + ": " +
                              result.error().message);
  if (!done[0].ok()) {
    if (auto marked = set.mark_failed("verification failed: " + result->reason); !marked)
      util::log_warn("{}", marked.error().message);
    return failed_outcome(out, util::ErrorKind::failed,
                          fmt::format("FAILED: set {} is not restorable: {} (kept as .failed-{})",
                                      request.set_id, result->reason, request.set_id));
  }
  out.event = "success";
  out.verdict = fmt::format("OK: set {} verified ({}): {}", request.set_id,
                            model::to_string(request.level), result->summary);
  return out;
}

} // namespace gate::ops

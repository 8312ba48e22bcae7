#include "ops/runner.hpp"

#include "ops/work.hpp"
#include "util/cancel.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <thread>

namespace gate::ops {

namespace {

// The first failure among a stage's results, in their order.
void note_failures(const PlannedStage &stage, const std::vector<WorkDone> &done,
                   StagesResult &out) {
  for (size_t i = 0; i < done.size(); ++i) {
    if (!done[i].ran) break;
    const auto &d = done[i];
    out.reports.push_back(d.report);
    out.bytes += d.report.bytes;
    if (out.failure || d.ok()) continue;
    out.failed_stage = stage.name;
    out.failed_step = d.report.step;
    if (!d.result) {
      out.failure = d.result.error();
    } else {
      out.failure = util::Error{util::ErrorKind::failed, d.result->reason};
      out.rollback_requested = d.result->rollback_requested;
    }
  }
}

} // namespace

StagesResult
run_stages(Plan &plan, steps::RunContext &ctx, Reporter &reporter,
           const std::function<util::Result<void>(const PlannedStage &)> &before_stage) {
  StagesResult out;
  for (auto &stage : plan) {
    reporter.stage_started(stage.name, stage.steps.size(), stage.parallel);
    if (before_stage)
      if (auto r = before_stage(stage); !r) {
        out.failure = r.error();
        out.failed_stage = stage.name;
        break;
      }
    std::vector<Work> work;
    for (auto &step : stage.steps)
      work.push_back({stage.name, step->label(), [&ctx, &step] { return step->run(ctx); }});
    bool at_once = stage.parallel && stage.steps.size() > 1;
    ctx.compression_threads = threads_each(at_once ? stage.steps.size() : 1);
    note_failures(stage,
                  run_work(work, at_once ? Concurrency::at_once : Concurrency::in_order, reporter),
                  out);
    if (util::cancel_requested() && !out.failure) {
      out.failure = util::Error{util::ErrorKind::interrupted, "interrupted by a signal"};
      out.failed_stage = stage.name;
    }
    if (out.failure) break;
  }
  return out;
}

} // namespace gate::ops

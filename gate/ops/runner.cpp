#include "ops/runner.hpp"

#include "util/cancel.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <thread>

namespace gate::ops {

namespace {

struct StepRun {
  util::Result<steps::StepResult> result = steps::StepResult{};
  long long ms = 0;
};

StepRun run_step(steps::Step &step, steps::RunContext &ctx) {
  StepRun r;
  auto start = std::chrono::steady_clock::now();
  try {
    r.result = step.run(ctx);
  } catch (const std::exception &e) {
    r.result = util::fail(std::string("internal error: ") + e.what());
  }
  r.ms = util::elapsed_ms(start);
  return r;
}

} // namespace

StagesResult
run_stages(Plan &plan, steps::RunContext &ctx, Reporter &reporter,
           const std::function<util::Result<void>(const PlannedStage &)> &before_stage) {
  StagesResult out;
  auto fail_at = [&](const std::string &stage, const std::string &step, util::Error error) {
    out.failure = std::move(error);
    out.failed_stage = stage;
    out.failed_step = step;
  };
  for (auto &stage : plan) {
    reporter.stage_started(stage.name, stage.steps.size(), stage.parallel);
    if (before_stage)
      if (auto r = before_stage(stage); !r) {
        fail_at(stage.name, "", r.error());
        break;
      }
    std::vector<StepRun> runs(stage.steps.size());
    for (const auto &step : stage.steps)
      reporter.step_started(stage.name, step->label());
    bool concurrent = stage.parallel && stage.steps.size() > 1;
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    ctx.compression_threads =
        static_cast<int>(std::max<size_t>(1, cores / (concurrent ? stage.steps.size() : 1)));
    if (concurrent) {
      std::vector<std::thread> threads;
      for (size_t i = 0; i < stage.steps.size(); ++i)
        threads.emplace_back([&, i] { runs[i] = run_step(*stage.steps[i], ctx); });
      for (auto &t : threads)
        t.join();
    }
    for (size_t i = 0; i < stage.steps.size(); ++i) {
      auto &step = *stage.steps[i];
      if (!concurrent) {
        if (out.failure) break; // a sequential stage stops at its first failure
        runs[i] = run_step(step, ctx);
      }
      StepReport report{stage.name, step.label()};
      report.duration_ms = runs[i].ms;
      const auto &result = runs[i].result;
      if (!result) {
        report.ok = false;
        report.summary = result.error().message;
        if (!out.failure) fail_at(stage.name, step.label(), result.error());
      } else if (result->outcome == steps::Outcome::failed) {
        report.ok = false;
        report.summary = result->reason;
        if (!out.failure) {
          fail_at(stage.name, step.label(), util::Error{util::ErrorKind::failed, result->reason});
          out.rollback_requested = result->rollback_requested;
        }
      } else {
        report.summary = result->summary;
        report.bytes = result->bytes;
        out.bytes += report.bytes;
      }
      out.reports.push_back(report);
      reporter.step_finished(report);
    }
    if (util::cancel_requested() && !out.failure)
      fail_at(stage.name, "", util::Error{util::ErrorKind::interrupted, "interrupted by a signal"});
    if (out.failure) break;
  }
  return out;
}

} // namespace gate::ops

#include "ops/work.hpp"

#include "steps/restore_job.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <thread>

namespace gate::ops {

template <typename T>
std::vector<Timed<T>> run_concurrently(size_t n, const std::function<T(size_t)> &fn) {
  std::vector<Timed<T>> out(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      auto start = std::chrono::steady_clock::now();
      out[i].value = fn(i);
      out[i].ms = util::elapsed_ms(start);
    });
  for (auto &t : threads)
    t.join();
  return out;
}

template std::vector<Timed<WorkDone>> run_concurrently(size_t,
                                                       const std::function<WorkDone(size_t)> &);
template std::vector<Timed<steps::RestoreOutcome>>
run_concurrently(size_t, const std::function<steps::RestoreOutcome(size_t)> &);

int threads_each(size_t concurrent) {
  size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(std::max<size_t>(1, cores / std::max<size_t>(1, concurrent)));
}

StepReport report_of(const std::string &stage, const std::string &label,
                     const util::Result<steps::StepResult> &result, long long ms) {
  StepReport report{stage, label};
  report.duration_ms = ms;
  report.ok = result && result->outcome != steps::Outcome::failed;
  report.summary = !result ? result.error().message : report.ok ? result->summary : result->reason;
  report.bytes = report.ok ? result->bytes : 0;
  return report;
}

namespace {

WorkDone run_one(const Work &w) {
  WorkDone done;
  done.ran = true;
  auto start = std::chrono::steady_clock::now();
  try {
    done.result = w.run();
  } catch (const std::exception &e) {
    done.result = util::fail(std::string("internal error: ") + e.what());
  }
  done.report = report_of(w.stage, w.label, done.result, util::elapsed_ms(start));
  return done;
}

} // namespace

std::vector<WorkDone> run_work(const std::vector<Work> &work, Concurrency mode,
                               Reporter &reporter) {
  for (const auto &w : work)
    reporter.step_started(w.stage, w.label);
  std::vector<WorkDone> done(work.size());
  if (mode == Concurrency::at_once && work.size() > 1) {
    auto timed =
        run_concurrently<WorkDone>(work.size(), [&](size_t i) { return run_one(work[i]); });
    for (size_t i = 0; i < work.size(); ++i)
      done[i] = std::move(timed[i].value);
  }
  for (size_t i = 0; i < work.size(); ++i) {
    if (mode == Concurrency::in_order || work.size() == 1) {
      if (i > 0 && !done[i - 1].ok()) break; // in order: stop at the first failure
      done[i] = run_one(work[i]);
    }
    reporter.step_finished(done[i].report);
  }
  return done;
}

} // namespace gate::ops

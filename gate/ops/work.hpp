// The one way commands run their work (pipeline stages, the safety snapshot,
// restores, verifications): concurrently within the machine's cores or in
// order, each piece timed, its start and end told to the reporter, and each
// step's result turned into a report the same way everywhere.
#pragma once

#include "ops/reporter.hpp"
#include "steps/step.hpp"

#include <functional>
#include <string>
#include <vector>

namespace gate::ops {

template <typename T> struct Timed {
  T value;
  long long ms = 0;
};

// Runs fn(0) ... fn(n-1) at once, one thread each, and returns their values
// with how long each took, in order.
template <typename T>
std::vector<Timed<T>> run_concurrently(size_t n, const std::function<T(size_t)> &fn);

// The compression threads each of `concurrent` pieces of work may use so that
// together they fill the cores and no more.
int threads_each(size_t concurrent);

// One step of work: what it is called and what it runs.
struct Work {
  std::string stage;
  std::string label;
  std::function<util::Result<steps::StepResult>()> run;
};

enum class Concurrency { in_order, at_once };

struct WorkDone {
  util::Result<steps::StepResult> result = steps::StepResult{};
  StepReport report;
  bool ran = false; // false: not started, an earlier piece failed (in_order)
  bool ok() const { return ran && result && result->outcome != steps::Outcome::failed; }
};

// The report of a step's result: a failed outcome's reason or an error's
// message as its summary.
StepReport report_of(const std::string &stage, const std::string &label,
                     const util::Result<steps::StepResult> &result, long long ms);

// Runs `work` at once or in order (stopping at the first failure), telling
// the reporter when each starts and ends; an exception a step throws becomes
// an internal error of that step.
std::vector<WorkDone> run_work(const std::vector<Work> &work, Concurrency mode, Reporter &reporter);

} // namespace gate::ops

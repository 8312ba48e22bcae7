// What the engine tells the user interface while it works. The CLI implements
// it (terminal progress, one line per step in CI, JSON lines); the engine
// never prints.
#pragma once

#include <cstdint>
#include <string>

namespace gate::ops {

struct StepReport {
  std::string stage;
  std::string step;
  bool ok = true;
  bool skipped = false;
  std::string summary; // what was done, or why it failed
  uint64_t bytes = 0;
  long long duration_ms = 0;
};

class Reporter {
public:
  virtual ~Reporter() = default;
  virtual void stage_started(const std::string &stage, size_t steps, bool parallel) {}
  virtual void step_started(const std::string &stage, const std::string &step) {}
  virtual void step_progress(const std::string &step, uint64_t done, uint64_t total) {}
  virtual void step_finished(const StepReport &report) {}
  // A line of the plan (dry runs, rollback plans).
  virtual void plan_line(const std::string &text) {}
  // A noteworthy event outside steps ("set sealed", "record written").
  virtual void event(const std::string &name, const std::string &text) {}
};

} // namespace gate::ops

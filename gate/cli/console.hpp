// Everything gate shows people: the log on stderr, a progress line on a
// terminal, one line per step without one (CI), JSON lines with --json, and
// the final verdict line. Only cli/ prints.
#pragma once

#include "ops/reporter.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace gate::cli {

struct OutputOptions {
  bool json = false;
  bool quiet = false;
  bool verbose = false;
  bool no_color = false;
};

class Console : public ops::Reporter {
public:
  explicit Console(OutputOptions options);
  ~Console() override;

  const OutputOptions &options() const { return m_options; }
  bool terminal() const { return m_tty; }

  // Human text on stdout (not in --json mode).
  void print(const std::string &text);
  // The one verdict line every command ends with (JSON: the result object).
  void verdict(bool ok, const std::string &line, const nlohmann::json &result);
  // The last verdict's result object with its "ok" and "verdict" (null before
  // any), for a summary of many projects (cli/multi_project).
  const nlohmann::json &last_verdict() const { return m_last_verdict; }
  // A JSON document on stdout (--json output of list/show...).
  void json(const nlohmann::json &doc);
  // A CI workflow command (GitHub's ::error::): stdout, or stderr with --json
  // so that stdout stays JSON lines.
  void workflow_command(const std::string &line);

  void stage_started(const std::string &stage, size_t steps, bool parallel) override;
  void step_started(const std::string &stage, const std::string &step) override;
  void step_progress(const std::string &step, uint64_t done, uint64_t total) override;
  void step_finished(const ops::StepReport &report) override;
  void plan_line(const std::string &text) override;
  void event(const std::string &name, const std::string &text) override;

  std::string green(const std::string &s) const { return paint("32", s); }
  std::string red(const std::string &s) const { return paint("31", s); }
  std::string bold(const std::string &s) const { return paint("1", s); }
  std::string dim(const std::string &s) const { return paint("2", s); }

private:
  std::string paint(const char *code, const std::string &s) const;
  void clear_progress_locked();
  void show_output(std::string_view line);
  void progress_line_locked(const std::string &step, uint64_t done, uint64_t total);
  void emit_json(const nlohmann::json &event);

  OutputOptions m_options;
  bool m_tty = false;
  bool m_color = false;
  int m_log_sink = 0;
  std::mutex m_mutex;
  bool m_progress_shown = false;
  std::chrono::steady_clock::time_point m_last_progress{};
  std::map<std::string, std::chrono::steady_clock::time_point> m_step_started;
  // Without a terminal: a line per step every m_line_interval (GATE_PROGRESS_INTERVAL seconds).
  std::chrono::steady_clock::duration m_line_interval;
  std::map<std::string, std::chrono::steady_clock::time_point> m_last_line;
  nlohmann::json m_last_verdict;
};

} // namespace gate::cli

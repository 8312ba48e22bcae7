#include "cli/console.hpp"

#include "util/json.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

namespace gate::cli {

namespace {

// How often a long step prints a line when no terminal shows a progress bar:
// GATE_PROGRESS_INTERVAL seconds (a decimal number), else every 15 s.
std::chrono::steady_clock::duration progress_line_interval() {
  double seconds = 15;
  if (const char *v = std::getenv("GATE_PROGRESS_INTERVAL"); v && *v) {
    char *end = nullptr;
    double parsed = std::strtod(v, &end);
    if (end && *end == '\0' && parsed > 0 && parsed < 86400) seconds = parsed;
  }
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

} // namespace

Console::Console(OutputOptions options)
    : m_options(options), m_line_interval(progress_line_interval()) {
  m_tty = ::isatty(STDERR_FILENO) && !options.json;
  const char *no_color = std::getenv("NO_COLOR");
  m_color = m_tty && ::isatty(STDOUT_FILENO) && !options.no_color && !(no_color && *no_color);
  m_log_sink = util::add_log_sink([this](util::LogLevel level, std::string_view line) {
    if (level == util::LogLevel::debug) return;
    if (level == util::LogLevel::output) return show_output(line);
    if (level == util::LogLevel::info && !m_options.verbose) return;
    if (level == util::LogLevel::warn && m_options.quiet) return;
    std::lock_guard lock(m_mutex);
    clear_progress_locked();
    std::string prefix = level == util::LogLevel::error  ? paint("31", "error: ")
                         : level == util::LogLevel::warn ? paint("33", "warning: ")
                                                         : std::string();
    std::fprintf(stderr, "%s%.*s\n", prefix.c_str(), static_cast<int>(line.size()), line.data());
    std::fflush(stderr);
  });
}

Console::~Console() {
  util::remove_log_sink(m_log_sink);
}

// A child's line (already redacted by the log): part of the transcript on stdout.
void Console::show_output(std::string_view line) {
  if (m_options.json) return emit_json({{"event", "output"}, {"text", std::string(line)}});
  if (m_options.quiet) return;
  std::lock_guard lock(m_mutex);
  clear_progress_locked();
  std::fprintf(stdout, "  %.*s\n", static_cast<int>(line.size()), line.data());
  std::fflush(stdout);
}

std::string Console::paint(const char *code, const std::string &s) const {
  if (!m_color) return s;
  return fmt::format("\033[{}m{}\033[0m", code, s);
}

void Console::clear_progress_locked() {
  if (!m_progress_shown) return;
  std::fputs("\r\033[K", stderr);
  m_progress_shown = false;
}

void Console::emit_json(const nlohmann::json &event) {
  std::string line = util::redact(util::json_text(event)) + "\n";
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

void Console::print(const std::string &text) {
  if (m_options.json) return;
  std::lock_guard lock(m_mutex);
  clear_progress_locked();
  std::string out = util::redact(text);
  std::fputs(out.c_str(), stdout);
  if (out.empty() || out.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Console::json(const nlohmann::json &doc) {
  std::string out = util::redact(util::json_text(doc, 2)) + "\n";
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

void Console::workflow_command(const std::string &line) {
  std::lock_guard lock(m_mutex);
  clear_progress_locked();
  std::string out = util::redact(line) + "\n";
  std::fputs(out.c_str(), m_options.json ? stderr : stdout);
  std::fflush(m_options.json ? stderr : stdout);
}

void Console::verdict(bool ok, const std::string &line, const nlohmann::json &result) {
  m_last_verdict = result.is_object() ? result : nlohmann::json::object();
  m_last_verdict["ok"] = ok;
  m_last_verdict["verdict"] = line;
  if (m_options.json) {
    nlohmann::json r = result;
    r["event"] = "result";
    r["ok"] = ok;
    r["verdict"] = line;
    emit_json(r);
    return;
  }
  std::lock_guard lock(m_mutex);
  clear_progress_locked();
  std::string out = util::redact(line);
  std::fprintf(stdout, "%s\n", ok ? paint("1;32", out).c_str() : paint("1;31", out).c_str());
  std::fflush(stdout);
}

void Console::stage_started(const std::string &stage, size_t steps, bool parallel) {
  if (m_options.json) {
    emit_json(
        {{"event", "stage_started"}, {"stage", stage}, {"steps", steps}, {"parallel", parallel}});
    return;
  }
  if (m_options.quiet) return;
  print(bold(
      fmt::format("== {}{}", stage,
                  parallel && steps > 1 ? fmt::format(" ({} steps in parallel)", steps) : "")));
}

void Console::step_started(const std::string &stage, const std::string &step) {
  std::lock_guard lock(m_mutex);
  m_step_started[step] = std::chrono::steady_clock::now();
  m_last_line.erase(step);
  if (m_options.json) emit_json({{"event", "step_started"}, {"stage", stage}, {"step", step}});
}

void Console::step_progress(const std::string &step, uint64_t done, uint64_t total) {
  if (m_options.quiet || m_options.json) return;
  std::lock_guard lock(m_mutex);
  if (!m_tty) return progress_line_locked(step, done, total);
  auto now = std::chrono::steady_clock::now();
  if (now - m_last_progress < std::chrono::milliseconds(200)) return;
  m_last_progress = now;
  double secs = 0;
  if (auto it = m_step_started.find(step); it != m_step_started.end())
    secs = std::chrono::duration<double>(now - it->second).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  std::string line = fmt::format("  {} {} {}/s", step, util::human_bytes(done),
                                 util::human_bytes(static_cast<uint64_t>(rate)));
  if (total > 0 && done <= total && rate > 0) {
    long long eta = static_cast<long long>(static_cast<double>(total - done) / rate * 1000);
    line += fmt::format(" of ~{}, ETA {}", util::human_bytes(total), util::human_duration_ms(eta));
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  m_progress_shown = true;
}

// CI logs have no progress bar: a plain line on stdout at a steady interval
// shows that a long step is alive and how fast it goes.
void Console::progress_line_locked(const std::string &step, uint64_t done, uint64_t total) {
  auto now = std::chrono::steady_clock::now();
  auto started = m_step_started.try_emplace(step, now).first->second;
  auto &last = m_last_line.try_emplace(step, started).first->second;
  if (now - last < m_line_interval) return;
  last = now;
  double secs = std::chrono::duration<double>(now - started).count();
  auto rate = static_cast<uint64_t>(secs > 0 ? static_cast<double>(done) / secs : 0);
  std::string line = fmt::format("  ... {}: {} so far, {}/s", step, util::human_bytes(done),
                                 util::human_bytes(rate));
  if (total > 0 && done <= total) line += fmt::format(" (of ~{})", util::human_bytes(total));
  std::fprintf(stdout, "%s\n", util::redact(line).c_str());
  std::fflush(stdout);
}

void Console::step_finished(const ops::StepReport &r) {
  if (m_options.json) {
    emit_json({{"event", "step_finished"},
               {"stage", r.stage},
               {"step", r.step},
               {"ok", r.ok},
               {"summary", r.summary},
               {"bytes", r.bytes},
               {"duration_ms", r.duration_ms}});
    return;
  }
  if (m_options.quiet && r.ok) return;
  std::string mark = r.ok ? green("ok") : red("FAILED");
  std::string size = r.bytes ? ", " + util::human_bytes(r.bytes) : "";
  print(fmt::format("  [{}] {} ({}{}): {}", mark, r.step, util::human_duration_ms(r.duration_ms),
                    size, r.summary));
}

void Console::plan_line(const std::string &text) {
  if (m_options.json) {
    emit_json({{"event", "plan"}, {"text", text}});
    return;
  }
  print(text);
}

void Console::event(const std::string &name, const std::string &text) {
  if (m_options.json) {
    emit_json({{"event", name}, {"text", text}});
    return;
  }
  if (m_options.quiet) return;
  if (name == "set_started") return;
  if (name == "object_uploaded" && m_tty) return; // the progress line shows it on a terminal
  print("  " + dim(text));
}

} // namespace gate::cli

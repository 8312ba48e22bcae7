#include "cli/outputs.hpp"

#include "cli/status_facts.hpp"
#include "model/last_run.hpp"
#include "model/version.hpp"
#include "steps/alerts/alert.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"
#include "util/time.hpp"
#include "util/xml.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace gate::cli {

namespace {

nlohmann::json alert_payload(const config::PipelineConfig &config, const ops::RunOutcome &o,
                             const std::string &command) {
  nlohmann::json p;
  p["project"] = config.project;
  p["environment"] = config.environment;
  p["command"] = command;
  p["event"] = o.event == "interrupted" ? "failure" : o.event;
  p["ok"] = o.ok;
  p["exit_code"] = o.exit_code;
  p["verdict"] = o.verdict;
  p["failed"] = o.ok ? nlohmann::json(nullptr)
                     : nlohmann::json{{"stage", o.failed_stage},
                                      {"step", o.failed_step},
                                      {"reason", o.reason}};
  p["set"] = {{"id", o.set_id}, {"path", o.set_dir.empty() ? "" : o.set_dir.string()}};
  p["git"] = o.git;
  p["bytes"] = o.bytes;
  p["duration_ms"] = o.duration_ms;
  p["steps"] = nlohmann::json::array();
  for (const auto &s : o.steps)
    p["steps"].push_back({{"stage", s.stage},
                          {"step", s.step},
                          {"ok", s.ok},
                          {"summary", s.summary},
                          {"bytes", s.bytes},
                          {"duration_ms", s.duration_ms}});
  if (!o.rollback.is_null()) p["rollback"] = o.rollback;
  p["host"] = util::host_name();
  p["gate_version"] = model::k_gate_version;
  p["timestamp"] = util::iso8601_utc(util::Clock::now());
  return p;
}

bool wanted(const config::AlertConfig &alert, const std::string &event, bool ok) {
  auto has = [&](config::AlertEvent e) {
    return std::find(alert.on.begin(), alert.on.end(), e) != alert.on.end();
  };
  if (event == "rollback")
    return has(config::AlertEvent::rollback) || (!ok && has(config::AlertEvent::failure));
  return ok ? has(config::AlertEvent::success) : has(config::AlertEvent::failure);
}

void write_junit(const std::string &path, const ops::RunOutcome &o, const std::string &command) {
  int failures = 0;
  for (const auto &s : o.steps)
    failures += s.ok ? 0 : 1;
  if (!o.ok && failures == 0)
    failures = 1; // a failure outside any step (config, lock) still fails the suite
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<testsuites name=\"gate\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                     std::max<size_t>(o.steps.size(), 1), failures, o.duration_ms / 1000.0);
  xml +=
      fmt::format("  <testsuite name=\"gate {}\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                  command, std::max<size_t>(o.steps.size(), 1), failures, o.duration_ms / 1000.0);
  for (const auto &s : o.steps) {
    xml += fmt::format("    <testcase classname=\"gate.{}\" name=\"{}\" time=\"{:.3f}\"",
                       util::xml_escape(s.stage), util::xml_escape(s.step), s.duration_ms / 1000.0);
    if (s.ok)
      xml += "/>\n";
    else
      xml += fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                         util::xml_escape(s.summary.substr(0, 500)), util::xml_escape(s.summary));
  }
  if (o.steps.empty())
    xml += fmt::format(
        "    <testcase classname=\"gate\" name=\"{}\"{}", command,
        o.ok ? "/>\n"
             : fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                           util::xml_escape(o.reason), util::xml_escape(o.verdict)));
  xml += "  </testsuite>\n</testsuites>\n";
  if (auto r = util::write_file_atomic(path, util::redact(xml), 0644); !r)
    util::log_warn("--junit: {}", r.error().message);
}

void append_file(const char *path, const std::string &text) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    util::log_warn("unable to write '{}': {}", path, util::errno_text(errno));
    return;
  }
  (void)util::write_all(fd, text.data(), text.size(), path);
  ::close(fd);
}

void github_outputs(const ops::RunOutcome &o, const std::string &command, Console &console) {
  const char *actions = std::getenv("GITHUB_ACTIONS");
  if (!actions || std::string(actions) != "true") return;
  if (!o.ok) {
    // Workflow commands end at a newline: keep the annotation on one line.
    std::string line = util::redact(o.verdict);
    for (auto &c : line)
      if (c == '\n' || c == '\r') c = ' ';
    console.workflow_command("::error title=gate " + command + "::" + line);
  }
  if (const char *summary = std::getenv("GITHUB_STEP_SUMMARY"); summary && *summary) {
    std::string md = fmt::format("### gate {}: {}\n\n{}\n\n| stage | step | result | time | "
                                 "summary |\n|---|---|---|---|---|\n",
                                 command, o.ok ? "passed" : "FAILED", o.verdict);
    for (const auto &s : o.steps) {
      std::string summary_text = s.summary;
      for (auto &c : summary_text)
        if (c == '|' || c == '\n') c = ' ';
      md += fmt::format("| {} | {} | {} | {} | {} |\n", s.stage, s.step, s.ok ? "ok" : "**FAILED**",
                        util::human_duration_ms(s.duration_ms), summary_text);
    }
    append_file(summary, util::redact(md) + "\n");
  }
  if (const char *output = std::getenv("GITHUB_OUTPUT"); output && *output)
    append_file(output,
                fmt::format("backup_id={}\nbackup_path={}\nverdict={}\n", o.set_id,
                            o.set_dir.empty() ? "" : o.set_dir.string(), o.ok ? "ok" : "failed"));
}

void write_dotenv(const std::string &path, const ops::RunOutcome &o) {
  auto commit = o.git.is_object() && o.git.value("commit", nlohmann::json()).is_string()
                    ? o.git["commit"].get<std::string>()
                    : std::string();
  std::string text = fmt::format(
      "GATE_BACKUP_ID={}\nGATE_BACKUP_PATH={}\nGATE_VERDICT={}\nGATE_GIT_COMMIT={}\n", o.set_id,
      o.set_dir.empty() ? "" : o.set_dir.string(), o.ok ? "ok" : "failed", commit);
  if (auto r = util::write_file_atomic(path, text, 0644); !r)
    util::log_warn("--dotenv: {}", r.error().message);
}

// Prometheus text format for node_exporter's textfile collector. The last
// success time survives failed runs: it is read back from the previous file.
void write_metrics(const config::PipelineConfig &config, const ops::RunOutcome &o,
                   const std::string &command) {
  if (config.metrics_file.empty()) return;
  auto label =
      [](const std::string &v) { // Prometheus label values escape backslashes, quotes and newlines
        std::string out;
        for (char c : v) {
          if (c == '\\' || c == '"') out.push_back('\\');
          if (c == '\n')
            out += "\\n";
          else
            out.push_back(c);
        }
        return out;
      };
  std::string labels = fmt::format("project=\"{}\",environment=\"{}\",command=\"{}\"",
                                   label(config.project), label(config.environment), command);
  long long now =
      std::chrono::duration_cast<std::chrono::seconds>(util::Clock::now().time_since_epoch())
          .count();
  std::string last_success = "0";
  if (o.ok)
    last_success = std::to_string(now);
  else if (auto old = util::read_file(config.metrics_file); old) {
    std::string key = "gate_last_success_timestamp_seconds{" + labels + "} ";
    if (size_t pos = old->find(key); pos != std::string::npos)
      last_success = old->substr(pos + key.size(), old->find('\n', pos) - pos - key.size());
  }
  std::string text;
  auto metric = [&](const char *name, const char *help, const std::string &value) {
    text += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{}{{{}}} {}\n", name, help, name, name,
                        labels, value);
  };
  metric("gate_last_run_timestamp_seconds", "When gate last finished, in Unix time.",
         std::to_string(now));
  metric("gate_last_success_timestamp_seconds", "When gate last passed, in Unix time.",
         last_success);
  metric("gate_last_run_success", "1 when the last run passed, else 0.", o.ok ? "1" : "0");
  metric("gate_last_exit_code", "The exit code of the last run.", std::to_string(o.exit_code));
  metric("gate_last_run_duration_seconds", "How long the last run took.",
         fmt::format("{:.3f}", o.duration_ms / 1000.0));
  metric("gate_last_backup_bytes", "Bytes written by the last run.", std::to_string(o.bytes));
  for (const auto &gauge : status_gauges(config))
    metric(gauge.name, gauge.help, gauge.value);
  if (auto r = util::write_file_atomic(config.metrics_file, text, 0644); !r)
    util::log_warn("metrics_file: {}", r.error().message);
}

} // namespace

void publish_outcome(const config::PipelineConfig &config, const Args &args,
                     ops::RunOutcome &outcome, const std::string &command, Console &console) {
  if (!args.junit.empty()) write_junit(args.junit, outcome, command);
  if (!args.dotenv.empty()) write_dotenv(args.dotenv, outcome);
  github_outputs(outcome, command, console);
  write_metrics(config, outcome, command);
  std::string event = command == "rollback" ? "rollback" : outcome.event;
  nlohmann::json payload = alert_payload(config, outcome, command);
  payload["event"] = event == "interrupted" ? "failure" : event;
  // An interrupted run is exactly when the alert must go out: its command
  // (sendmail, a pager) must not be stopped by the interrupt that ended the run.
  util::CancelShield shield;
  for (const auto &alert : config.alerts)
    if (!steps::interrupted_during_alerts() && wanted(alert, event, outcome.ok))
      steps::deliver_alert(alert, payload);
  const int interrupted = util::exit_code_for(util::ErrorKind::interrupted);
  if (steps::interrupted_during_alerts() && outcome.exit_code != interrupted) {
    outcome.ok = false;
    outcome.exit_code = interrupted;
    outcome.event = "interrupted";
    outcome.verdict += " (then INTERRUPTED while sending alerts: some were not delivered)";
  }
  model::LastRun last{command,
                      outcome.ok,
                      outcome.exit_code,
                      outcome.verdict,
                      util::iso8601_utc(util::Clock::now()),
                      outcome.set_id,
                      outcome.duration_ms,
                      config.project,
                      config.environment};
  // A gate that found the lock taken did not run: the last run is the other one's.
  if (outcome.exit_code == util::exit_code_for(util::ErrorKind::lock_busy)) return;
  if (auto r = model::write_last_run(config.backup_root, last); !r)
    util::log_warn("unable to record the run for `gate status`: {}", r.error().message);
}

} // namespace gate::cli

#include "steps/exec/exec.hpp"

#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <unistd.h>

namespace gate::steps {

std::string ExecStep::label() const {
  std::string cmd;
  for (const auto &a : m_argv)
    cmd += (cmd.empty() ? "" : " ") + a;
  if (cmd.size() > 60) cmd = cmd.substr(0, 57) + "...";
  return "exec " + cmd;
}

std::string ExecStep::plan(const RunContext &) const {
  const char *policy = m_on_failure == OnFailure::rollback ? "roll back to this run's set"
                       : m_on_failure == OnFailure::abort  ? "abort"
                                                           : "continue";
  return fmt::format("run {} (on failure: {})", label().substr(5), policy);
}

util::Result<void> ExecStep::check(const RunContext &) const {
  auto program = util::find_in_path(m_argv[0]);
  if (program.empty() || ::access(program.c_str(), X_OK) != 0)
    return util::fail("exec: '" + m_argv[0] + "' is not an executable program");
  return {};
}

util::Result<StepResult> ExecStep::run(RunContext &) {
  util::ProcessSpec spec;
  spec.argv = m_argv;
  spec.env = m_env;
  spec.cwd = m_cwd;
  spec.stdout_mode = util::StreamMode::log;
  spec.stderr_mode = util::StreamMode::log;
  spec.log_prefix = "| ";
  spec.log_level =
      util::LogLevel::output; // a migration's output is shown live, not only in gate.log
  spec.end_group_on_failure = true;
  auto start = std::chrono::steady_clock::now();
  util::log_info("{}: starting (process group of its own)", label());
  TRY_ASSIGN(auto proc, util::Process::start(spec));
  TRY_ASSIGN(auto status, proc->wait(m_timeout));
  long long ms = util::elapsed_ms(start);
  bool interrupted = util::cancel_requested();
  if (status.ok() && !interrupted)
    return passed(fmt::format("exited 0 in {}", util::human_duration_ms(ms)));

  std::string why = interrupted        ? "was interrupted (gate received a signal) and was stopped"
                    : status.timed_out ? fmt::format("timed out after {} and was stopped",
                                                     util::human_duration_ms(m_timeout->count()))
                                       : status.describe();
  std::string reason = fmt::format("{} {}", label(), why);
  // What the command said last is usually why it failed: show it with the verdict.
  std::string said_lines;
  if (std::string said = util::redact(proc->stderr_tail()); !said.empty()) {
    if (said.size() > 600) said = "..." + said.substr(said.size() - 600);
    said_lines = "; its last error output:";
    for (const auto &line : util::split(said, '\n'))
      said_lines += "\n    " + line;
  }
  if (m_on_failure == OnFailure::proceed && !interrupted) {
    util::log_warn("{} (on_failure: continue){}", reason, said_lines);
    return passed(fmt::format("{} (on_failure: continue)", why));
  }
  reason += said_lines;
  StepResult r = failed(reason);
  r.rollback_requested = m_on_failure == OnFailure::rollback;
  if (interrupted && !r.rollback_requested) return util::fail(util::ErrorKind::interrupted, reason);
  return r;
}

util::Result<std::unique_ptr<Step>> make_exec_step(const config::Node &node,
                                                   const config::PipelineConfig &config) {
  TRY_ASSIGN(auto map, config::MapReader::open(node, "an exec step",
                                               {"exec", "env", "cwd", "timeout", "on_failure"}));
  TRY_ASSIGN(auto argv_node, map.require("exec"));
  if (!argv_node.is_sequence())
    return std::unexpected(
        argv_node.error("exec takes an argv list such as [\"./migrate.sh\", \"--yes\"]; "
                        "for a shell write [\"sh\", \"-c\", \"...\"]"));
  TRY_ASSIGN(auto argv, argv_node.as_string_list());
  if (argv.empty() || argv[0].empty())
    return std::unexpected(argv_node.error("exec: empty command"));
  std::map<std::string, std::string> env;
  if (auto n = map.take("env")) {
    if (!n->is_map()) return std::unexpected(n->error("env must be a mapping of NAME: value"));
    for (auto &[k, v] : n->entries()) {
      TRY_ASSIGN(std::string value, v.as_string());
      util::register_url_secrets(value); // a DATABASE_URL the migration may echo stays masked
      env[k.raw()] = value;
    }
  }
  std::filesystem::path cwd = config.base_dir;
  if (auto n = map.take("cwd")) {
    TRY_ASSIGN(std::string c, n->as_string());
    cwd = std::filesystem::path(c).is_absolute() ? std::filesystem::path(c) : config.base_dir / c;
  }
  std::optional<std::chrono::milliseconds> timeout;
  if (auto n = map.take("timeout")) {
    TRY_ASSIGN(auto t, n->as_duration());
    if (t.count() > 0) timeout = t; // 0: no limit
  }
  OnFailure on_failure = OnFailure::abort;
  if (auto n = map.take("on_failure")) {
    TRY_ASSIGN(std::string s, n->as_string());
    if (s == "rollback")
      on_failure = OnFailure::rollback;
    else if (s == "abort")
      on_failure = OnFailure::abort;
    else if (s == "continue")
      on_failure = OnFailure::proceed;
    else {
      std::string message = "invalid on_failure '" + s + "' (expected rollback, abort or continue)";
      if (auto guess = util::closest_match(s, {"rollback", "abort", "continue"}))
        message += "; did you mean '" + *guess + "'?";
      return std::unexpected(n->error(message));
    }
  }
  TRY(map.finish());
  // A relative program path is relative to cwd, like a shell would run it there.
  if (argv[0].find('/') != std::string::npos && argv[0][0] != '/')
    argv[0] = (cwd / argv[0]).lexically_normal().string();
  return std::make_unique<ExecStep>(argv, env, cwd, timeout, on_failure);
}

} // namespace gate::steps

// Child processes: each in its own process group (so a whole pipeline of
// grandchildren can be stopped), registered for cancellation, with stderr
// captured for error messages. Arguments are passed as argv, never via a shell.
#pragma once

#include "util/expected.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace gate::util {

enum class StreamMode {
  null,    // /dev/null
  pipe,    // a pipe the caller reads (stdout) or writes (stdin)
  log,     // each line goes to the log (and stderr is captured for errors)
  inherit, // gate's own stream
  fd,      // a descriptor given in ProcessSpec
};

// Which of gate's own environment a child inherits.
enum class EnvPolicy {
  inherit, // everything (a migration command needs the deploy's environment)
  // Only what any tool needs (PATH, HOME, USER, LOGNAME, locale, TZ, TMPDIR)
  // and libpq's PG* variables: a pg_dump must not hold DATABASE_URL, webhook
  // URLs or the other targets' secrets that gate's environment carries.
  minimal,
};

struct ProcessSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env; // set or override
  std::vector<std::string> unset_env;
  EnvPolicy env_policy = EnvPolicy::inherit;
  std::filesystem::path cwd;
  StreamMode stdin_mode = StreamMode::null;
  StreamMode stdout_mode = StreamMode::pipe;
  StreamMode stderr_mode = StreamMode::log; // always also kept as a tail for errors
  int stdin_fd = -1;                        // with StreamMode::fd
  int stdout_fd = -1;                       // with StreamMode::fd
  std::string log_prefix;                   // prefix of logged lines, e.g. "pg_dump: "
  LogLevel log_level = LogLevel::info;      // of logged lines: output to show them on the console
  // When the child fails (exits non-zero or is killed), whatever it left
  // running in its process group is killed too before wait() returns: a failed
  // migration's background workers must not write during a rollback.
  bool end_group_on_failure = false;
};

struct ExitStatus {
  int code = -1;  // exit code when the process exited
  int signal = 0; // the signal that killed it, else 0
  bool timed_out = false;
  bool ok() const { return signal == 0 && code == 0 && !timed_out; }
  // "exited 1", "killed by signal 9", "timed out after 5s".
  std::string describe() const;
};

class Process {
public:
  // Starts argv[0] (looked up in PATH when it has no slash). Fails when the
  // program cannot be executed.
  static Result<std::unique_ptr<Process>> start(const ProcessSpec &spec);
  ~Process(); // a still-running child's group is killed and reaped

  pid_t pid() const { return m_pid; }
  int stdout_fd() const { return m_stdout.get(); }
  int stdin_fd() const { return m_stdin.get(); }
  void close_stdin() { m_stdin.reset(); }
  void close_stdout() { m_stdout.reset(); }

  // Waits for the child. With a timeout, a child still running then gets
  // SIGTERM, then SIGKILL after a grace period, and timed_out is set.
  Result<ExitStatus> wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Sends `sig` to the child's whole process group.
  void kill_group(int sig);

  // The last lines the child wrote to stderr (sanitised by the log layer only
  // when logged; callers redact before showing it).
  std::string stderr_tail() const;

private:
  Process() = default;
  void start_readers(const ProcessSpec &spec, UniqueFd err_read);
  void stop_readers();
  bool wait_exit(int timeout_ms);
  bool wait_terminating(std::chrono::steady_clock::time_point deadline, ExitStatus &status);
  void end_stragglers(bool terminated);
  Result<ExitStatus> reap(ExitStatus status);

  pid_t m_pid = -1;
  bool m_reaped = false;
  bool m_end_group_on_failure = false;
  UniqueFd m_stdin, m_stdout, m_pidfd;
  struct Reader;
  std::vector<std::unique_ptr<Reader>> m_readers;
  std::shared_ptr<std::string> m_stderr_tail;
};

struct CommandOutput {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Runs a short command to completion, capturing stdout (up to a few MiB).
Result<CommandOutput> run_command(const ProcessSpec &spec,
                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// Looks `name` up in PATH; returns an empty path when not found.
std::filesystem::path find_in_path(const std::string &name);

} // namespace gate::util

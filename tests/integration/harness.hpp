// What integration tests share: running the real gate binary and other
// people's tools, temporary directories, and one real PostgreSQL server the
// harness starts itself (ci/pg-sandbox: initdb as a non-root user, loopback).
#pragma once

#include "util/process.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gate::test {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// Runs argv to completion (no shell), stdin from /dev/null.
CommandResult run(const std::vector<std::string> &argv, const fs::path &cwd = {},
                  const std::map<std::string, std::string> &env = {});
// Runs a bash script.
CommandResult sh(const std::string &script, const fs::path &cwd = {},
                 const std::map<std::string, std::string> &env = {});
// Runs the built gate binary.
CommandResult run_gate(const std::vector<std::string> &args, const fs::path &cwd,
                       const std::map<std::string, std::string> &env = {});
std::string gate_binary();
fs::path source_dir();

// Starts the built gate without waiting, for tests that act while it runs
// (signals, concurrent runs); its stdout is piped, stderr kept as a tail.
std::unique_ptr<gate::util::Process> start_gate(const std::vector<std::string> &args,
                                                const fs::path &cwd,
                                                const std::map<std::string, std::string> &env = {});
// Starts gate with the fault point `point` armed (util/fault.hpp) and returns
// once gate has reached it: gate then waits there for the test's signal.
std::unique_ptr<gate::util::Process>
start_gate_at_fault(const std::vector<std::string> &args, const fs::path &cwd,
                    const std::string &point, std::map<std::string, std::string> env = {});
// Reads a started gate's stdout to the end and waits for it.
CommandResult finish_gate(gate::util::Process &gate);
// Reads the process's stdout until `done` holds for what was read (or its
// stdout ends, or `bound` passes: a failure bound, not a pause); returns it.
std::string read_output_until(gate::util::Process &p,
                              const std::function<bool(const std::string &)> &done,
                              std::chrono::seconds bound);

// A directory removed with everything in it when the test ends.
class TempDir {
public:
  TempDir();
  ~TempDir();
  const fs::path &path() const { return m_path; }
  fs::path operator/(const std::string &p) const { return m_path / p; }

private:
  fs::path m_path;
};

void write_file(const fs::path &path, const std::string &content);
std::string read_file(const fs::path &path);
// A directory tree with text files, a binary, a symlink, a hard link and modes.
void make_sample_tree(const fs::path &root, int files = 40);

// The PostgreSQL server for the whole test run (get()), or a private one a
// test starts for itself (start_private()) to stop and start again.
class PgServer {
public:
  static PgServer &get();
  PgServer() = default;
  PgServer(const PgServer &) = delete;
  PgServer &operator=(const PgServer &) = delete;
  ~PgServer() { stop(); }
  int port() const { return m_port; }
  const std::string &password() const { return m_password; }
  // postgresql://gate:PASSWORD@127.0.0.1:PORT/db
  std::string url(const std::string &db) const;
  // Runs SQL with psql; fails the test on error when `check`.
  CommandResult psql(const std::string &db, const std::string &sql, bool check = true) const;
  // The single value of a query, trimmed.
  std::string value(const std::string &db, const std::string &sql) const;
  void create_database(const std::string &name) const; // dropped first if it exists
  // A database owned by a new plain role (LOGIN, no superuser, no CREATEDB)
  // holding table t with `rows` rows; returns the URL that connects as that role.
  std::string create_owned_database(const std::string &name, const std::string &role,
                                    const std::string &password, int rows) const;
  // An open psql session on `db` (an application's connection): send it SQL
  // with session_send, which waits for the first line of output.
  std::unique_ptr<gate::util::Process> open_session(const std::string &db) const;
  std::string bindir() const { return m_bindir; }
  // The server's data directory (its own or the ctest fixture's).
  fs::path data_dir() const { return m_dir / "data"; }
  void start();
  // Its own server (ci/pg-sandbox), never the ctest fixture's.
  void start_private();
  void stop();
  // As a crash would stop it (`pg_ctl stop -m immediate`), keeping its data;
  // resume() starts it again on the same port. For a private server only.
  void halt() const;
  void resume() const;
  static void stop_if_started();

private:
  fs::path m_dir;
  int m_port = 0;
  std::string m_password;
  std::string m_bindir;
  bool m_started = false;
  bool m_shared = false; // started by the ctest fixture: left running for the next test
};

// The file a ctest fixture (tests/integration/fixture) wrote for the shared
// service `name` ("pg", "podman") in $GATE_TEST_FIXTURES; empty when the tests
// run without one (the binary run directly).
fs::path fixture_state(const std::string &name);

// Writes `sql` to a session from PgServer::open_session and returns once it
// has answered (one read of its output); false when it could not.
bool session_send(gate::util::Process &session, const std::string &sql);

// Fills `db` with tables customers (n rows), orders (2n rows), an empty table
// and some awkward data (quotes, newlines inside text, jsonb, bytea).
void fill_sample_database(const std::string &db, int n);
void fill_sample_database(const PgServer &server, const std::string &db, int n);

// A pipeline.yml with the given body under `version: 1`.
void write_pipeline(const fs::path &dir, const std::string &body);

// The id of the only (or newest) usable set under dir/backups.
std::string newest_set(const fs::path &backup_root);

} // namespace gate::test

// What the fault tests share: a project (a database, a directory, an
// optional S3 remote and retention) whose secrets reach gate only through
// the environment, and the checks every fault ends with: the last good set
// and the record intact (or the new ones complete), no partial set listed as
// usable, no secret on disk, the database's connection settings as before.
#pragma once

#include "integration/harness.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace gate::test {

// How long a fault may take to be reported: bounded, never a hang.
constexpr auto k_bound = std::chrono::seconds(60);

struct ProjectOptions {
  std::string remote_endpoint; // empty: no remote
  std::string bucket;
  bool retention = false;                         // keep_last: 1, locally and on the remote
  std::string extra;                              // appended to pipeline.yml
  std::string database;                           // more keys of the database ("mode: clean")
  std::string volumes;                            // more entries of `volumes:` ("  - {...}\n")
  std::string backup_root = "backups";            // relative to the project
  std::string record = ".last-deployment-backup"; // likewise
  bool standby = false;                           // standby: true on the database and the volume
};

class FaultProject {
public:
  // A fresh database `db` (dropped first) on `server` with a few rows and a small tree.
  FaultProject(const std::string &db, std::map<std::string, std::string> env,
               const PgServer &server = PgServer::get());
  const fs::path &dir() const { return m_dir.path(); }
  fs::path backups() const { return m_dir / m_options.backup_root; }
  fs::path record() const { return m_dir / m_options.record; }
  const std::string &db() const { return m_db; }
  const PgServer &server() const { return *m_pg; }
  // pipeline.yml for `options` (the database URL comes from the environment).
  void configure(const ProjectOptions &options);
  // The environment gate runs with: the database URL and the caller's (S3 keys).
  const std::map<std::string, std::string> &env() const { return m_env; }
  CommandResult gate(const std::vector<std::string> &args) const;

  // What must survive a fault: the record and every file of the set it names.
  struct Snapshot {
    std::string record;
    std::map<std::string, std::string> set_files; // relative path -> content
    std::string connection_settings;              // datallowconn,datconnlimit
  };
  Snapshot snapshot() const;
  // The checks after a fault, as gtest failures; `secrets` are looked for in
  // every file under the project (backup_root is inside it).
  void expect_intact(const Snapshot &before, const std::vector<std::string> &secrets) const;
  // Rows in the sample table, as the database has them now.
  std::string orders() const;
  // Every file's SHA-256 under the volume's directory ("" when it is missing).
  std::string tree() const;

private:
  const PgServer *m_pg;
  TempDir m_dir;
  ProjectOptions m_options;
  std::string m_db;
  std::map<std::string, std::string> m_env;
};

// The set dir of the record `record_text` names ("" when none).
std::string recorded_id(const std::string &record_text);

// A gate command's result and how long it took.
struct Timed {
  CommandResult result;
  std::chrono::steady_clock::duration took;
};
Timed timed_gate(const FaultProject &p, const std::vector<std::string> &args);
// Runs gate until it waits at fault point `point`, causes the fault there
// (`fault`: a server stopped, a socket removed), then lets gate go on to its end.
Timed gate_with_fault_at(const FaultProject &p, const std::vector<std::string> &args,
                         const std::string &point, const std::function<void()> &fault);

} // namespace gate::test

// One configured database as the steps use it: its parsed connection info,
// connections with errors that name it, the matching client tools, and the
// environment that hands the password to child processes without putting it
// on a command line.
#pragma once

#include "config/pipeline.hpp"
#include "steps/postgres/tools.hpp"
#include "util/pg.hpp"
#include "util/process.hpp"

#include <memory>
#include <nlohmann/json.hpp>

namespace gate::steps {

class PgTarget {
public:
  static util::Result<PgTarget> open(const config::PipelineConfig &config,
                                     const config::DatabaseTarget &target);

  const config::PipelineConfig &config() const { return *m_config; }
  const config::DatabaseTarget &target() const { return *m_target; }
  const util::ConnInfo &conninfo() const { return m_conn; }
  // "database 'app' (user@host:5432/app)" for messages.
  std::string describe() const;
  // Connects to the target database (or another database on the same server).
  util::Result<std::unique_ptr<util::PgConnection>> connect(const std::string &purpose) const;
  util::Result<std::unique_ptr<util::PgConnection>> connect_to(const util::ConnInfo &info,
                                                               const std::string &purpose) const;
  // Tools matching a server version number (150014).
  util::Result<PgTools> tools_for(int server_version_num) const;
  // The sanitised URL for manifests and messages.
  std::string sanitized_url() const;

private:
  const config::PipelineConfig *m_config = nullptr;
  const config::DatabaseTarget *m_target = nullptr;
  util::ConnInfo m_conn;
};

// Password and environment for a child process (pg_dump, pg_restore, psql)
// connecting with `info`. The password goes in the child's own environment
// (PGPASSWORD, readable only by this user and gone with the child), never on
// its command line and never in a file that a killed gate would leave behind.
class ChildAuth {
public:
  static util::Result<ChildAuth> create(const util::ConnInfo &info);
  // Gives the child a minimal environment (util::EnvPolicy::minimal) plus
  // PGPASSWORD when the URL carries a password.
  void apply(util::ProcessSpec &spec) const;

private:
  std::string m_password;
};

// "15.14" from 150014.
std::string pg_version_string(int version_num);

} // namespace gate::steps

// Closing a database to connections for a restore, with a journal: before
// gate changes a database's CONNECTION LIMIT or ALLOW_CONNECTIONS it writes
// how they were to backup_root/.gate-access-<target>.json, and removes the
// file once it has put them back. A gate killed in between leaves the file,
// and the next gate — whatever its command — puts the database back and says
// so, so the application is never locked out by a dead rollback.
#pragma once

#include "config/pipeline.hpp"
#include "steps/postgres/target.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace gate::steps {

// How a database let connections in before gate closed it.
struct DatabaseAccess {
  std::string target;   // the name in pipeline.yml
  std::string database; // the database's name on the server
  std::string connection_limit = "-1";
  bool allow_connections = true;
};

// The journal entry of one database closed by this process. Written by
// open(), removed by done() once the access was put back.
class AccessJournal {
public:
  // Writes the entry (durably) before the caller changes anything.
  static util::Result<AccessJournal> open(const config::PipelineConfig &config,
                                          const DatabaseAccess &before);
  // The access was put back: the entry goes.
  void done() const;

private:
  std::filesystem::path m_path;
};

// Reads a database's access settings over `admin` (any database's session).
util::Result<DatabaseAccess> read_database_access(util::PgConnection &admin,
                                                  const std::string &target,
                                                  const std::string &database);

// Puts `before` back over a connection to the server's `postgres` database.
util::Result<void> restore_database_access(const PgTarget &pg, const DatabaseAccess &before);

// Repairs what a dead gate left closed: for every journal entry whose gate
// is no longer running, restores the database's access and removes the entry.
// Returns one line per database for the user (what was repaired, or what to
// run by hand when it could not be).
std::vector<std::string> repair_database_access(const config::PipelineConfig &config);

} // namespace gate::steps

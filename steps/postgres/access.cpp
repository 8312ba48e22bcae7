#include "steps/postgres/access.hpp"

#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/gate_journal.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace gate::steps {

namespace fs = std::filesystem;

namespace {

constexpr const char *k_prefix = ".gate-access-";

fs::path journal_path(const config::PipelineConfig &config, const std::string &target) {
  return config.backup_root / (std::string(k_prefix) + target + ".json");
}

std::string by_hand(const DatabaseAccess &a) {
  return fmt::format("ALTER DATABASE \"{}\" CONNECTION LIMIT {};{}", a.database, a.connection_limit,
                     a.allow_connections
                         ? fmt::format(" ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true;", a.database)
                         : "");
}

} // namespace

util::Result<AccessJournal> AccessJournal::open(const config::PipelineConfig &config,
                                                const DatabaseAccess &before) {
  AccessJournal j;
  j.m_path = journal_path(config, before.target);
  TRY(util::write_gate_journal(j.m_path, {{"target", before.target},
                                          {"database", before.database},
                                          {"connection_limit", before.connection_limit},
                                          {"allow_connections", before.allow_connections}}));
  return j;
}

void AccessJournal::done() const {
  std::error_code ec;
  fs::remove(m_path, ec);
}

util::Result<DatabaseAccess> read_database_access(util::PgConnection &admin,
                                                  const std::string &target,
                                                  const std::string &database) {
  TRY_ASSIGN(auto rows,
             admin.query("SELECT datconnlimit, datallowconn FROM pg_database WHERE datname = " +
                         admin.quote_literal(database)));
  DatabaseAccess a{target, database, "-1", true};
  if (!rows.empty()) {
    a.connection_limit = rows[0][0].value_or("-1");
    a.allow_connections = rows[0][1].value_or("t") == "t";
  }
  return a;
}

util::Result<void> restore_database_access(const PgTarget &pg, const DatabaseAccess &before) {
  util::CancelShield shield;
  TRY_ASSIGN(auto admin, pg.connect_to(pg.conninfo().with_dbname("postgres"), "access"));
  std::string q = admin->quote_identifier(before.database);
  TRY(admin->execute("ALTER DATABASE " + q + " CONNECTION LIMIT " + before.connection_limit));
  if (before.allow_connections)
    TRY(admin->execute("ALTER DATABASE " + q + " ALLOW_CONNECTIONS true"));
  return {};
}

std::vector<std::string> repair_database_access(const config::PipelineConfig &config) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto &[path, entry] : util::dead_gate_journals(config.backup_root, k_prefix)) {
    DatabaseAccess before{
        entry.value("target", std::string()), entry.value("database", std::string()),
        entry.value("connection_limit", std::string("-1")), entry.value("allow_connections", true)};
    const config::DatabaseTarget *target = config.find_database(before.target);
    util::Result<void> repaired =
        util::fail("database '" + before.target + "' is not in " + config.file.string());
    if (target) {
      if (auto pg = PgTarget::open(config, *target); pg)
        repaired = restore_database_access(*pg, before);
      else
        repaired = std::unexpected(pg.error());
    }
    if (repaired) {
      fs::remove(path, ec);
      out.push_back(fmt::format(
          "database '{}' was left closed to connections by a gate that died (pid {}); its "
          "connection limit ({}) is restored",
          before.database, entry.value("pid", 0L), before.connection_limit));
    } else {
      out.push_back(fmt::format(
          "database '{}' was left closed to connections by a gate that died, and could not be "
          "opened again: {}\nhint: run as its owner or a superuser: {}",
          before.database, repaired.error().message, by_hand(before)));
    }
  }
  return out;
}

} // namespace gate::steps

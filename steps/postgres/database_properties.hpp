// The properties of a database itself, which no pg_dump of its contents
// holds: owner, encoding and locale, default tablespace, connection limit,
// ACL, comment, ALTER DATABASE ... SET and ALTER ROLE ... IN DATABASE ... SET.
// Recorded in the manifest at backup, given to a database rollback creates,
// re-applied by a clean rollback, and compared after either.
#pragma once

#include "util/expected.hpp"
#include "util/pg.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gate::steps {

struct RoleSettings {
  std::string role;
  std::vector<std::string> settings; // "name=value", as pg_db_role_setting stores them
};

struct DatabaseProperties {
  std::string owner;
  std::string encoding;
  std::string collate;
  std::string ctype;
  std::string locale_provider; // "libc" | "icu" (PostgreSQL 15+)
  std::string icu_locale;
  std::string tablespace; // the default tablespace, "pg_default" unless changed
  int connection_limit = -1;
  std::vector<std::string>
      acl; // "role=CONNECT", "PUBLIC=TEMPORARY", "*" when grantable; defaults spelled out
  std::optional<std::string> comment;
  std::vector<std::string> settings; // ALTER DATABASE ... SET, "name=value"
  std::vector<RoleSettings> role_settings;
};

// The properties of database `dbname` on `conn`'s server.
util::Result<DatabaseProperties> read_database_properties(util::PgConnection &conn,
                                                          const std::string &dbname);

nlohmann::json to_json(const DatabaseProperties &p);
// From an artifact's details["database_properties"], when the set recorded them.
std::optional<DatabaseProperties> properties_from_json(const nlohmann::json &details);

// CREATE DATABASE `name` from template0 with the recorded owner, encoding,
// locale and default tablespace (not the connection limit: see below).
std::string create_database_sql(const util::PgConnection &conn, const std::string &name,
                                const DatabaseProperties &p);

enum class PropertyScope {
  created,  // a database rollback created: everything, the connection limit included
  existing, // a database a clean rollback restored into: what can change without recreating it
};

// Statements turning database `name`, whose properties are `now`, into the
// recorded ones: owner, comment, ACL, settings and per-role settings (and,
// for `created`, the connection limit).
std::vector<std::string> property_statements(const util::PgConnection &conn,
                                             const std::string &name,
                                             const DatabaseProperties &recorded,
                                             const DatabaseProperties &now, PropertyScope scope);

// The first difference between the recorded and the actual properties
// (empty when they match). ACLs are compared by grantee and privileges.
std::string compare_properties(const DatabaseProperties &recorded, const DatabaseProperties &actual,
                               PropertyScope scope);

} // namespace gate::steps

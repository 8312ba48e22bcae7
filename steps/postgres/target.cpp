#include "steps/postgres/target.hpp"

#include "util/cancel.hpp"
#include "util/redact.hpp"

#include <fmt/format.h>
#include <map>
#include <mutex>

namespace gate::steps {

util::Result<PgTarget> PgTarget::open(const config::PipelineConfig &config,
                                      const config::DatabaseTarget &target) {
  PgTarget t;
  t.m_config = &config;
  t.m_target = &target;
  TRY_ASSIGN(std::string url, target.url.value()); // an unset ${VAR} fails here, where it is needed
  auto conn = util::ConnInfo::parse(url);
  if (!conn)
    return util::fail("database '" + target.name + "': " + conn.error().message +
                      " (url: " + util::sanitize_url(url) + ")");
  t.m_conn = std::move(*conn);
  return t;
}

std::string PgTarget::describe() const {
  return "database '" + m_target->name + "' (" + m_conn.describe() + ")";
}

std::string PgTarget::sanitized_url() const {
  return util::sanitize_url(m_target->url.value_or_empty());
}

namespace {

// When a connection failed because the database is closed to connections
// (as a rollback leaves it while it restores), the cause and the fix.
std::string closed_database_hint(const util::ConnInfo &info, std::chrono::milliseconds timeout) {
  std::string database = info.get("dbname");
  if (database.empty() || database == "postgres") return {};
  auto admin = util::PgConnection::connect(info.with_dbname("postgres"), timeout, "gate check");
  if (!admin) return {};
  auto rows = (*admin)->query(
      "SELECT datconnlimit = 0, NOT datallowconn FROM pg_database WHERE datname = " +
      (*admin)->quote_literal(database));
  if (!rows || rows->empty()) return {};
  bool no_limit = (*rows)[0][0].value_or("f") == "t", closed = (*rows)[0][1].value_or("f") == "t";
  if (!no_limit && !closed) return {};
  return fmt::format(
      "\nhint: database '{}' is closed to connections ({}), as a gate rollback leaves it while it "
      "restores; if no rollback is running, open it as its owner or a superuser: ALTER DATABASE "
      "\"{}\" "
      "CONNECTION LIMIT -1; ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true;",
      database, closed ? "ALLOW_CONNECTIONS false" : "CONNECTION LIMIT 0", database, database);
}

} // namespace

util::Result<std::unique_ptr<util::PgConnection>>
PgTarget::connect(const std::string &purpose) const {
  auto c = connect_to(m_conn, purpose);
  if (!c && c.error().kind != util::ErrorKind::interrupted)
    return util::fail(c.error().message + closed_database_hint(m_conn, m_target->connect_timeout));
  return c;
}

util::Result<std::unique_ptr<util::PgConnection>>
PgTarget::connect_to(const util::ConnInfo &info, const std::string &purpose) const {
  auto c = util::PgConnection::connect(info, m_target->connect_timeout, "gate " + purpose);
  if (!c) {
    std::string message = c.error().message;
    const std::string prefix = "unable to connect to " + info.describe() + ": ";
    if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    return util::fail("unable to connect to database '" + m_target->name + "' (" + info.describe() +
                      "): " + message);
  }
  return c;
}

util::Result<PgTools> PgTarget::tools_for(int server_version_num) const {
  // Probing binaries costs a few process starts, on the way of every backup:
  // done once per process for each directory setting and server major.
  static std::mutex mutex;
  static std::map<std::pair<std::string, int>, PgTools> found;
  std::lock_guard lock(mutex);
  auto key = std::make_pair(m_config->pg_bindir, server_version_num / 10000);
  if (auto it = found.find(key); it != found.end()) return it->second;
  auto tools = select_pg_tools(pg_tool_candidates(m_config->pg_bindir), key.second);
  if (util::cancel_requested()) return util::fail(util::ErrorKind::interrupted, "interrupted");
  if (!tools)
    return util::fail(describe() + " runs PostgreSQL " + pg_version_string(server_version_num) +
                      ": " + tools.error().message);
  found.emplace(key, *tools);
  return tools;
}

util::Result<ChildAuth> ChildAuth::create(const util::ConnInfo &info) {
  ChildAuth auth;
  auth.m_password = info.get("password");
  return auth;
}

void ChildAuth::apply(util::ProcessSpec &spec) const {
  spec.env_policy = util::EnvPolicy::minimal;
  if (!m_password.empty()) spec.env["PGPASSWORD"] = m_password;
}

std::string pg_version_string(int v) {
  if (v >= 100000) return std::to_string(v / 10000) + "." + std::to_string(v % 10000);
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." +
         std::to_string(v % 100);
}

} // namespace gate::steps

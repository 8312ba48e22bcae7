#include "steps/postgres/standby.hpp"

#include "steps/postgres/access.hpp"
#include "steps/postgres/database_properties.hpp"
#include "steps/postgres/facts.hpp"
#include "steps/postgres/restore.hpp"
#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fmt/format.h>
#include <thread>

namespace gate::steps {

namespace {

constexpr size_t k_max_name = 63; // NAMEDATALEN - 1

std::string lower_alnum(const std::string &text) {
  std::string out;
  for (char c : text)
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c))
                                                              : '_');
  return out;
}

// The first `n` bytes of a name, never cutting a UTF-8 character in two.
std::string name_prefix(const std::string &name, size_t n) {
  if (name.size() <= n) return name;
  while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80)
    --n;
  return name.substr(0, n);
}

// The facts of a database that identify it, and who may have used it.
struct Identity {
  std::string oid;
  bool allow_connections = true;
  std::string sessions;    // client sessions ever opened (pg_stat_database)
  std::string stats_reset; // empty: never reset
  // Client sessions only: autovacuum enters closed databases too (it must
  // freeze them) and counts in neither pg_stat_database.sessions nor here.
  long long open_sessions = 0;
  long long size_bytes = 0;
};

util::Result<std::optional<Identity>> read_identity(util::PgConnection &admin,
                                                    const std::string &name) {
  TRY_ASSIGN(auto rows,
             admin.query("SELECT d.oid, d.datallowconn, s.sessions, coalesce(s.stats_reset::text, "
                         "''), (SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid AND "
                         "a.backend_type = 'client backend'), "
                         "pg_database_size(d.oid) FROM pg_database d LEFT JOIN pg_stat_database s "
                         "ON s.datid = d.oid WHERE d.datname = " +
                         admin.quote_literal(name)));
  if (rows.empty()) return std::optional<Identity>();
  const auto &r = rows[0];
  Identity id;
  id.oid = r[0].value_or("");
  id.allow_connections = r[1].value_or("t") == "t";
  id.sessions = r[2].value_or("0");
  id.stats_reset = r[3].value_or("");
  id.open_sessions = std::atoll(r[4].value_or("0").c_str());
  id.size_bytes = std::atoll(r[5].value_or("0").c_str());
  return std::optional<Identity>(id);
}

// A backend's statistics reach pg_stat_database before it leaves
// pg_stat_activity: once no session is left, the counters are final.
util::Result<Identity> wait_until_unused(util::PgConnection &admin, const std::string &name) {
  (void)admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " +
                      admin.quote_literal(name) + " AND pid <> pg_backend_pid()");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    TRY_ASSIGN(auto id, read_identity(admin, name));
    if (!id) return util::fail("database '" + name + "' disappeared while it was being closed");
    if (id->open_sessions == 0) return *id;
    if (std::chrono::steady_clock::now() > deadline)
      return util::fail("sessions on '" + name + "' did not end within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

uint64_t total_rows(const model::Artifact &a) {
  uint64_t rows = 0;
  for (const auto &t : tables_from_json(a.details))
    rows += t.rows;
  return rows;
}

} // namespace

std::string standby_database_name(const std::string &live) {
  const std::string suffix = "_gate_standby";
  return name_prefix(live, k_max_name - suffix.size()) + suffix;
}

std::string replaced_database_name(const std::string &live, const std::string &rollback_id) {
  std::string suffix = "_replaced_" + lower_alnum(rollback_id);
  return name_prefix(live, k_max_name - std::min(suffix.size(), k_max_name - 1)) +
         suffix.substr(0, k_max_name - 1);
}

util::Result<std::unique_ptr<util::PgConnection>> standby_admin(const PgTarget &pg) {
  std::string dbname = pg.conninfo().get("dbname");
  std::string maintenance = dbname == "postgres" ? "template1" : "postgres";
  return pg.connect_to(pg.conninfo().with_dbname(maintenance), "standby");
}

util::Result<void> check_standby_privileges(const config::PipelineConfig &config,
                                            const config::DatabaseTarget &target) {
  TRY_ASSIGN(auto pg, PgTarget::open(config, target));
  std::string dbname = pg.conninfo().get("dbname");
  if (dbname.empty())
    return util::fail("database '" + target.name +
                      "': standby: true needs the database name "
                      "in the URL");
  return check_rollback_privileges(config, target, NewDatabaseFor::standby);
}

util::Result<std::string> standby_refusal(util::PgConnection &admin, const std::string &dbname) {
  std::string db = admin.quote_literal(dbname);
  TRY_ASSIGN(auto rows,
             admin.query("SELECT d.datistemplate, (SELECT count(*) FROM pg_subscription s WHERE "
                         "s.subdbid = d.oid), (SELECT count(*) FROM pg_replication_slots r "
                         "WHERE r.database = d.datname) FROM pg_database d WHERE d.datname = " +
                         db));
  if (rows.empty()) return std::string("the database does not exist");
  std::vector<std::string> reasons;
  if (rows[0][0].value_or("f") == "t")
    reasons.push_back("it is a template database (datistemplate)");
  if (rows[0][1].value_or("0") != "0")
    reasons.push_back(*rows[0][1] + " subscription(s), which a copy cannot carry");
  if (rows[0][2].value_or("0") != "0")
    reasons.push_back(*rows[0][2] + " replication slot(s) on it, which a copy cannot carry");
  return util::join(reasons, "; ");
}

util::Result<nlohmann::json> keep_as_standby(util::PgConnection &admin, const model::Artifact &a,
                                             const StandbyBuild &build) {
  auto q = [&](const std::string &n) { return admin.quote_identifier(n); };
  util::CancelShield shield; // closed, recorded and renamed, or left for the dropper
  // The live database's comment (the build marked the copy as gate's scratch).
  auto recorded = properties_from_json(a.details);
  std::string comment =
      recorded && recorded->comment ? admin.quote_literal(*recorded->comment) : std::string("NULL");
  TRY(admin.execute("COMMENT ON DATABASE " + q(build.scratch) + " IS " + comment));
  TRY(admin.execute("ALTER DATABASE " + q(build.scratch) + " ALLOW_CONNECTIONS false"));
  TRY_ASSIGN(Identity id, wait_until_unused(admin, build.scratch));
  std::string name = standby_database_name(build.live);
  TRY(admin.execute("DROP DATABASE IF EXISTS " + q(name) + " WITH (FORCE)"));
  TRY(admin.execute("ALTER DATABASE " + q(build.scratch) + " RENAME TO " + q(name)));
  util::log_info("standby: '{}' is the standby of '{}' (set {}, {}), closed to connections", name,
                 build.live, build.set_id, util::human_bytes(id.size_bytes));
  return nlohmann::json{{"name", name},
                        {"live", build.live},
                        {"oid", id.oid},
                        {"set_id", build.set_id},
                        {"tables", tables_from_json(a.details).size()},
                        {"rows", total_rows(a)},
                        {"size_bytes", id.size_bytes},
                        {"build_ms", build.build_ms},
                        {"check_ms", build.check_ms},
                        {"closed_at", util::iso8601_utc(util::Clock::now())},
                        {"sessions", id.sessions},
                        {"stats_reset", id.stats_reset}};
}

std::string standby_unusable_reason(util::PgConnection &admin, const model::Artifact &a,
                                    const std::string &set_id) {
  if (!a.details.contains("standby")) return "the set has no standby (no standby: true when made)";
  const auto &s = a.details["standby"];
  if (s.contains("refused")) return "the standby was refused: " + s.value("refused", "");
  std::string name = s.value("name", "");
  if (s.value("set_id", "") != set_id)
    return "standby '" + name + "' belongs to set " + s.value("set_id", "") + ", not " + set_id;
  auto id = read_identity(admin, name);
  if (!id) return "standby '" + name + "' could not be read: " + id.error().message;
  if (!*id) return "standby '" + name + "' does not exist (dropped or renamed)";
  if ((*id)->oid != s.value("oid", ""))
    return fmt::format("'{}' is not the standby built for this set (oid {}, recorded {}): it was "
                       "dropped and made again, or another database was renamed to its name",
                       name, (*id)->oid, s.value("oid", ""));
  if ((*id)->allow_connections)
    return "standby '" + name +
           "' was opened to connections (ALLOW_CONNECTIONS true) since it "
           "was verified";
  if ((*id)->open_sessions > 0) return "standby '" + name + "' has sessions on it";
  if ((*id)->stats_reset != s.value("stats_reset", ""))
    return "the statistics of standby '" + name +
           "' were reset since it was closed: that it was not opened cannot be proven";
  if ((*id)->sessions != s.value("sessions", ""))
    return fmt::format("standby '{}' was opened since it was verified ({} sessions, {} at close)",
                       name, (*id)->sessions, s.value("sessions", ""));
  return {};
}

long long predicted_standby_swap_ms(const model::Artifact &a) {
  // The renames take about 50 ms; counting the rows reads every table once.
  constexpr long long k_renames_ms = 1000;
  long long count_ms = static_cast<long long>(total_rows(a) / 2'000'000) * 1000;
  return k_renames_ms + count_ms;
}

} // namespace gate::steps

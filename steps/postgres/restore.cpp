#include "steps/postgres/restore.hpp"

#include "steps/postgres/access.hpp"
#include "steps/postgres/database_properties.hpp"
#include "steps/postgres/dump_restore.hpp"
#include "steps/postgres/facts.hpp"
#include "steps/postgres/target.hpp"
#include "util/cancel.hpp"
#include "util/command_stream.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <cerrno>
#include <csignal>
#include <fmt/format.h>
#include <optional>
#include <set>
#include <thread>
#include <unistd.h>

namespace gate::steps {

namespace fs = std::filesystem;

std::vector<const model::Artifact *> restore_candidates(const model::Manifest &m,
                                                        const std::string &target) {
  std::vector<const model::Artifact *> out;
  for (const char *format : {"custom", "directory", "sql"})
    for (const auto &a : m.artifacts)
      if (a.target == target && a.kind == "database" && a.format == format) out.push_back(&a);
  return out;
}

namespace {

struct ExtraRelations {
  std::vector<TableFacts> tables;
  std::vector<ViewFacts> views; // they would block dropping the tables they read
};

// What exists now but not in the backup (nothing for a backup limited by
// tables/exclude_tables, or views for a manifest that did not record them).
ExtraRelations extra_relations(util::PgConnection &conn, const model::Artifact &a) {
  ExtraRelations out;
  if (a.details.value("filtered", false)) return out; // a partial backup leaves other tables alone
  std::set<std::string> in_backup;
  for (const auto &t : tables_from_json(a.details))
    in_backup.insert(t.qualified());
  auto now = read_database_facts(conn, {}, {}, false);
  if (!now) return out;
  for (const auto &t : now->tables)
    if (!in_backup.count(t.qualified())) out.tables.push_back(t);
  if (a.details.contains("views")) {
    std::set<std::string> views_in_backup;
    for (const auto &v : a.details["views"])
      views_in_backup.insert(v.get<std::string>());
    for (const auto &v : now->views)
      if (!views_in_backup.count(v.qualified())) out.views.push_back(v);
  }
  return out;
}

std::string quoted_relation(util::PgConnection &conn, const std::string &schema,
                            const std::string &name) {
  return conn.quote_identifier(schema) + "." + conn.quote_identifier(name);
}

// pg_restore --clean drops a partition's primary key before the partitioned
// table's, which PostgreSQL refuses ("cannot drop inherited constraint").
// Dropping the partitioned tables of the backup first (their partitions go
// with them) leaves the script's drops with nothing to do: it recreates all.
// CASCADE only for a whole-database backup, which replaces every dependent.
std::string drop_partitioned_tables(util::PgConnection &conn, const model::Artifact &a) {
  std::string sql;
  bool whole = !a.details.value("filtered", false);
  for (const auto &t : tables_from_json(a.details))
    if (t.partitioned)
      sql += "DROP TABLE IF EXISTS " + quoted_relation(conn, t.schema, t.name) +
             (whole ? " CASCADE" : "") + ";\n";
  return sql;
}

// Statements run before the dump's own: block new connections (CONNECTION
// LIMIT 0: the only block that keeps this session, which is already in;
// superusers are exempt), end other sessions (those gate's role may end),
// then open the transaction and drop the tables created since the backup.
std::string clean_prelude(util::PgConnection &conn, const model::Artifact &a) {
  std::string sql;
  sql += R"SQL(
DO $gate$ BEGIN
  EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT 0', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'gate: not allowed to block new connections to this database';
END $gate$;
DO $gate$ DECLARE p int; BEGIN
  FOR p IN SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() LOOP
    BEGIN PERFORM pg_terminate_backend(p);
    EXCEPTION WHEN insufficient_privilege THEN RAISE WARNING 'gate: not allowed to end session %', p; END;
  END LOOP;
END $gate$;
BEGIN;
-- Index builds dominate a restore; a larger sort memory for this transaction only speeds them up.
SET LOCAL maintenance_work_mem = '256MB';
)SQL";
  auto extra = extra_relations(conn, a);
  // Views first (a view created since the backup on a table in it would stop the dump's DROP
  // TABLE).
  for (const auto &v : extra.views)
    sql +=
        std::string(v.materialized ? "DROP MATERIALIZED VIEW IF EXISTS " : "DROP VIEW IF EXISTS ") +
        quoted_relation(conn, v.schema, v.name) + " CASCADE;\n";
  for (const auto &t : extra.tables)
    sql += "DROP TABLE IF EXISTS " + quoted_relation(conn, t.schema, t.name) + " CASCADE;\n";
  sql += drop_partitioned_tables(conn, a);
  return sql;
}

// Opens the database again as it was, and only then forgets the journal entry.
struct Reopen {
  const PgTarget &pg;
  DatabaseAccess before;
  AccessJournal journal;
  ~Reopen() {
    util::fault_point("restore.before-reopen");
    if (auto r = restore_database_access(pg, before); !r)
      util::log_error("could not allow connections to database '{}' again: {}; the next gate will "
                      "retry, or run: "
                      "ALTER DATABASE \"{}\" CONNECTION LIMIT {}",
                      before.database, r.error().message, before.database, before.connection_limit);
    else
      journal.done();
  }
};

// What a clean restore reads from the database before it changes anything.
struct CleanStart {
  std::string prelude;    // clean_prelude's statements
  std::string properties; // the database's own properties, as recorded, inside the same transaction
  DatabaseAccess before;  // how to open the database again after the prelude closed it
};

util::Result<CleanStart> read_clean_start(const PgTarget &pg, const util::ConnInfo &into,
                                          const model::Artifact &a) {
  CleanStart out;
  TRY_ASSIGN(auto conn, pg.connect_to(into, "rollback"));
  out.prelude = clean_prelude(*conn, a);
  TRY_ASSIGN(auto rows, conn->query("SELECT current_database()"));
  std::string dbname = rows.at(0)[0].value_or("");
  TRY_ASSIGN(out.before, read_database_access(*conn, pg.target().name, dbname));
  if (auto recorded = properties_from_json(a.details)) {
    TRY_ASSIGN(auto now, read_database_properties(*conn, dbname));
    for (const auto &st :
         property_statements(*conn, dbname, *recorded, now, PropertyScope::existing))
      out.properties += st + ";\n";
  }
  return out;
}

// psql reading the whole restore from its stdin, stopping at the first error.
util::ProcessSpec psql_spec(const PgTools &tools, const util::ConnInfo &into,
                            const ChildAuth &auth) {
  util::ProcessSpec psql;
  // --echo-errors: a failing statement is shown with its error (which object, which privilege).
  psql.argv = {tools.tool("psql").string(),
               "--no-password",
               "--no-psqlrc",
               "--quiet",
               "--echo-errors",
               "-v",
               "ON_ERROR_STOP=1",
               "--dbname=" + into.without_password()};
  psql.stdin_mode = util::StreamMode::pipe;
  psql.stdout_mode = util::StreamMode::null;
  psql.log_prefix = "psql: ";
  auth.apply(psql);
  return psql;
}

using ScriptSink = std::function<util::Result<void>(const char *, size_t)>;

// How the dump's script went: read whole (ok) or why not, and the SHA-256 of
// the file read (empty when pg_restore read a directory dump itself).
struct ScriptRead {
  bool ok = false;
  std::string error;
  std::string sha;
};

// An sql dump is the script itself.
ScriptRead read_sql_script(const model::Artifact &a, const fs::path &set_dir,
                           const ScriptSink &sink) {
  auto read = util::read_compressed(set_dir / a.path, sink);
  if (!read) return {false, read.error().message, {}};
  return {true, {}, read->sha256};
}

// A custom or directory dump becomes a script through pg_restore --file=-;
// a custom file is fed to it from a second thread while its output goes to
// `sink`. Once `fed` failed, the output is drained without feeding it on.
util::Result<ScriptRead> read_pg_restore_script(const PgTools &tools, const model::Artifact &a,
                                                const fs::path &set_dir, const ScriptSink &sink,
                                                util::Result<void> &fed) {
  util::ProcessSpec script;
  // --single-transaction: one BEGIN; ... COMMIT; around the script and none
  // inside it (without it, the large objects come in a transaction of their own).
  script.argv = {tools.tool("pg_restore").string(), "--clean", "--if-exists",
                 "--single-transaction", "--file=-"};
  bool directory = a.format == "directory";
  if (directory) script.argv.push_back((set_dir / a.path).string());
  script.stdin_mode = directory ? util::StreamMode::null : util::StreamMode::pipe;
  script.stdout_mode = util::StreamMode::pipe;
  script.log_prefix = "pg_restore: ";
  TRY_ASSIGN(auto restore_proc, util::Process::start(script));
  std::thread feeder;
  util::Result<util::ReadFile> read = util::ReadFile{};
  if (!directory) {
    feeder = std::thread([&] {
      int in = restore_proc->stdin_fd();
      read = util::read_compressed(
          set_dir / a.path, [&](const char *d, size_t n) -> util::Result<void> {
            auto w = util::write_all(in, d, n, "pg_restore stdin");
            return w; // pg_restore reads its whole input; an early exit shows in its status
          });
      restore_proc->close_stdin();
    });
  }
  std::vector<char> buf(1 << 20);
  while (true) {
    ssize_t n = ::read(restore_proc->stdout_fd(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (fed) fed = sink(buf.data(), static_cast<size_t>(n));
  }
  restore_proc->close_stdout();
  if (feeder.joinable()) feeder.join();
  TRY_ASSIGN(auto status, restore_proc->wait());
  if (!read) return ScriptRead{false, read.error().message, {}};
  if (!status.ok())
    return ScriptRead{
        false, "pg_restore " + status.describe() + ": " + restore_proc->stderr_tail(), {}};
  return ScriptRead{true, {}, directory ? std::string() : read->sha256};
}

// Why nothing was committed, in the order of causes: an interrupt, psql
// stopping on an error (a broken pipe to it only follows from that), the
// script, then feeding psql.
util::Result<void> clean_restore_verdict(const util::ExitStatus &psql_status,
                                         const std::string &psql_stderr, const ScriptRead &script,
                                         const util::Result<void> &fed) {
  if (util::cancel_requested())
    return util::fail(util::ErrorKind::interrupted, "interrupted; nothing was committed");
  if (!psql_status.ok())
    return util::fail(fmt::format("psql {}: {} (the transaction was rolled back)",
                                  psql_status.describe(), util::redact(psql_stderr)));
  if (!script.ok) return util::fail(script.error + " (nothing was committed)");
  if (!fed) return util::fail(fed.error().message + " (nothing was committed)");
  return {};
}

// The dump as SQL (pg_restore's script for custom and directory dumps, the
// file itself for sql dumps) goes to psql after the prelude; COMMIT is sent
// only once the whole script went through: one transaction, all or nothing.
// `scratch`: a deep verify's copy, which is dropped after: nothing to journal.
// Phases: read the database's state, journal how to reopen it, start psql,
// feed prelude and script, check the dump's checksum, commit, conclude.
util::Result<void> clean_restore(const PgTarget &pg, const util::ConnInfo &into,
                                 const PgTools &tools, const model::Artifact &a,
                                 const fs::path &set_dir,
                                 const std::function<void(uint64_t)> &progress, bool scratch) {
  TRY_ASSIGN(CleanStart start, read_clean_start(pg, into, a));
  // Written before the prelude closes the database: a gate killed from here on
  // leaves the way to open it again. (A deep verify's scratch copy is dropped anyway.)
  std::optional<AccessJournal> journal;
  if (!scratch) TRY_ASSIGN(journal, AccessJournal::open(pg.config(), start.before));
  TRY_ASSIGN(auto auth, ChildAuth::create(into));
  std::optional<Reopen> reopen; // after psql is gone (declared before it)
  if (journal) reopen.emplace(pg, start.before, *journal);
  TRY_ASSIGN(auto psql_proc, util::Process::start(psql_spec(tools, into, auth)));

  uint64_t total = 0;
  ScriptSink feed = [&](const char *d, size_t n) -> util::Result<void> {
    TRY(util::write_all(psql_proc->stdin_fd(), d, n, "psql stdin"));
    total += n;
    if (progress) progress(total);
    return {};
  };
  util::Result<void> fed = feed(start.prelude.data(), start.prelude.size());
  // The dump's script runs inside the prelude's transaction: its own BEGIN;
  // and COMMIT; are taken out, and COMMIT is sent only once all went through.
  OwnTransactionFilter script_filter(feed);
  ScriptSink feed_script = [&](const char *d, size_t n) { return script_filter.feed(d, n); };
  ScriptRead script;
  if (fed && a.format == "sql")
    script = read_sql_script(a, set_dir, feed_script);
  else if (fed)
    TRY_ASSIGN(script, read_pg_restore_script(tools, a, set_dir, feed_script, fed));
  if (script.ok && !script.sha.empty() && script.sha != a.files.front().sha256)
    script = {false, "'" + a.path + "' changed since it was verified (checksum mismatch)", {}};
  if (fed && script.ok) fed = script_filter.finish();
  if (fed && script.ok) {
    std::string commit = start.properties + "COMMIT;\n";
    fed = feed(commit.data(), commit.size());
  }
  psql_proc->close_stdin();
  TRY_ASSIGN(auto psql_status, psql_proc->wait());
  return clean_restore_verdict(psql_status, psql_proc->stderr_tail(), script, fed);
}

// Swaps `fresh` in for `dbname` by two renames in one transaction; the old
// database is dropped after.
util::Result<void> swap_in(const PgTarget &pg, util::PgConnection &admin, const std::string &dbname,
                           const std::string &fresh) {
  auto q = [&](const std::string &n) { return admin.quote_identifier(n); };
  std::string old = dbname.substr(0, 50) + "_gate_old";
  TRY_ASSIGN(auto before, read_database_access(admin, pg.target().name, dbname));
  TRY_ASSIGN(auto journal, AccessJournal::open(pg.config(), before));
  Reopen reopen{pg, before, journal}; // after the swap: the restored database, as the old one was
  TRY(admin.execute("ALTER DATABASE " + q(dbname) + " ALLOW_CONNECTIONS false"));
  (void)admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " +
                      admin.quote_literal(dbname));
  TRY(admin.execute("DROP DATABASE IF EXISTS " + q(old) + " WITH (FORCE)"));
  auto swapped =
      admin.execute("BEGIN; ALTER DATABASE " + q(dbname) + " RENAME TO " + q(old) +
                    "; ALTER DATABASE " + q(fresh) + " RENAME TO " + q(dbname) + "; COMMIT;");
  if (!swapped) {
    (void)admin.execute("ROLLBACK");
    return std::unexpected(swapped.error());
  }
  if (auto r = admin.execute("DROP DATABASE " + q(old) + " WITH (FORCE)"); !r)
    util::log_warn("restored, but the old database '{}' could not be dropped: {}", old,
                   r.error().message);
  return {};
}

// After a failed restore into `fresh`: drops it, and when that fails too
// (the server went away) says what is left and how to remove it.
util::Error drop_partial_copy(util::PgConnection &admin, const std::string &fresh,
                              util::Error failed) {
  util::CancelShield shield;
  std::string name = admin.quote_identifier(fresh);
  auto dropped = admin.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  if (!dropped)
    failed.message += fmt::format(
        "\nthe partial copy '{}' could not be dropped ({}); the live database was not touched; "
        "the next rollback of this database drops it, or run: DROP DATABASE IF EXISTS {}",
        fresh, dropped.error().message, name);
  return failed;
}

// Restores into <db>_gate_new, then swaps names in one transaction.
util::Result<void> recreate_restore(const PgTarget &pg, const PgTools &tools,
                                    const model::Artifact &a, const fs::path &set_dir,
                                    const std::function<void(uint64_t)> &progress) {
  std::string dbname = pg.conninfo().get("dbname");
  if (dbname.empty()) return util::fail("mode: recreate needs the database name in the URL");
  // Not from inside the database being swapped (a target that is `postgres` itself).
  std::string maintenance = dbname == "postgres" ? "template1" : "postgres";
  TRY_ASSIGN(auto admin, pg.connect_to(pg.conninfo().with_dbname(maintenance), "rollback"));
  std::string fresh = dbname.substr(0, 50) + "_gate_new";
  auto q = [&](const std::string &n) { return admin->quote_identifier(n); };
  TRY_ASSIGN(auto exists, admin->query("SELECT 1 FROM pg_database WHERE datname = " +
                                       admin->quote_literal(dbname)));
  TRY_ASSIGN(auto props, properties_for_new_database(*admin, a, dbname));
  TRY(admin->execute("DROP DATABASE IF EXISTS " + q(fresh) + " WITH (FORCE)"));
  TRY(admin->execute(create_database_sql(*admin, fresh, props)));
  struct DropFresh {
    util::PgConnection &admin;
    std::string sql;
    bool armed = true;
    ~DropFresh() {
      util::CancelShield shield;
      if (armed) (void)admin.execute(sql);
    }
  } drop_fresh{*admin, "DROP DATABASE IF EXISTS " + q(fresh) + " WITH (FORCE)"};
  auto restored = restore_into_created(pg, *admin, pg.conninfo().with_dbname(fresh), tools, a,
                                       set_dir, progress);
  if (!restored) {
    drop_fresh.armed = false;
    return std::unexpected(drop_partial_copy(*admin, fresh, restored.error()));
  }
  util::CancelShield shield; // the swap and the cleanup run to completion
  if (!exists.empty()) {
    TRY(swap_in(pg, *admin, dbname, fresh));
  } else {
    TRY(admin->execute("ALTER DATABASE " + q(fresh) + " RENAME TO " + q(dbname)));
  }
  drop_fresh.armed = false;
  return {};
}

} // namespace

// After a clean restore: the database's own properties against the manifest's.
std::string properties_difference(util::PgConnection &conn, const model::Artifact &a) {
  auto recorded = properties_from_json(a.details);
  if (!recorded) return {};
  auto name = conn.scalar("SELECT current_database()");
  if (!name) return name.error().message;
  auto now = read_database_properties(conn, name->value_or(""));
  if (!now) return now.error().message;
  return compare_properties(*recorded, *now, PropertyScope::existing);
}

util::Result<DatabaseProperties> properties_for_new_database(util::PgConnection &admin,
                                                             const model::Artifact &a,
                                                             const std::string &live) {
  if (auto recorded = properties_from_json(a.details)) return *recorded;
  auto now = read_database_properties(admin, live);
  if (now) return *now;
  return DatabaseProperties{}; // an older set, and the database is gone: the server's defaults
}

util::Result<void> restore_into_created(const PgTarget &pg, util::PgConnection &admin,
                                        const util::ConnInfo &into, const PgTools &tools,
                                        const model::Artifact &a, const fs::path &set_dir,
                                        const std::function<void(uint64_t)> &progress) {
  RestoreRequest request;
  request.artifact = &a;
  request.set_dir = set_dir;
  request.into = into;
  request.tools = tools;
  request.keep_owners = true;
  request.jobs = pg.target().jobs;
  request.progress = progress;
  TRY(restore_artifact(request));
  {
    TRY_ASSIGN(auto check, pg.connect_to(into, "rollback"));
    TRY_ASSIGN(std::string diff, compare_with_manifest(*check, a));
    if (!diff.empty()) return util::fail("the restored copy differs from the manifest: " + diff);
  }
  auto recorded = properties_from_json(a.details);
  if (!recorded) return {}; // a set from before database properties were recorded
  std::string name = into.get("dbname");
  TRY_ASSIGN(auto now, read_database_properties(admin, name));
  for (const auto &st : property_statements(admin, name, *recorded, now, PropertyScope::created))
    if (auto r = admin.execute(st); !r)
      return util::fail("restoring the database's properties: " + r.error().message);
  TRY_ASSIGN(auto after, read_database_properties(admin, name));
  std::string diff = compare_properties(*recorded, after, PropertyScope::created);
  if (!diff.empty()) return util::fail("the restored copy differs from the manifest: " + diff);
  return {};
}

util::Result<void> clean_restore_into(const PgTarget &pg, const util::ConnInfo &into,
                                      const PgTools &tools, const model::Artifact &a,
                                      const fs::path &set_dir,
                                      const std::function<void(uint64_t)> &progress) {
  return clean_restore(pg, into, tools, a, set_dir, progress, true);
}

util::Result<std::vector<std::string>> tables_created_since(const config::PipelineConfig &config,
                                                            const config::DatabaseTarget &target,
                                                            const model::Artifact &artifact) {
  TRY_ASSIGN(auto pg, PgTarget::open(config, target));
  TRY_ASSIGN(auto conn, pg.connect("rollback plan"));
  auto extra = extra_relations(*conn, artifact);
  std::vector<std::string> out;
  for (const auto &t : extra.tables)
    out.push_back(t.qualified());
  for (const auto &v : extra.views)
    out.push_back(v.qualified() + (v.materialized ? " (materialized view)" : " (view)"));
  return out;
}

util::Result<bool> database_exists(const config::PipelineConfig &config,
                                   const config::DatabaseTarget &target) {
  TRY_ASSIGN(auto pg, PgTarget::open(config, target));
  std::string dbname = pg.conninfo().get("dbname");
  if (dbname.empty()) return true; // libpq's default: cannot tell, assume it is there
  TRY_ASSIGN(auto admin, pg.connect_to(pg.conninfo().with_dbname("postgres"), "rollback"));
  TRY_ASSIGN(auto rows, admin->query("SELECT 1 FROM pg_database WHERE datname = " +
                                     admin->quote_literal(dbname)));
  return !rows.empty();
}

util::Result<void> check_rollback_privileges(const config::PipelineConfig &config,
                                             const config::DatabaseTarget &target) {
  if (target.mode != config::RestoreMode::recreate) return {};
  TRY_ASSIGN(auto pg, PgTarget::open(config, target));
  std::string dbname = pg.conninfo().get("dbname");
  TRY_ASSIGN(auto admin, pg.connect_to(pg.conninfo().with_dbname("postgres"), "check"));
  TRY_ASSIGN(
      auto rows,
      admin->query("SELECT r.rolname, r.rolsuper OR r.rolcreatedb, "
                   "(SELECT pg_get_userbyid(d.datdba) FROM pg_database d WHERE d.datname = " +
                   admin->quote_literal(dbname) +
                   "), (SELECT pg_has_role(r.oid, d.datdba, 'MEMBER') "
                   "FROM pg_database d WHERE d.datname = " +
                   admin->quote_literal(dbname) +
                   ") FROM pg_roles r WHERE r.rolname = current_user"));
  if (rows.empty()) return {};
  std::string role = rows[0][0].value_or("");
  if (rows[0][1].value_or("f") != "t")
    return util::fail(fmt::format(
        "{}: mode: recreate (the default) restores into a new database, but role '{}' may "
        "not create databases\nhint: ALTER ROLE \"{}\" CREATEDB; or set mode: clean for this "
        "database (it restores into the existing one)",
        pg.describe(), role, role));
  if (rows[0][3].value_or("t") != "t")
    return util::fail(fmt::format(
        "{}: mode: recreate creates the new database owned by '{}' and drops the old one, "
        "but role '{}' is not a member of '{}'\nhint: GRANT \"{}\" TO \"{}\"; or set mode: "
        "clean for this database",
        pg.describe(), *rows[0][2], role, *rows[0][2], *rows[0][2], role));
  return {};
}

util::Result<void> create_missing_database(const config::PipelineConfig &config,
                                           const config::DatabaseTarget &target,
                                           const model::Artifact &artifact) {
  TRY_ASSIGN(auto pg, PgTarget::open(config, target));
  std::string dbname = pg.conninfo().get("dbname");
  TRY_ASSIGN(auto admin, pg.connect_to(pg.conninfo().with_dbname("postgres"), "rollback"));
  util::log_warn("rollback {}: database '{}' does not exist; creating it empty to restore into",
                 target.name, dbname);
  // With the recorded owner, encoding, locale and tablespace, as recreate mode creates it.
  if (auto recorded = properties_from_json(artifact.details)) {
    if (admin->execute(create_database_sql(*admin, dbname, *recorded))) return {};
    util::log_warn(
        "rollback {}: could not create '{}' with its recorded owner, encoding and locale; "
        "creating it with the server's defaults",
        target.name, dbname);
  }
  auto created =
      admin->execute("CREATE DATABASE " + admin->quote_identifier(dbname) + " TEMPLATE template0");
  if (!created)
    return util::fail("database '" + dbname +
                      "' does not exist and could not be created: " + created.error().message +
                      "\nhint: create it (CREATE DATABASE), then run the rollback again");
  return {};
}

util::Result<DatabaseRestoreResult>
restore_database(const config::PipelineConfig &config, const config::DatabaseTarget &target,
                 const model::Manifest &manifest, const fs::path &set_dir,
                 const std::function<void(uint64_t)> &progress) {
  auto candidates = restore_candidates(manifest, target.name);
  if (candidates.empty())
    return util::fail("the set holds no custom, directory or sql dump of database '" + target.name +
                      "'");
  TRY_ASSIGN(auto pg, PgTarget::open(config, target));
  int dump_major =
      std::atoi(candidates.front()->details.value("pg_dump_version", std::string("0")).c_str());
  int server = 0;
  {
    auto probe = pg.connect_to(pg.conninfo().with_dbname("postgres"), "rollback");
    if (!probe) return std::unexpected(probe.error());
    server = (*probe)->server_version();
  }
  TRY_ASSIGN(PgTools tools, pg.tools_for(std::max(server, dump_major * 10000)));
  DatabaseRestoreResult result;
  auto start = std::chrono::steady_clock::now();
  std::string first_error;
  for (const auto *a : candidates) {
    util::log_info("rollback {}: restoring {} ({} mode)", target.name, a->path,
                   target.mode == config::RestoreMode::recreate ? "recreate" : "clean");
    auto r = target.mode == config::RestoreMode::recreate
                 ? recreate_restore(pg, tools, *a, set_dir, progress)
                 : clean_restore(pg, pg.conninfo(), tools, *a, set_dir, progress, false);
    if (!r) {
      if (r.error().kind == util::ErrorKind::interrupted) return std::unexpected(r.error());
      util::log_warn("rollback {}: restoring {} failed: {}", target.name, a->path,
                     r.error().message);
      if (first_error.empty()) first_error = a->path + ": " + r.error().message;
      continue; // seed 004: fall back to the next format (the plain SQL dump)
    }
    TRY_ASSIGN(auto conn, pg.connect("rollback"));
    TRY_ASSIGN(std::string diff, compare_with_manifest(*conn, *a));
    if (diff.empty() && target.mode == config::RestoreMode::clean)
      diff = properties_difference(*conn, *a);
    result.used = a->path;
    result.difference = diff;
    if (!first_error.empty()) result.note = "fell back to " + a->path + " after " + first_error;
    result.ms = util::elapsed_ms(start);
    return result;
  }
  return util::fail(pg.describe() + ": every dump failed to restore; first: " + first_error);
}

} // namespace gate::steps

// PostgreSQL against a real server: every format restores with the plain
// tools, one snapshot for dumps and row counts, damaged dumps fail default
// verification, deep verify restores for real and cleans up, bad input
// fails clearly, secrets never leak.
#include "integration/harness.hpp"
#include "util/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <set>
#include <sys/inotify.h>
#include <thread>
#include <unistd.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::string db_pipeline(const std::string &db, const std::string &extra = "") {
  return "project: shop\ndatabases:\n  - name: app\n    url: " + PgServer::get().url(db) + "\n" +
         extra;
}

// A fresh database `db` with the sample tables (`rows` customers), backed up
// once by a pipeline with max_shrink 20% (plus `extra` under the database).
void backed_up_with_max_shrink(const TempDir &t, const std::string &db, int rows,
                               const std::string &extra = "") {
  PgServer::get().create_database(db);
  fill_sample_database(db, rows);
  write_pipeline(t.path(), db_pipeline(db, "    max_shrink: 20%\n" + extra));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
}

nlohmann::json manifest_of(const fs::path &root) {
  return nlohmann::json::parse(read_file(root / newest_set(root) / "manifest.json"));
}

int64_t rows_in_manifest(const nlohmann::json &artifact, const std::string &qualified) {
  for (const auto &t : artifact["details"]["tables"])
    if (t["schema"].get<std::string>() + "." + t["name"].get<std::string>() == qualified)
      return t["rows"];
  return -1;
}

std::string counts(const std::string &db) {
  return PgServer::get().value(
      db, "SELECT (SELECT count(*) FROM customers) || '/' || (SELECT count(*) FROM orders) "
          "|| '/' || (SELECT count(*) FROM billing.invoices) || '/' || (SELECT count(*) FROM "
          "empty_table)");
}

std::map<std::string, std::string> pg_env() {
  return {{"PGPASSWORD", PgServer::get().password()},
          {"PGHOST", "127.0.0.1"},
          {"PGPORT", std::to_string(PgServer::get().port())},
          {"PGUSER", "gate"},
          {"PATH", PgServer::get().bindir() + ":" + std::string(std::getenv("PATH"))}};
}

} // namespace

TEST(Postgres, EveryFormatRestoresWithThePlainTools) {
  auto &pg = PgServer::get();
  pg.create_database("fmt_src");
  fill_sample_database("fmt_src", 500);
  TempDir t;
  write_pipeline(t.path(), db_pipeline("fmt_src", "    formats: [custom, sql, directory, csv]\n    "
                                                  "globals: true\n    schema_only: true\n"));
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  std::string set = (t / "backups" / newest_set(t / "backups")).string();
  EXPECT_EQ(sh("sha256sum -c --quiet checksums.sha256", set).exit_code, 0);
  std::string expected = counts("fmt_src");
  EXPECT_EQ(expected, "500/1000/100/0");

  for (const char *db : {"fmt_custom", "fmt_sql", "fmt_dir", "fmt_csv"})
    pg.create_database(db);
  auto env = pg_env();
  EXPECT_EQ(
      sh("zstd -dc databases/app.dump.zst | pg_restore --exit-on-error -d fmt_custom", set, env)
          .exit_code,
      0);
  EXPECT_EQ(sh("zstd -dc databases/app.sql.zst | psql -q -v ON_ERROR_STOP=1 -d fmt_sql >/dev/null",
               set, env)
                .exit_code,
            0);
  EXPECT_EQ(sh("pg_restore --exit-on-error -j 2 -d fmt_dir databases/app.dir", set, env).exit_code,
            0);
  auto csv = sh("psql -q -v ON_ERROR_STOP=1 -d fmt_csv -f databases/app.schema.sql >/dev/null && "
                "for t in public.customers public.orders billing.invoices public.empty_table; do "
                "  psql -q -v ON_ERROR_STOP=1 -d fmt_csv -c \"\\copy $t FROM PROGRAM 'zstd -dc "
                "databases/app.csv/$t.csv.zst' "
                "WITH (FORMAT csv, HEADER true)\"; done",
                set, env);
  EXPECT_EQ(csv.exit_code, 0) << csv.all();
  for (const char *db : {"fmt_custom", "fmt_sql", "fmt_dir", "fmt_csv"})
    EXPECT_EQ(counts(db), expected) << db;
  EXPECT_EQ(pg.value("fmt_csv", "SELECT note FROM customers WHERE id = 10"),
            "multi\nline, \"quoted\"");
  EXPECT_THAT(read_file(fs::path(set) / "databases/app.globals.sql"),
              HasSubstr("CREATE ROLE gate"));

  auto m = manifest_of(t / "backups");
  for (const auto &a : m["artifacts"]) {
    if (a["format"] == "custom") {
      EXPECT_EQ(rows_in_manifest(a, "public.orders"), 1000);
      EXPECT_EQ(rows_in_manifest(a, "billing.invoices"), 100);
      EXPECT_THAT(a["details"]["server_version"].get<std::string>(), HasSubstr("15"));
      EXPECT_FALSE(a["details"]["extensions"].empty());
    }
  }
  auto show = run_gate({"show", "--last"}, t.path());
  EXPECT_THAT(show.out, HasSubstr("public.orders: 1000 rows"));
  EXPECT_THAT(show.out, HasSubstr("extensions: plpgsql"));
}

TEST(Postgres, DumpAndRowCountsComeFromOneSnapshotWhileWritesGoOn) {
  auto &pg = PgServer::get();
  pg.create_database("snap");
  fill_sample_database("snap", 2000);
  // A writer committing row after row for the whole backup.
  gate::util::ProcessSpec writer;
  writer.argv = {
      pg.bindir() + "/psql",
      "-X",
      "-q",
      "-h",
      "127.0.0.1",
      "-p",
      std::to_string(pg.port()),
      "-U",
      "gate",
      "-d",
      "snap",
      "-c",
      "DO $$ BEGIN FOR i IN 1..200000 LOOP INSERT INTO orders (customer_id, total) VALUES (1, i); "
      "COMMIT; END LOOP; END $$"};
  writer.env = {{"PGPASSWORD", pg.password()}};
  writer.stdout_mode = gate::util::StreamMode::null;
  auto w = gate::util::Process::start(writer);
  ASSERT_TRUE(w.has_value());
  TempDir t;
  write_pipeline(t.path(),
                 db_pipeline("snap", "    formats: [custom, csv]\nstages:\n  - name: b\n    steps: "
                                     "[{backup: app}, {verify: all, deep: true}]\n"));
  auto r = run_gate({"run"}, t.path());
  (*w)->kill_group(SIGTERM);
  (void)(*w)->wait();
  ASSERT_EQ(r.exit_code, 0) << r.all();
  auto m = manifest_of(t / "backups");
  int64_t recorded = rows_in_manifest(m["artifacts"][0], "public.orders");
  EXPECT_GE(recorded, 4000);
  // The dump holds exactly the counted rows: restore it and count.
  pg.create_database("snap_check");
  std::string set = (t / "backups" / newest_set(t / "backups")).string();
  ASSERT_EQ(
      sh("zstd -dc databases/app.dump.zst | pg_restore -d snap_check", set, pg_env()).exit_code, 0);
  EXPECT_EQ(pg.value("snap_check", "SELECT count(*) FROM orders"), std::to_string(recorded));
  // And the CSV export, from the same snapshot, has the same rows.
  EXPECT_EQ(sh("zstd -dc databases/app.csv/public.orders.csv.zst | tail -n +2 | wc -l", set).out,
            std::to_string(recorded) + "\n");
}

TEST(Postgres, DamagedDumpsFailDefaultVerificationEvenWithAMatchingChecksum) {
  auto &pg = PgServer::get();
  pg.create_database("damage");
  fill_sample_database("damage", 3000);
  for (const char *compression : {"gzip", "zstd"}) {
    for (const char *damage : {"truncate", "flip"}) {
      TempDir t;
      write_pipeline(t.path(),
                     db_pipeline("damage", std::string("    compression: ") + compression + "\n"));
      ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
      std::string id = newest_set(t / "backups");
      fs::path set = t / "backups" / id;
      std::string file =
          std::string("databases/app.dump") + (std::string(compression) == "zstd" ? ".zst" : "");
      std::string cmd = std::string(damage) == "truncate"
                            ? "truncate -s $(( $(stat -c %s " + file + ") * 2 / 3 )) " + file
                            : "printf '\\xff\\x00\\xff' | dd of=" + file +
                                  " bs=1 seek=$(( $(stat -c %s " + file +
                                  ") / 2 )) conv=notrunc status=none";
      ASSERT_EQ(sh(cmd, set).exit_code, 0);
      // Make the manifest agree with the damaged file, as a tool that only
      // checksums what it wrote would (db-backup#114): the read-back must still fail.
      auto m = nlohmann::json::parse(read_file(set / "manifest.json"));
      std::string sha = sh("sha256sum " + file + " | cut -d' ' -f1", set).out;
      sha.pop_back();
      for (auto &a : m["artifacts"]) {
        a["files"][0]["sha256"] = sha;
        a["files"][0]["bytes"] = fs::file_size(set / file);
        a["bytes"] = fs::file_size(set / file);
      }
      write_file(set / "manifest.json", m.dump(2));
      write_file(set / "checksums.sha256", sha + "  " + file + "\n");
      auto quick = run_gate({"verify", id, "--quick"}, t.path());
      EXPECT_EQ(quick.exit_code, 0)
          << compression << " " << damage << ": quick only checks the checksum";
      auto full = run_gate({"verify", id}, t.path());
      EXPECT_EQ(full.exit_code, 1) << compression << " " << damage << "\n" << full.all();
    }
  }
}

TEST(Postgres, DeepVerifyRestoresIntoAScratchDatabaseAndDropsIt) {
  auto &pg = PgServer::get();
  pg.create_database("deep");
  fill_sample_database("deep", 1000);
  TempDir t;
  write_pipeline(t.path(),
                 db_pipeline("deep", "    formats: [custom, sql]\nstages:\n  - name: b\n    steps: "
                                     "[{backup: app}, {verify: all, deep: true}]\n"));
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  auto m = manifest_of(t / "backups");
  bool measured = false;
  for (const auto &v : m["verifications"])
    if (v["level"] == "deep" && v["metrics"].contains("restore_ms")) measured = true;
  EXPECT_TRUE(measured);
  EXPECT_EQ(
      pg.value("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'gate_verify%'"),
      "0");
  auto again = run_gate({"verify", "--last", "--deep"}, t.path());
  EXPECT_EQ(again.exit_code, 0) << again.all();
  EXPECT_EQ(
      pg.value("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'gate_verify%'"),
      "0");
}

TEST(Postgres, AKilledDeepVerifyLeavesNoScratchDatabaseBehind) {
  auto &pg = PgServer::get();
  pg.create_database("deepkill");
  fill_sample_database("deepkill", 20000);
  TempDir t;
  write_pipeline(t.path(), db_pipeline("deepkill"));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  fs::path base = pg.data_dir() / "base";
  for (int sig : {SIGINT, SIGKILL}) {
    int fd = inotify_init1(IN_CLOEXEC);
    ASSERT_GE(inotify_add_watch(fd, base.c_str(), IN_CREATE), 0);
    auto p = start_gate({"verify", "--last", "--deep"}, t.path());
    char buf[4096];
    ASSERT_GT(::read(fd, buf, sizeof buf), 0); // CREATE DATABASE made its directory
    ::close(fd);
    ::kill(p->pid(), sig);
    auto status = p->wait();
    ASSERT_TRUE(status.has_value());
    if (sig == SIGINT) {
      EXPECT_EQ(status->code, 130) << p->stderr_tail();
      EXPECT_EQ(pg.value("postgres",
                         "SELECT count(*) FROM pg_database WHERE datname LIKE 'gate_verify%'"),
                "0");
    } else {
      // SIGKILL leaves no chance to clean up: the next deep verify drops it.
      auto next = run_gate({"verify", "--last", "--deep"}, t.path());
      EXPECT_EQ(next.exit_code, 0) << next.all();
      EXPECT_EQ(pg.value("postgres",
                         "SELECT count(*) FROM pg_database WHERE datname LIKE 'gate_verify%'"),
                "0");
    }
  }
}

TEST(Postgres, BadInputFailsClearlyAndRecordsNothing) {
  auto &pg = PgServer::get();
  pg.create_database("badin");
  fill_sample_database("badin", 100);
  TempDir t;
  write_pipeline(t.path(), db_pipeline("badin"));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string record = read_file(t / ".last-deployment-backup");
  auto expect_failure = [&](const std::string &body, const std::string &message) {
    write_pipeline(t.path(), body);
    auto r = run_gate({"run"}, t.path());
    EXPECT_EQ(r.exit_code, 1) << body << "\n" << r.all();
    EXPECT_THAT(r.all(), HasSubstr(message)) << body;
    EXPECT_THAT(r.all(), Not(HasSubstr(pg.password())));
    EXPECT_EQ(read_file(t / ".last-deployment-backup"), record);
  };
  std::string port = std::to_string(pg.port());
  expect_failure("databases:\n  - {name: app, url: 'postgresql://gate:WrongPassw0rd@127.0.0.1:" +
                     port + "/badin'}\n",
                 "unable to connect to database 'app' (gate@127.0.0.1:" + port +
                     "/badin): connection to server at");
  expect_failure("databases:\n  - {name: app, url: 'postgresql://gate:x@127.0.0.1:1/badin'}\n",
                 "unable to connect to database 'app'");
  expect_failure("databases:\n  - {name: app, url: 'postgresql://gate:x@10.255.255.1:5432/badin', "
                 "connect_timeout: 2s}\n",
                 "unable to connect to database 'app'");
  expect_failure("databases:\n  - {name: app, url: '" + pg.url("no_such_db") + "'}\n",
                 "database \"no_such_db\" does not exist");
  expect_failure(db_pipeline("badin") + "space_factor: 100000\n", "not enough disk space");
  expect_failure(db_pipeline("badin", "    min_size: 100MiB\n"), "below min_size 100.0 MiB");
  expect_failure(db_pipeline("badin") +
                     "stages:\n  - name: pre\n    steps: [{check: sql, database: app, query: "
                     "'SELECT count(*) FROM customers', expect: '0'}]\n",
                 "returned '100', expected '0'");
  auto wrong = run_gate({"run"}, t.path());
  EXPECT_THAT(wrong.all(), Not(HasSubstr("WrongPassw0rd")));
  write_pipeline(t.path(),
                 "databases:\n  - {name: app, url: 'postgresql://gate:WrongPassw0rd@127.0.0.1:" +
                     port + "/badin'}\n");
  auto check = run_gate({"check"}, t.path());
  EXPECT_EQ(check.exit_code, 1) << check.all();
  EXPECT_THAT(check.all(), HasSubstr("password authentication failed"));
  EXPECT_THAT(check.all(), Not(HasSubstr("WrongPassw0rd")));
}

TEST(Postgres, PgDumpDyingMidDumpIsNeverAccepted) {
  auto &pg = PgServer::get();
  pg.create_database("dying");
  fill_sample_database("dying", 100);
  TempDir t;
  write_pipeline(t.path(), db_pipeline("dying"));
  // Hold a lock pg_dump must wait for, then end pg_dump's session while it waits.
  auto holder = pg.open_session("dying");
  ASSERT_TRUE(session_send(
      *holder, "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n"));
  auto run = start_gate({"run"}, t.path());
  // Server-side waits for pg_dump to block on the lock (bounded), then end it.
  auto wait_for_pg_dump = [&](const std::string &action) {
    return pg.value("postgres", R"(DO $$ DECLARE n int := 0; BEGIN
      LOOP
        PERFORM pg_stat_clear_snapshot(); -- a transaction otherwise sees one cached view
        PERFORM )" + action + R"( FROM pg_stat_activity
          WHERE datname = 'dying' AND application_name = 'pg_dump' AND wait_event_type = 'Lock';
        EXIT WHEN FOUND OR n > 6000;
        n := n + 1;
        PERFORM pg_sleep(0.01);
      END LOOP;
    END $$; SELECT 'done')");
  };
  EXPECT_EQ(wait_for_pg_dump("pid"), "done");
  // While pg_dump runs: no process on this machine shows the password on its command line.
  // (processes that end during the scan are skipped)
  std::string cmdlines = sh("for f in /proc/[0-9]*/cmdline; do { tr '\\0' ' ' < \"$f\"; } "
                            "2>/dev/null || true; echo; done")
                             .out;
  EXPECT_THAT(cmdlines, HasSubstr("pg_dump"));
  EXPECT_THAT(cmdlines, Not(HasSubstr(pg.password())));
  EXPECT_EQ(wait_for_pg_dump("pg_terminate_backend(pid)"), "done");
  holder->close_stdin(); // releases the lock
  (void)holder->wait();
  auto done = finish_gate(*run);
  EXPECT_EQ(done.exit_code, 1) << done.all();
  EXPECT_THAT(done.out, HasSubstr("pg_dump exited 1"));
  EXPECT_FALSE(fs::exists(t / ".last-deployment-backup"));
  EXPECT_TRUE(newest_set(t / "backups").empty());
  EXPECT_EQ(sh("ls -a backups | grep -c '^.failed-'", t.path()).out, "1\n");
  EXPECT_EQ(sh("ls backups/.failed-*/databases/ 2>/dev/null | wc -l", t.path()).out, "0\n");
}

TEST(Postgres, PgDumpGetsOnlyItsOwnSecretAndAKilledGateLeavesNoneOnDisk) {
  auto &pg = PgServer::get();
  pg.create_database("env_dump");
  fill_sample_database("env_dump", 100);
  TempDir t;
  write_pipeline(t.path(), "databases:\n  - {name: app, url: '${APP_DATABASE_URL}'}\n");
  std::map<std::string, std::string> env{
      {"APP_DATABASE_URL", pg.url("env_dump")},
      {"BACKUP_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook?token=Hook-Secret-77"}};
  sh("touch " + (t / "before").string());
  auto holder = pg.open_session("env_dump");
  ASSERT_TRUE(session_send(
      *holder, "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n"));
  auto run = start_gate({"run"}, t.path(), env);
  // pg_dump is running (blocked on the lock) once its session waits on it.
  EXPECT_EQ(pg.value("postgres", R"(DO $$ DECLARE n int := 0; BEGIN
      LOOP
        PERFORM pg_stat_clear_snapshot();
        PERFORM 1 FROM pg_stat_activity WHERE datname = 'env_dump' AND application_name = 'pg_dump'
          AND wait_event_type = 'Lock';
        EXIT WHEN FOUND OR n > 6000;
        n := n + 1;
        PERFORM pg_sleep(0.01);
      END LOOP;
    END $$; SELECT 'done')"),
            "done");
  std::string environ = sh("for p in $(pgrep -x pg_dump); do grep -qa env_dump /proc/$p/cmdline && "
                           "tr '\\0' '\\n' < /proc/$p/environ; done")
                            .out;
  EXPECT_THAT(environ, HasSubstr("PGPASSWORD="));
  EXPECT_THAT(environ, Not(HasSubstr("APP_DATABASE_URL")));
  EXPECT_THAT(environ, Not(HasSubstr("Hook-Secret-77")));
  ::kill(run->pid(), SIGKILL);
  (void)run->wait();
  holder->close_stdin();
  (void)holder->wait();
  // Nothing the killed gate wrote holds the password: not in /tmp, not in the backup root.
  EXPECT_EQ(sh("find /tmp -maxdepth 1 -type f -newer '" + (t / "before").string() +
                   "' -exec grep -l -- \"$PW\" {} + 2>/dev/null | wc -l",
               {}, {{"PW", pg.password()}})
                .out,
            "0\n");
  EXPECT_EQ(sh("grep -rl -- \"$PW\" . | wc -l", t.path(), {{"PW", pg.password()}}).out, "0\n");
  EXPECT_EQ(run_gate({"run"}, t.path(), env).exit_code, 0);
}

TEST(Postgres, ADatabaseLeftClosedByAKilledRollbackIsOpenedByTheNextGate) {
  auto &pg = PgServer::get();
  pg.create_database("closed_rb");
  fill_sample_database("closed_rb", 50);
  pg.psql("postgres", "ALTER DATABASE closed_rb CONNECTION LIMIT 40");
  TempDir t;
  write_pipeline(t.path(),
                 db_pipeline("closed_rb", "    mode: clean\n")); // closes with CONNECTION LIMIT 0
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  pg.psql("closed_rb", "DELETE FROM orders");
  auto rb = start_gate_at_fault({"rollback", "--last", "--yes"}, t.path(), "restore.before-reopen");
  EXPECT_EQ(
      pg.value("postgres", "SELECT datconnlimit FROM pg_database WHERE datname = 'closed_rb'"),
      "0");
  ::kill(rb->pid(), SIGKILL);
  (void)rb->wait();
  EXPECT_EQ(
      pg.value("postgres", "SELECT datconnlimit FROM pg_database WHERE datname = 'closed_rb'"),
      "0");
  // Any command repairs it, and says so.
  auto list = run_gate({"list"}, t.path());
  EXPECT_EQ(list.exit_code, 0) << list.all();
  EXPECT_THAT(list.err,
              HasSubstr("database 'closed_rb' was left closed to connections by a gate that died"));
  EXPECT_EQ(
      pg.value("postgres", "SELECT datconnlimit FROM pg_database WHERE datname = 'closed_rb'"),
      "40");
  EXPECT_FALSE(fs::exists(t / "backups" / ".gate-access-app.json"));
  EXPECT_THAT(run_gate({"list"}, t.path()).err, Not(HasSubstr("left closed")));
}

TEST(Postgres, ALockedDatabaseIsExplainedWithItsFix) {
  std::string url =
      PgServer::get().create_owned_database("locked_db", "locked_owner", "LockedPw-9", 10);
  PgServer::get().psql("postgres", "ALTER DATABASE locked_db CONNECTION LIMIT 0");
  TempDir t;
  write_pipeline(t.path(), "databases:\n  - {name: app, url: '" + url + "', min_size: 0}\n");
  auto check = run_gate({"check"}, t.path());
  EXPECT_EQ(check.exit_code, 1) << check.all();
  EXPECT_THAT(check.all(),
              HasSubstr("database 'locked_db' is closed to connections (CONNECTION LIMIT 0)"));
  EXPECT_THAT(check.all(), HasSubstr("ALTER DATABASE \"locked_db\" CONNECTION LIMIT -1"));
  EXPECT_THAT(check.all(), Not(HasSubstr("LockedPw-9")));
  PgServer::get().psql("postgres", "ALTER DATABASE locked_db CONNECTION LIMIT -1");
}

TEST(Postgres, SecretsNeverReachFilesOrOutput) {
  auto &pg = PgServer::get();
  pg.create_database("secrets");
  fill_sample_database("secrets", 50);
  TempDir t;
  write_pipeline(t.path(), "databases:\n  - {name: app, url: '${DATABASE_URL}', formats: [custom, "
                           "sql, csv], globals: true}\n");
  std::map<std::string, std::string> env{{"DATABASE_URL", pg.url("secrets")}};
  std::string passfiles_before = sh("ls /tmp | grep -c gate-pgpass || true").out;
  auto r = run_gate({"--verbose", "--json", "run"}, t.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), Not(HasSubstr(pg.password())));
  EXPECT_EQ(sh("grep -rl -- \"$PW\" . | wc -l", t.path(), {{"PW", pg.password()}}).out, "0\n");
  auto show = run_gate({"show", "--last"}, t.path(), env);
  EXPECT_THAT(show.out, HasSubstr("postgresql://gate:***@127.0.0.1"));
  EXPECT_THAT(show.all(), Not(HasSubstr(pg.password())));
  EXPECT_EQ(sh("ls /tmp | grep -c gate-pgpass || true").out,
            passfiles_before); // the password files are gone
}

TEST(Postgres, MaxShrinkStopsABackupThatLostData) {
  auto &pg = PgServer::get();
  TempDir t;
  backed_up_with_max_shrink(t, "shrink", 1000);
  // A table losing half its rows barely moves the dump's size: the per-table check catches it.
  pg.psql("shrink", "DELETE FROM billing.invoices WHERE id % 2 = 0");
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("table billing.invoices shrank from 100 to 50 rows"));
  // And a dump that shrank as a whole.
  pg.psql("shrink", "DELETE FROM orders WHERE id % 2 = 0");
  auto whole = run_gate({"run"}, t.path());
  EXPECT_EQ(whole.exit_code, 1) << whole.all();
  EXPECT_THAT(whole.all(), HasSubstr("the custom dump shrank from"));
}

TEST(Postgres, AfterARollbackTheNextDeployComparesWithTheDeploysOwnSets) {
  auto &pg = PgServer::get();
  TempDir t;
  backed_up_with_max_shrink(t, "shrink_rb", 200);
  // A migration added a table; the rollback's safety snapshot holds it, the deploy's set does not.
  pg.psql("shrink_rb", "CREATE TABLE tmp_migration AS SELECT generate_series(1, 100) AS n");
  auto rb = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(rb.exit_code, 0) << rb.all();
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), Not(HasSubstr("pre-rollback")));
}

TEST(Postgres, AnIntendedShrinkPassesOnlyWithAnExplicitLoggedOverride) {
  auto &pg = PgServer::get();
  TempDir t;
  backed_up_with_max_shrink(t, "shrink_ok", 1000);
  pg.psql("shrink_ok", "DELETE FROM orders WHERE id % 2 = 0");
  auto refused = run_gate({"run"}, t.path());
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_THAT(refused.all(), HasSubstr("--allow-shrink app"));
  auto unknown = run_gate({"run", "--allow-shrink", "nosuch"}, t.path());
  EXPECT_EQ(unknown.exit_code, 2) << unknown.all();
  EXPECT_THAT(unknown.all(), HasSubstr("--allow-shrink nosuch: no database of that name"));
  auto allowed = run_gate({"run", "--allow-shrink", "app"}, t.path());
  ASSERT_EQ(allowed.exit_code, 0) << allowed.all();
  EXPECT_THAT(allowed.err, HasSubstr("allowed by --allow-shrink app"));
  auto m = manifest_of(t / "backups");
  bool recorded = false;
  for (const auto &a : m["artifacts"])
    if (a["target"] == "app" && a["details"].contains("shrink_allowed")) recorded = true;
  EXPECT_TRUE(recorded) << m.dump(2);
}

TEST(Postgres, MaxShrinkComparesWithTheNewestSetHoldingTheDatabase) {
  auto &pg = PgServer::get();
  TempDir t;
  make_sample_tree(t / "files", 5);
  backed_up_with_max_shrink(t, "shrink_skip", 1000, "volumes:\n  - {name: files, path: ./files}\n");
  std::string with_database = newest_set(t / "backups");
  // The newest set holds only the files: the database is compared with the set before it.
  ASSERT_EQ(run_gate({"backup", "files"}, t.path()).exit_code, 0);
  pg.psql("shrink_skip", "DELETE FROM orders WHERE id % 10 <> 0");
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("the custom dump shrank from"));
  EXPECT_THAT(r.all(), HasSubstr("since set '" + with_database + "'"));
}

TEST(Postgres, GlobalsFallBackWithoutSuperuser) {
  std::string url =
      PgServer::get().create_owned_database("nonsuper", "app_owner", "OwnerPw-123", 500);
  TempDir t;
  // The default mode (recreate) needs CREATEDB: said at check time, with the grant, before any
  // backup.
  write_pipeline(t.path(),
                 "databases:\n  - {name: app, url: '" + url + "', globals: true, min_size: 0}\n");
  auto refused = run_gate({"run"}, t.path());
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_THAT(refused.all(), HasSubstr("may not create databases"));
  EXPECT_THAT(refused.all(), HasSubstr("ALTER ROLE \"app_owner\" CREATEDB; or set mode: clean"));
  EXPECT_TRUE(newest_set(t / "backups").empty());
  write_pipeline(t.path(), "databases:\n  - {name: app, url: '" + url +
                               "', globals: true, min_size: 0, mode: clean}\n");
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr("is not a superuser"));
  std::string globals =
      read_file(t / "backups" / newest_set(t / "backups") / "databases/app.globals.sql");
  EXPECT_THAT(globals, HasSubstr("CREATE ROLE app_owner"));
  EXPECT_THAT(globals, Not(HasSubstr("SCRAM-SHA-256")));
}

TEST(Postgres, PasswordsFromPgpassfileWork) {
  auto &pg = PgServer::get();
  pg.create_database("pgpass");
  fill_sample_database("pgpass", 100);
  TempDir t;
  write_file(t / "pgpass",
             "127.0.0.1:" + std::to_string(pg.port()) + ":*:gate:" + pg.password() + "\n");
  fs::permissions(t / "pgpass", fs::perms::owner_read | fs::perms::owner_write);
  write_pipeline(t.path(), "databases:\n  - {name: app, url: 'postgresql://gate@127.0.0.1:" +
                               std::to_string(pg.port()) +
                               "/pgpass', formats: [custom, sql]}\nstages:\n  - name: b\n    "
                               "steps: [{backup: app}, {verify: all, deep: true}]\n");
  auto r = run_gate({"run"}, t.path(), {{"PGPASSFILE", (t / "pgpass").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.all();
  auto without = run_gate({"run"}, t.path(), {{"PGPASSFILE", "/nonexistent"}});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_THAT(without.all(), HasSubstr("unable to connect to database 'app'"));
}

TEST(Postgres, DamagedSqlCsvAndDirectoryDumpsFailDefaultVerification) {
  auto &pg = PgServer::get();
  pg.create_database("damage2");
  fill_sample_database("damage2", 3000);
  for (const char *target : {"databases/app.sql.zst", "databases/app.csv/public.orders.csv.zst",
                             "databases/app.dir/toc.dat"}) {
    TempDir t;
    write_pipeline(t.path(), db_pipeline("damage2", "    formats: [sql, csv, directory]\n"));
    ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
    std::string id = newest_set(t / "backups");
    fs::path set = t / "backups" / id;
    std::string file = target;
    if (file.find(".dir/") != std::string::npos) // the largest data file of the directory dump
      file = sh("ls -S databases/app.dir/*.dat.gz | head -n 1", set).out, file.pop_back();
    ASSERT_EQ(sh("truncate -s $(( $(stat -c %s " + file + ") / 2 )) " + file, set).exit_code, 0);
    auto m = nlohmann::json::parse(read_file(set / "manifest.json"));
    std::string sha = sh("sha256sum " + file + " | cut -d' ' -f1", set).out;
    sha.pop_back();
    for (auto &a : m["artifacts"])
      for (auto &f : a["files"])
        if (f["path"] == file) {
          f["sha256"] = sha;
          f["bytes"] = fs::file_size(set / file);
        }
    write_file(set / "manifest.json", m.dump(2));
    auto full = run_gate({"verify", id}, t.path());
    EXPECT_EQ(full.exit_code, 1) << file << "\n" << full.all();
  }
}

TEST(Postgres, TablesAndExcludeTablesLimitTheBackup) {
  auto &pg = PgServer::get();
  pg.create_database("subset");
  fill_sample_database("subset", 100);
  TempDir t;
  write_pipeline(
      t.path(),
      db_pipeline("subset", "    tables: ['*']\n    exclude_tables: [orders, 'billing.*']\n"));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  auto m = manifest_of(t / "backups");
  std::set<std::string> names;
  for (const auto &table : m["artifacts"][0]["details"]["tables"])
    names.insert(table["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"customers", "empty_table"}));
  pg.create_database("subset_check");
  std::string set = (t / "backups" / newest_set(t / "backups")).string();
  // A --table dump leaves out what the tables depend on (pg_dump's rule), so pg_restore may
  // warn; what matters is which tables came back.
  sh("zstd -dc databases/app.dump.zst | pg_restore -d subset_check", set, pg_env());
  EXPECT_EQ(pg.value("subset_check", "SELECT count(*) FROM customers"), "100");
  EXPECT_EQ(
      pg.value(
          "subset_check",
          "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname "
          "IN ('public', 'billing')"),
      "customers,empty_table");
}

TEST(Postgres, ReadingSetsNeedsNoDatabaseSecrets) {
  auto &pg = PgServer::get();
  pg.create_database("lazy_secrets");
  fill_sample_database("lazy_secrets", 20);
  TempDir t;
  write_pipeline(t.path(),
                 "project: shop\ndatabases:\n  - name: app\n    url: ${GATE_TEST_LAZY_URL}\n"
                 "    verify_url: ${GATE_TEST_LAZY_URL}\n");
  auto made = run_gate({"run"}, t.path(), {{"GATE_TEST_LAZY_URL", pg.url("lazy_secrets")}});
  ASSERT_EQ(made.exit_code, 0) << made.all();
  // Without the variable: every command that only reads sets works.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"list"}, {"show", "--last"}, {"verify", "--quick", "--last"}}) {
    auto r = run_gate(args, t.path());
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.all();
    EXPECT_THAT(r.all(), Not(HasSubstr("is not set"))) << args[0];
  }
  // A command that connects fails where the value is used, naming it and its place.
  for (const char *command : {"run", "check"}) {
    auto r = run_gate({command}, t.path());
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.all();
    EXPECT_THAT(
        r.all(),
        HasSubstr("pipeline.yml:5:10: environment variable 'GATE_TEST_LAZY_URL' is not set"))
        << command;
  }
  auto deep = run_gate({"verify", "--deep", "--last"}, t.path());
  EXPECT_NE(deep.exit_code, 0) << deep.all();
  EXPECT_THAT(deep.all(), HasSubstr("environment variable 'GATE_TEST_LAZY_URL' is not set"));
}

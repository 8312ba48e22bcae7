// Database standbys (`standby: true`) against the real server: the verified
// restore is kept closed, a rollback swaps it in by renames with the live
// database's properties carried, an application reconnecting by name never
// finds the database missing, a kill mid-swap is repaired by the next gate,
// --undo swaps back, a tampered standby is not trusted, and the replaced copy
// goes after keep_replaced successful runs.
#include "integration/harness.hpp"
#include "util/pg.hpp"
#include "util/text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <thread>

using namespace gate::test;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// A fresh database `db` with the sample tables, and no standby or replaced
// copy left from an earlier run of the tests.
void fresh_database(const std::string &db, int rows) {
  auto &pg = PgServer::get();
  auto left =
      pg.value("postgres", "SELECT string_agg(datname, ' ') FROM pg_database WHERE "
                           "datname LIKE '" +
                               db + "\\_gate\\_%' OR datname LIKE '" + db + "\\_replaced\\_%'");
  for (const auto &name : gate::util::split(left, ' '))
    if (!name.empty()) pg.psql("postgres", "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
  pg.create_database(db);
  fill_sample_database(db, rows);
}

void standby_pipeline(const TempDir &t, const std::string &db, const std::string &url = "") {
  write_pipeline(t.path(), "databases:\n  - name: app\n    url: " +
                               (url.empty() ? PgServer::get().url(db) : url) +
                               "\n    formats: [custom]\n    standby: true\n");
}

std::string orders(const std::string &db) {
  return PgServer::get().value(db, "SELECT count(*) FROM orders");
}

std::string exists(const std::string &name) {
  return PgServer::get().value("postgres",
                               "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'");
}

std::string replaced_of(const std::string &db) {
  return PgServer::get().value("postgres", "SELECT coalesce(string_agg(datname, ' '), '') FROM "
                                           "pg_database WHERE datname LIKE '" +
                                               db + "\\_replaced\\_%'");
}

nlohmann::json standby_record(const TempDir &t) {
  auto shown = run_gate({"show", "--last", "--json"}, t.path());
  auto m = nlohmann::json::parse(shown.out);
  for (const auto &a : m["artifacts"])
    if (a["details"].contains("standby")) return a["details"]["standby"];
  return nullptr;
}

} // namespace

TEST(Standby, SwapCarriesPropertiesUndoSwapsBackAndKeepReplacedDropsTheCopy) {
  auto &pg = PgServer::get();
  TempDir t;
  fresh_database("sb_props", 200);
  pg.psql("postgres", "DROP ROLE IF EXISTS sb_reader; CREATE ROLE sb_reader LOGIN");
  pg.psql("postgres", "ALTER DATABASE sb_props SET work_mem = '7MB'; GRANT CONNECT ON DATABASE "
                      "sb_props TO sb_reader; COMMENT ON DATABASE sb_props IS 'the app'");
  standby_pipeline(t, "sb_props");
  auto run = run_gate({"run"}, t.path());
  ASSERT_EQ(run.exit_code, 0) << run.all();
  auto record = standby_record(t);
  ASSERT_TRUE(record.is_object()) << run.all();
  EXPECT_EQ(record.value("name", ""), "sb_props_gate_standby");
  EXPECT_GT(record.value("size_bytes", 0LL), 0);
  EXPECT_GE(record.value("rows", 0), 600) << record.dump();
  EXPECT_EQ(record.value("set_id", ""), newest_set(t / "backups"));
  EXPECT_EQ(
      pg.value("postgres",
               "SELECT datallowconn FROM pg_database WHERE datname = 'sb_props_gate_standby'"),
      "f");
  std::string before = orders("sb_props");
  pg.psql("sb_props", "DELETE FROM orders WHERE id % 2 = 0");
  std::string damaged = orders("sb_props");

  auto dry = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(dry.out, HasSubstr("swap in standby sb_props_gate_standby"));
  EXPECT_THAT(dry.out, HasSubstr("no safety snapshot on this path, because the replaced database "
                                 "is kept"));
  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("gate rollback --undo"));
  EXPECT_EQ(orders("sb_props"), before);
  EXPECT_THAT(pg.value("postgres",
                       "SELECT array_to_string(setconfig, ',') FROM "
                       "pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                       "WHERE d.datname = 'sb_props' AND s.setrole = 0"),
              HasSubstr("work_mem=7MB"));
  EXPECT_EQ(
      pg.value("postgres", "SELECT has_database_privilege('sb_reader', 'sb_props', 'CONNECT')"),
      "t");
  EXPECT_EQ(pg.value("postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                 "WHERE datname = 'sb_props'"),
            "the app");
  EXPECT_EQ(pg.value("postgres", "SELECT datallowconn FROM pg_database WHERE datname = 'sb_props'"),
            "t");
  std::string replaced = replaced_of("sb_props");
  ASSERT_THAT(replaced, HasSubstr("sb_props_replaced_"));
  EXPECT_THAT(run_gate({"list", "--all"}, t.path()).out, HasSubstr(replaced));
  EXPECT_THAT(run_gate({"show", "--last"}, t.path()).out, HasSubstr(replaced));

  auto undo = run_gate({"rollback", "--undo", "--yes"}, t.path());
  ASSERT_EQ(undo.exit_code, 0) << undo.all();
  EXPECT_EQ(orders("sb_props"), damaged);
  auto redo = run_gate({"rollback", "--undo", "--yes"}, t.path());
  ASSERT_EQ(redo.exit_code, 0) << redo.all();
  EXPECT_EQ(orders("sb_props"), before);
  EXPECT_EQ(pg.value("postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                 "WHERE datname = 'sb_props'"),
            "the app");

  // keep_replaced: 1 (the default): the next successful run drops the copy.
  EXPECT_EQ(exists(replaced), "1");
  auto next = run_gate({"run"}, t.path());
  ASSERT_EQ(next.exit_code, 0) << next.all();
  EXPECT_EQ(exists(replaced), "0");
  EXPECT_EQ(orders("sb_props"), before);
}

TEST(Standby, AClientReconnectingByNameNeverFindsTheDatabaseMissing) {
  TempDir t;
  fresh_database("sb_client", 300);
  standby_pipeline(t, "sb_client");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string before = orders("sb_client");
  PgServer::get().psql("sb_client", "DELETE FROM orders WHERE id > 10");
  std::string damaged = orders("sb_client");

  std::atomic<bool> stop{false};
  std::atomic<int> missing{0}, connected{0}, other_rows{0};
  std::thread client([&] {
    auto info = gate::util::ConnInfo::parse(PgServer::get().url("sb_client"));
    while (!stop) {
      auto conn = gate::util::PgConnection::connect(*info, std::chrono::seconds(5), "client");
      if (!conn) {
        // A connection racing the rename transaction itself is told the name was "just
        // renamed" (PostgreSQL's recheck): that is within the swap. Any other "does not
        // exist" is the database missing.
        const auto &m = conn.error().message;
        if (m.find("does not exist") != std::string::npos &&
            m.find("just been dropped or renamed") == std::string::npos)
          ++missing;
        continue;
      }
      auto n = (*conn)->scalar("SELECT count(*) FROM orders");
      if (!n) continue; // ended by the rollback
      ++connected;
      if (n->value_or("") != before && n->value_or("") != damaged) ++other_rows;
    }
  });
  auto gate = start_gate({"rollback", "--last", "--yes"}, t.path());
  auto r = finish_gate(*gate);
  // The client goes on until it has seen the restored data.
  for (int i = 0; i < 2000 && orders("sb_client") != before; ++i)
    std::this_thread::yield();
  stop = true;
  client.join();
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(orders("sb_client"), before);
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(other_rows.load(), 0);
  EXPECT_GT(connected.load(), 0);
}

TEST(Standby, AKillBeforeOrAfterTheRenamesIsRepairedByTheNextGate) {
  TempDir t;
  fresh_database("sb_kill", 100);
  standby_pipeline(t, "sb_kill");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string before = orders("sb_kill");
  PgServer::get().psql("sb_kill", "DELETE FROM orders WHERE id > 5");
  std::string damaged = orders("sb_kill");

  auto gate = start_gate_at_fault({"rollback", "--last", "--yes"}, t.path(), "standby.before-swap");
  ::kill(gate->pid(), SIGKILL);
  (void)gate->wait();
  // The live name still holds the old database (closed until the next gate opens it).
  EXPECT_EQ(exists("sb_kill"), "1");
  EXPECT_EQ(exists("sb_kill_gate_standby"), "1");
  auto again = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_THAT(again.all(), HasSubstr("cut short before the renames"));
  EXPECT_EQ(orders("sb_kill"), before);

  // A new standby of the restored data, then a kill just after the renames.
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  PgServer::get().psql("sb_kill", "DELETE FROM orders WHERE id > 5");
  gate = start_gate_at_fault({"rollback", "--last", "--yes"}, t.path(), "standby.after-swap");
  ::kill(gate->pid(), SIGKILL);
  (void)gate->wait();
  auto repaired = run_gate({"run"}, t.path());
  ASSERT_EQ(repaired.exit_code, 0) << repaired.all();
  EXPECT_THAT(repaired.all(), HasSubstr("it is finished"));
  EXPECT_EQ(orders("sb_kill"), before);
  EXPECT_EQ(PgServer::get().value("postgres",
                                  "SELECT datallowconn FROM pg_database WHERE datname = 'sb_kill'"),
            "t");
}

TEST(Standby, ATamperedOrDroppedStandbyIsNotTrustedAndTheRestorePathRuns) {
  auto &pg = PgServer::get();
  TempDir t;
  fresh_database("sb_tamper", 100);
  standby_pipeline(t, "sb_tamper");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string before = orders("sb_tamper");
  pg.psql("sb_tamper", "DELETE FROM orders");
  pg.psql("postgres", "ALTER DATABASE sb_tamper_gate_standby ALLOW_CONNECTIONS true");
  pg.psql("sb_tamper_gate_standby", "SELECT 1");
  auto opened = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(opened.out, HasSubstr("standby of database app not used: standby "
                                    "'sb_tamper_gate_standby' was opened to connections"));
  pg.psql("postgres", "ALTER DATABASE sb_tamper_gate_standby ALLOW_CONNECTIONS false");
  auto reclosed = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(reclosed.out, HasSubstr("standby of database app not used"));
  EXPECT_THAT(reclosed.out, AnyOf(HasSubstr("was opened since it was verified"),
                                  HasSubstr("has sessions on it")));
  EXPECT_THAT(reclosed.out, HasSubstr("safety snapshot"));

  pg.psql("postgres", "DROP DATABASE sb_tamper_gate_standby");
  auto dropped = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(dropped.out, HasSubstr("does not exist (dropped or renamed)"));
  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(orders("sb_tamper"), before);
  auto no_standby = run_gate({"rollback", "--last", "--dry-run", "--no-standby"}, t.path());
  EXPECT_THAT(no_standby.out, HasSubstr("--no-standby was given"));
}

TEST(Standby, ARoleWithoutCreatedbIsRefusedBeforeAnyWork) {
  TempDir t;
  std::string url =
      PgServer::get().create_owned_database("sb_nocreate", "sb_plain", "sb-secret-pw", 10);
  standby_pipeline(t, "sb_nocreate", url);
  auto r = run_gate({"run"}, t.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.all(), HasSubstr("standby: true restores the verified dump into a standby"));
  EXPECT_THAT(r.all(), HasSubstr("hint: ALTER ROLE \"sb_plain\" CREATEDB"));
  EXPECT_THAT(r.all(), Not(HasSubstr("sb-secret-pw")));
  EXPECT_EQ(exists("sb_nocreate_gate_standby"), "0");
}

TEST(Standby, ATemplateDatabaseGetsNoStandbyAndThePlanSaysWhy) {
  auto &pg = PgServer::get();
  TempDir t;
  fresh_database("sb_template", 20);
  pg.psql("postgres", "ALTER DATABASE sb_template IS_TEMPLATE true");
  standby_pipeline(t, "sb_template");
  auto run = run_gate({"run"}, t.path());
  pg.psql("postgres", "ALTER DATABASE sb_template IS_TEMPLATE false");
  ASSERT_EQ(run.exit_code, 0) << run.all();
  EXPECT_THAT(run.all(), HasSubstr("no standby is built: it is a template database"));
  EXPECT_EQ(exists("sb_template_gate_standby"), "0");
  auto dry = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(dry.out, HasSubstr("the standby was refused: it is a template database"));
}

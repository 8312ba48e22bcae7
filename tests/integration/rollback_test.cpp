// Rollback against a real database and real directories: everything comes
// back as it was, dry runs change nothing, archives cannot escape, failed
// migrations roll back, a killed restore leaves the target wholly old, and
// the safety snapshot undoes a rollback.
#include "integration/harness.hpp"
#include "util/fd.hpp"
#include "util/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::string pipeline(const std::string &db, const std::string &extra = "") {
  return "databases:\n  - name: app\n    url: " + PgServer::get().url(db) +
         "\n    formats: [custom, sql]\nvolumes:\n  - name: files\n    path: ./files\n" + extra;
}

// The same pipeline with mode: clean for its database.
std::string clean_mode(std::string pipeline) {
  std::string formats = "\n    formats: [custom, sql]";
  return pipeline.replace(pipeline.find(formats), formats.size(), formats + "\n    mode: clean");
}

std::string table_state(const std::string &db) {
  bool invoices =
      PgServer::get().value(db, "SELECT to_regclass('billing.invoices') IS NOT NULL") == "t";
  return PgServer::get().value(
             db, "SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY table_schema, "
                 "table_name) FROM "
                 "information_schema.tables WHERE table_schema IN ('public', 'billing')") +
         " " +
         PgServer::get().value(
             db,
             "SELECT (SELECT count(*) FROM customers) || '/' || (SELECT count(*) FROM orders) || "
             "'/' || " +
                 std::string(invoices ? "(SELECT count(*) FROM billing.invoices)" : "'-'"));
}

std::string tree_state(const fs::path &dir) {
  return sh("cd '" + dir.string() +
            "' && find . -printf '%m %y %s %l %p\\n' | sort && find . -type f -exec sha256sum {} + "
            "| sort")
      .out;
}

void damage(const std::string &db, const fs::path &files) {
  auto &pg = PgServer::get();
  pg.psql(db, "DELETE FROM orders WHERE id % 3 = 0");
  pg.psql(db, "DROP TABLE billing.invoices");
  pg.psql(db, "CREATE TABLE added_later (id int); INSERT INTO added_later VALUES (1)");
  // A view on a table the backup holds: it would block that table's DROP.
  pg.psql(db, "CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 10");
  fs::remove(files / "docs" / "file3.txt");
  write_file(files / "docs" / "added.txt", "new\n");
  fs::permissions(files / "run.sh", fs::perms::owner_read);
  fs::remove_all(files / "empty-dir");
}

// A fresh database `db` with the sample tables (`rows` customers) and a
// sample tree of `files` files in t/files: what most tests back up first.
void sample_database_and_files(const TempDir &t, const std::string &db, int rows, int files) {
  PgServer::get().create_database(db);
  fill_sample_database(db, rows);
  make_sample_tree(t / "files", files);
}

} // namespace

TEST(Rollback, PutsEveryRowAndFileBackAndTheSafetySnapshotUndoesIt) {
  auto &pg = PgServer::get();
  TempDir t;
  sample_database_and_files(t, "rb_full", 800, 40);
  write_pipeline(t.path(), clean_mode(pipeline("rb_full")));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string tables_before = table_state("rb_full");
  std::string files_before = tree_state(t / "files");
  damage("rb_full", t / "files");
  std::string tables_damaged = table_state("rb_full");
  std::string files_damaged = tree_state(t / "files");
  ASSERT_NE(tables_damaged, tables_before);

  auto dry = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_THAT(dry.out, HasSubstr("replace database app"));
  EXPECT_THAT(dry.out,
              HasSubstr("will be dropped from app: public.added_later, public.big_orders (view)"));
  EXPECT_EQ(table_state("rb_full"), tables_damaged);
  EXPECT_EQ(tree_state(t / "files"), files_damaged);

  auto refused = run_gate({"rollback", "--last"}, t.path()); // no terminal, no --yes
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.all(), HasSubstr("re-run with --yes"));
  EXPECT_EQ(table_state("rb_full"), tables_damaged);

  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(table_state("rb_full"), tables_before);
  EXPECT_EQ(pg.value("rb_full", "SELECT count(*) FROM pg_views WHERE viewname = 'big_orders'"),
            "0");
  EXPECT_EQ(tree_state(t / "files"), files_before);
  EXPECT_EQ(sh("ls -a | grep -c gate-staging || true", t.path()).out, "0\n");
  // Connections are allowed again.
  EXPECT_EQ(pg.value("postgres", "SELECT datconnlimit FROM pg_database WHERE datname = 'rb_full'"),
            "-1");

  // The safety snapshot holds the damaged state: rolling back to it undoes the rollback.
  std::string safety = sh("ls backups | grep pre-rollback-", t.path()).out;
  ASSERT_FALSE(safety.empty());
  safety.pop_back();
  auto undo = run_gate({"rollback", safety, "--yes", "--no-safety-backup"}, t.path());
  ASSERT_EQ(undo.exit_code, 0) << undo.all();
  EXPECT_EQ(table_state("rb_full"), tables_damaged);
  EXPECT_EQ(tree_state(t / "files"), files_damaged);
}

TEST(Rollback, RecreateModeAndOnlyAndTargetOptions) {
  auto &pg = PgServer::get();
  TempDir t;
  sample_database_and_files(t, "rb_recreate", 300, 5);
  write_pipeline(t.path(), "databases:\n  - {name: app, url: '" + pg.url("rb_recreate") +
                               "', mode: recreate}\nvolumes:\n  - {name: files, path: ./files}\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string before = table_state("rb_recreate");
  std::string files_before = tree_state(t / "files");
  damage("rb_recreate", t / "files");
  std::string files_damaged = tree_state(t / "files");
  auto r = run_gate({"rollback", "--last", "--yes", "--only", "db"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(table_state("rb_recreate"), before);
  EXPECT_EQ(tree_state(t / "files"), files_damaged); // --only db left the files alone
  auto elsewhere = run_gate({"rollback", "--last", "--yes", "--only", "volumes", "--target",
                             "files=" + (t / "check").string()},
                            t.path());
  ASSERT_EQ(elsewhere.exit_code, 0) << elsewhere.all();
  EXPECT_EQ(tree_state(t / "check"), files_before);
  EXPECT_EQ(tree_state(t / "files"), files_damaged);
}

TEST(Rollback, ArchivesCannotWriteOutsideTheTarget) {
  TempDir t;
  make_sample_tree(t / "files", 3);
  write_pipeline(t.path(), "volumes:\n  - {name: files, path: ./files}\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string id = newest_set(t / "backups");
  fs::path set = t / "backups" / id;
  std::string files_before = tree_state(t / "files");
  const char *attacks[] = {
      // ../ climbing out
      "ti = tarfile.TarInfo('../escaped.txt'); ti.size = 4; tf.addfile(ti, io.BytesIO(b'evil'))",
      // an absolute path
      "ti = tarfile.TarInfo(OUTSIDE + '/absolute.txt'); ti.size = 4; tf.addfile(ti, "
      "io.BytesIO(b'evil'))",
      // a symlink to outside, then a file written through it
      "ti = tarfile.TarInfo('link'); ti.type = tarfile.SYMTYPE; ti.linkname = OUTSIDE; "
      "tf.addfile(ti)\n"
      "ti = tarfile.TarInfo('link/through.txt'); ti.size = 4; tf.addfile(ti, io.BytesIO(b'evil'))",
  };
  fs::create_directories(t / "outside");
  for (const char *attack : attacks) {
    std::string script =
        std::string(
            "import tarfile, io, sys\nOUTSIDE = sys.argv[1]\n"
            "tf = tarfile.open(sys.argv[2], 'w', format=tarfile.PAX_FORMAT)\n"
            "ti = tarfile.TarInfo('.'); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; "
            "tf.addfile(ti)\n"
            "ti = tarfile.TarInfo('ok.txt'); ti.size = 2; tf.addfile(ti, io.BytesIO(b'ok'))\n") +
        attack + "\ntf.close()\n";
    write_file(t / "attack.py", script);
    // Replace the archive and make the manifest and checksums agree, so only
    // the extraction itself can stop it.
    auto made = sh("python3 attack.py '" + (t / "outside").string() +
                       "' evil.tar && zstd -q -f evil.tar -o evil.tar.zst && "
                       "cp evil.tar.zst '" +
                       (set / "volumes/files.tar.zst").string() + "'",
                   t.path());
    ASSERT_EQ(made.exit_code, 0) << made.all();
    auto m = nlohmann::json::parse(read_file(set / "manifest.json"));
    auto &a = m["artifacts"][0];
    std::string sha = sh("sha256sum volumes/files.tar.zst | cut -d' ' -f1", set).out;
    sha.pop_back();
    a["files"][0]["sha256"] = sha;
    a["files"][0]["bytes"] = fs::file_size(set / "volumes/files.tar.zst");
    a["details"]["entries"] = std::stoi(sh("tar -tf evil.tar | wc -l", t.path()).out);
    a["details"]["content_bytes"] =
        std::stoi(sh("python3 -c \"import tarfile; print(sum(m.size for m in "
                     "tarfile.open('evil.tar') if m.isfile()))\"",
                     t.path())
                      .out);
    a["details"]["min_size"] = 0;
    write_file(set / "manifest.json", m.dump(2));
    write_file(set / "checksums.sha256", sha + "  volumes/files.tar.zst\n");
    auto r = run_gate({"rollback", id, "--yes", "--no-safety-backup"}, t.path());
    EXPECT_EQ(r.exit_code, 4) << attack << "\n" << r.all();
    EXPECT_THAT(r.all(), HasSubstr("unchanged"));
    EXPECT_TRUE(fs::is_empty(t / "outside")) << attack;
    EXPECT_FALSE(fs::exists(t / "escaped.txt")) << attack;
    EXPECT_FALSE(fs::exists(t / "backups" / "escaped.txt")) << attack;
    EXPECT_EQ(tree_state(t / "files"), files_before) << attack;
  }
}

TEST(Rollback, AFailedMigrationIsRolledBackAndTheRecordKept) {
  auto &pg = PgServer::get();
  TempDir t;
  sample_database_and_files(t, "rb_migrate", 400, 3);
  std::string before = table_state("rb_migrate");
  std::string psql = pg.bindir() + "/psql -X -q -h 127.0.0.1 -p " + std::to_string(pg.port()) +
                     " -U gate -d rb_migrate";
  write_pipeline(
      t.path(),
      pipeline("rb_migrate",
               "stages:\n  - name: backup\n    parallel: true\n"
               "    steps: [{backup: app}, {backup: files}]\n"
               "  - name: verify\n    steps: [{verify: all}]\n"
               "  - name: migrate\n    steps:\n      - exec: [\"sh\", \"-c\", \"" +
                   psql +
                   " -c 'DELETE FROM orders' && rm files/blob.bin && "
                   "{ sleep 600 >/dev/null 2>&1 & echo $! > worker.pid; } && "
                   "echo 'migration 42: column widgets.size does not exist' >&2 && exit 3\"]\n"
                   "        env: {PGPASSWORD: \"" +
                   pg.password() +
                   "\"}\n"
                   "        on_failure: rollback\n"));
  std::string files_before = tree_state(t / "files");
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.out, HasSubstr("exited 3; its last error output:\n    migration 42: column "
                               "widgets.size does not exist"));
  EXPECT_THAT(r.out, HasSubstr("data rolled back"));
  // The worker it left in the background was ended with it (before the rollback).
  std::string worker = read_file(t / "worker.pid");
  ASSERT_FALSE(worker.empty());
  std::string state = sh("awk '{print $3}' /proc/" + worker.substr(0, worker.size() - 1) +
                         "/stat 2>/dev/null || true")
                          .out;
  EXPECT_TRUE(state.empty() || state == "Z\n") << "the migration's worker still runs: " << state;
  EXPECT_EQ(table_state("rb_migrate"), before);
  EXPECT_EQ(tree_state(t / "files"), files_before);
  auto record = nlohmann::json::parse(read_file(t / ".last-deployment-backup"));
  EXPECT_TRUE(record["id"].get<std::string>().rfind("pre-deployment-", 0) == 0);
  EXPECT_TRUE(fs::exists(t / "backups" / record["id"].get<std::string>()));
}

TEST(Rollback, AnInterruptedMigrationIsRolledBack) {
  auto &pg = PgServer::get();
  TempDir t;
  sample_database_and_files(t, "rb_sigint", 400, 3);
  ASSERT_EQ(::mkfifo((t / "ready").c_str(), 0600), 0);
  std::string before = table_state("rb_sigint");
  std::string files_before = tree_state(t / "files");
  std::string psql = pg.bindir() + "/psql -X -q -h 127.0.0.1 -p " + std::to_string(pg.port()) +
                     " -U gate -d rb_sigint";
  write_pipeline(
      t.path(),
      pipeline("rb_sigint", "stages:\n  - name: backup\n    steps: [{backup: all}, {verify: all}]\n"
                            "  - name: migrate\n    steps:\n      - exec: [\"sh\", \"-c\", \"" +
                                psql +
                                " -c 'DELETE FROM customers CASCADE' -c 'TRUNCATE orders, "
                                "customers' && rm -r files/docs && "
                                "echo go > ready && exec sleep 600\"]\n"
                                "        env: {PGPASSWORD: \"" +
                                pg.password() +
                                "\"}\n"
                                "        on_failure: rollback\n"));
  auto run = start_gate({"run"}, t.path());
  EXPECT_EQ(read_file(t / "ready"), "go\n"); // the migration has destroyed the data
  ::kill(run->pid(), SIGINT);
  auto done = finish_gate(*run);
  EXPECT_EQ(done.exit_code, 1) << done.out << done.err;
  EXPECT_THAT(done.out, HasSubstr("interrupted"));
  EXPECT_EQ(table_state("rb_sigint"), before);
  EXPECT_EQ(tree_state(t / "files"), files_before);
}

TEST(Rollback, KillingARestoreLeavesTheTargetWhollyOldAndASecondRollbackWorks) {
  TempDir t;
  make_sample_tree(t / "files", 10);
  ASSERT_EQ(sh("head -c 60000000 /dev/urandom > files/large.bin", t.path()).exit_code, 0);
  write_pipeline(t.path(), "volumes:\n  - {name: files, path: ./files}\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string original = tree_state(t / "files");

  fs::remove(t / "files" / "large.bin");
  write_file(t / "files" / "after.txt", "after\n");
  std::string damaged = tree_state(t / "files");
  gate::util::UniqueFd fd(inotify_init1(IN_CLOEXEC));
  ASSERT_GE(inotify_add_watch(fd.get(), t.path().c_str(), IN_CREATE), 0);
  auto run = start_gate({"rollback", "--last", "--yes", "--no-safety-backup"}, t.path());
  alignas(inotify_event) char buf[4096];
  bool staging = false;
  while (!staging) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    ASSERT_GT(n, 0);
    for (char *p = buf; p < buf + n;) {
      auto *ev = reinterpret_cast<inotify_event *>(p);
      if (ev->len && std::string(ev->name).find("gate-staging") != std::string::npos)
        staging = true;
      p += sizeof(inotify_event) + ev->len;
    }
  }
  ::kill(run->pid(), SIGKILL);
  (void)run->wait();
  EXPECT_EQ(tree_state(t / "files"), damaged); // wholly old
  auto again = run_gate({"rollback", "--last", "--yes", "--no-safety-backup"}, t.path());
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_EQ(tree_state(t / "files"), original);
  EXPECT_EQ(sh("ls -a | grep -c gate-staging || true", t.path()).out, "0\n");
}

TEST(Rollback, AMigrationThatTimesOutIsStoppedAndRolledBack) {
  auto &pg = PgServer::get();
  TempDir t;
  sample_database_and_files(t, "rb_timeout", 100, 3);
  std::string before = table_state("rb_timeout");
  std::string psql = pg.bindir() + "/psql -X -q -h 127.0.0.1 -p " + std::to_string(pg.port()) +
                     " -U gate -d rb_timeout";
  write_pipeline(t.path(),
                 pipeline("rb_timeout",
                          "stages:\n  - name: backup\n    steps: [{backup: all}, {verify: all}]\n"
                          "  - name: migrate\n    steps:\n      - exec: [\"sh\", \"-c\", \"" +
                              psql +
                              " -c 'DELETE FROM orders' && exec sleep 600\"]\n"
                              "        env: {PGPASSWORD: \"" +
                              pg.password() +
                              "\"}\n"
                              "        timeout: 2s\n        on_failure: rollback\n"));
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.out, HasSubstr("timed out after 2.0 s"));
  EXPECT_THAT(r.out, HasSubstr("data rolled back"));
  EXPECT_EQ(table_state("rb_timeout"), before);
}

TEST(Rollback, OtherSessionsAreEndedAndNewOnesWelcomeAfterwards) {
  auto &pg = PgServer::get();
  TempDir t;
  sample_database_and_files(t, "rb_sessions", 100, 2);
  write_pipeline(t.path(), pipeline("rb_sessions"));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  pg.psql("rb_sessions", "DELETE FROM orders");
  // An application session, idle in the database, holding a lock on orders.
  auto session = pg.open_session("rb_sessions");
  ASSERT_TRUE(
      session_send(*session, "BEGIN; LOCK TABLE orders IN ACCESS SHARE MODE; SELECT 'holding';\n"));
  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(pg.value("rb_sessions", "SELECT count(*) FROM orders"), "200");
  // The session was ended (its next statement fails), and new connections work again.
  std::string next = "SELECT 1;\n";
  (void)::write(session->stdin_fd(), next.data(), next.size());
  session->close_stdin();
  auto status = session->wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_NE(status->code, 0);
  EXPECT_EQ(pg.value("rb_sessions",
                     "SELECT datconnlimit FROM pg_database WHERE datname = current_database()"),
            "-1");
}

// Seed 004: when the custom dump cannot be restored, the plain SQL dump of the
// same set is used. The custom dump here is cut in half and re-hashed, so the
// set's checksums still pass and only pg_restore can tell.
TEST(Rollback, AnUnrestorableCustomDumpFallsBackToTheSqlDump) {
  auto &pg = PgServer::get();
  TempDir t;
  sample_database_and_files(t, "rb_fallback", 400, 2);
  write_pipeline(t.path(), pipeline("rb_fallback"));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string before = table_state("rb_fallback");
  fs::path set = t / "backups" / newest_set(t / "backups");
  auto manifest = nlohmann::json::parse(read_file(set / "manifest.json"));
  std::string dump;
  for (const auto &a : manifest["artifacts"])
    if (a["format"] == "custom") dump = a["path"];
  ASSERT_EQ(dump, "databases/app.dump.zst");
  auto cut = sh("zstd -dc " + dump +
                    " > half && truncate -s $(( $(stat -c %s half) / 2 )) half && "
                    "zstd -q -f --rm half -o " +
                    dump + " && sha256sum " + dump + " | cut -d' ' -f1 && stat -c %s " + dump,
                set);
  ASSERT_EQ(cut.exit_code, 0) << cut.all();
  std::string sha = cut.out.substr(0, 64);
  uint64_t bytes = std::stoull(cut.out.substr(65));
  for (auto &a : manifest["artifacts"])
    if (a["path"] == dump) {
      a["files"][0]["sha256"] = sha;
      a["files"][0]["bytes"] = bytes;
    }
  write_file(set / "manifest.json", manifest.dump(2));
  ASSERT_EQ(sh("sed -i 's|^[0-9a-f]*  " + dump + "$|" + sha + "  " + dump +
                   "|' checksums.sha256 && sha256sum -c --quiet checksums.sha256",
               set)
                .exit_code,
            0);

  pg.psql("rb_fallback", "DELETE FROM orders; DROP TABLE billing.invoices");
  auto r = run_gate({"rollback", "--last", "--yes", "--only", "db"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("restoring databases/app.dump.zst failed"));
  EXPECT_THAT(r.out, HasSubstr("fell back to databases/app.sql.zst"));
  EXPECT_EQ(table_state("rb_fallback"), before);
}

namespace {

std::string xattr_of(const fs::path &file, const char *name) {
  char value[256];
  ssize_t n = ::getxattr(file.c_str(), name, value, sizeof value);
  return n < 0 ? "(none)" : std::string(value, static_cast<size_t>(n));
}

std::string acl_of(const fs::path &file) {
  return sh("getfacl -c -p '" + file.string() + "' | sort").out;
}

} // namespace

// Extended attributes and POSIX ACLs travel with the files: through gate's own
// restore (elsewhere and in place) and through plain GNU tar as RESTORE.md says.
TEST(Rollback, XattrsAndAclsSurviveTheBackupTheRestoreAndPlainTar) {
  TempDir t;
  make_sample_tree(t / "files", 2);
  fs::path tagged = t / "files" / "tagged.txt";
  write_file(tagged, "labelled\n");
  std::string origin = "seed-000";
  ASSERT_EQ(::setxattr(tagged.c_str(), "user.gate.origin", origin.data(), origin.size(), 0), 0)
      << std::strerror(errno);
  ASSERT_EQ(sh("setfacl -m u:nobody:rw,g:nogroup:r '" + tagged.string() +
               "' && setfacl -d -m u:nobody:rx '" + (t / "files" / "docs").string() + "'")
                .exit_code,
            0);
  std::string file_acl = acl_of(tagged);
  std::string dir_acl = acl_of(t / "files" / "docs");
  ASSERT_THAT(file_acl, HasSubstr("user:nobody:rw-"));
  ASSERT_THAT(dir_acl, HasSubstr("default:user:nobody:r-x"));
  write_pipeline(t.path(), "volumes:\n  - name: files\n    path: ./files\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);

  auto elsewhere =
      run_gate({"rollback", "--last", "--yes", "--target", "files=./elsewhere"}, t.path());
  ASSERT_EQ(elsewhere.exit_code, 0) << elsewhere.all();
  EXPECT_EQ(xattr_of(t / "elsewhere" / "tagged.txt", "user.gate.origin"), origin);
  EXPECT_EQ(acl_of(t / "elsewhere" / "tagged.txt"), file_acl);
  EXPECT_EQ(acl_of(t / "elsewhere" / "docs"), dir_acl);

  fs::path archive = t / "backups" / newest_set(t / "backups") / "volumes" / "files.tar.zst";
  fs::create_directory(t / "plain");
  auto tar =
      sh("tar --zstd -xpf '" + archive.string() + "' --xattrs --xattrs-include='*' --acls -C plain",
         t.path());
  ASSERT_EQ(tar.exit_code, 0) << tar.all();
  EXPECT_EQ(xattr_of(t / "plain" / "tagged.txt", "user.gate.origin"), origin);
  EXPECT_EQ(acl_of(t / "plain" / "tagged.txt"), file_acl);

  ASSERT_EQ(::removexattr(tagged.c_str(), "user.gate.origin"), 0);
  ASSERT_EQ(sh("setfacl -b '" + tagged.string() + "'").exit_code, 0);
  auto in_place = run_gate({"rollback", "--last", "--yes", "--no-safety-backup"}, t.path());
  ASSERT_EQ(in_place.exit_code, 0) << in_place.all();
  EXPECT_EQ(xattr_of(tagged, "user.gate.origin"), origin);
  EXPECT_EQ(acl_of(tagged), file_acl);
}

// The worst case at 3 a.m.: the database itself is gone. There is nothing to
// snapshot; gate creates it (clean mode) or restores into a new one (recreate).
TEST(Rollback, ADroppedDatabaseIsCreatedAgainAndRestored) {
  auto &pg = PgServer::get();
  for (const char *mode : {"clean", "recreate"}) {
    std::string db = std::string("rb_dropped_") + mode;
    TempDir t;
    sample_database_and_files(t, db, 300, 2);
    write_pipeline(t.path(), "databases:\n  - {name: app, url: '" + pg.url(db) + "', mode: " +
                                 mode + "}\nvolumes:\n  - {name: files, path: ./files}\n");
    ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
    std::string before = table_state(db);
    pg.psql("postgres", "DROP DATABASE " + db + " WITH (FORCE)");
    auto dry = run_gate({"rollback", "--last", "--dry-run"}, t.path());
    EXPECT_EQ(dry.exit_code, 0) << dry.all();
    EXPECT_THAT(
        dry.out,
        HasSubstr("database app does not exist (dropped?): it will be created empty and restored"));
    EXPECT_EQ(pg.value("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + db + "'"),
              "0");
    auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
    ASSERT_EQ(r.exit_code, 0) << mode << "\n" << r.all();
    EXPECT_EQ(table_state(db), before) << mode;
  }
}

// Without CREATEDB the dropped database cannot come back: the rollback stops
// before changing anything and says what to do.
TEST(Rollback, ADroppedDatabaseWithoutCreatedbIsRefusedClearly) {
  auto &pg = PgServer::get();
  std::string url = pg.create_owned_database("rb_nocreate", "rb_owner", "RbOwner-123", 300);
  TempDir t;
  make_sample_tree(t / "files", 2);
  write_pipeline(t.path(), "databases:\n  - {name: app, url: '" + url +
                               "', min_size: 0, mode: clean}\n"
                               "volumes:\n  - {name: files, path: ./files}\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  pg.psql("postgres", "DROP DATABASE rb_nocreate WITH (FORCE)");
  write_file(t / "files" / "changed.txt", "after the backup\n");
  std::string files = tree_state(t / "files");
  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.out, HasSubstr("database 'rb_nocreate' does not exist and could not be created"));
  EXPECT_THAT(r.out, HasSubstr("nothing was changed"));
  EXPECT_THAT(r.all(), Not(HasSubstr("RbOwner-123")));
  EXPECT_EQ(tree_state(t / "files"), files);
  EXPECT_EQ(sh("ls backups | grep -c pre-rollback- || true", t.path()).out, "0\n");
}

TEST(Rollback, ExcludedPathsSurviveARollbackAndTheDryRunSaysSo) {
  auto &pg = PgServer::get();
  TempDir t;
  sample_database_and_files(t, "rb_excl", 50, 10);
  write_file(t / "files" / "cache" / "old.bin", "cached before\n");
  write_pipeline(t.path(), pipeline("rb_excl") + "    exclude: [\"cache/**\"]\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  write_file(t / "files" / "cache" / "new.bin", "cached after\n");
  fs::create_directories(t / "files" / "cache" / "deep");
  write_file(t / "files" / "cache" / "deep" / "x", "x\n");
  fs::remove(t / "files" / "docs" / "file3.txt");
  auto plan = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  ASSERT_EQ(plan.exit_code, 0) << plan.all();
  EXPECT_THAT(
      plan.out,
      HasSubstr("kept as they are (the set does not hold them): 1 path(s) matching cache/**"));
  auto r = run_gate({"rollback", "--last", "--yes", "--only", "volumes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_TRUE(fs::exists(t / "files" / "docs" / "file3.txt"));
  EXPECT_EQ(read_file(t / "files" / "cache" / "old.bin"), "cached before\n");
  EXPECT_EQ(read_file(t / "files" / "cache" / "new.bin"), "cached after\n");
  EXPECT_EQ(read_file(t / "files" / "cache" / "deep" / "x"), "x\n");
  EXPECT_FALSE(fs::exists(t / ".files.gate-staging.carried"));
  (void)pg;
}

TEST(Rollback, ExcludedPathsCarriedByADeadRestoreAreGivenBack) {
  TempDir t;
  sample_database_and_files(t, "rb_excl_dead", 20, 5);
  write_pipeline(t.path(), pipeline("rb_excl_dead") + "    exclude: [\"cache/**\"]\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  // What a gate killed between carrying the excluded paths and the swap leaves behind.
  fs::create_directories(t / ".files.gate-staging" / "cache");
  write_file(t / ".files.gate-staging" / "cache" / "precious", "keep me\n");
  write_file(t / ".files.gate-staging.carried", std::string("cache/precious") + '\0');
  fs::create_directories(t / "files" / "cache");
  auto r = run_gate({"rollback", "--last", "--yes", "--only", "volumes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr("put back 1 excluded path(s)"));
  EXPECT_EQ(read_file(t / "files" / "cache" / "precious"), "keep me\n");
  EXPECT_FALSE(fs::exists(t / ".files.gate-staging"));
  EXPECT_FALSE(fs::exists(t / ".files.gate-staging.carried"));
}

TEST(Rollback, AChangedChecksumsFileFailsEveryVerifyAndTheRefusedSetIsMarkedFailed) {
  TempDir t;
  sample_database_and_files(t, "rb_sums", 30, 5);
  write_pipeline(t.path(), pipeline("rb_sums"));
  // One changed line in what `sha256sum -c checksums.sha256`, the documented first step, reads.
  auto tampered_set = [&] {
    EXPECT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
    std::string id = newest_set(t / "backups");
    // The first hex digit becomes another one, whatever it was ('0' -> '1', else '0').
    EXPECT_EQ(sh("sed -i '1{s/^0/1/;t;s/^./0/}' checksums.sha256 && ! sha256sum -c --quiet "
                 "checksums.sha256",
                 t / "backups" / id)
                  .exit_code,
              0);
    return id;
  };
  for (const char *level : {"--quick", "--deep"}) {
    std::string id = tampered_set();
    auto v = run_gate({"verify", id, level}, t.path());
    EXPECT_EQ(v.exit_code, 1) << level << v.all();
    EXPECT_THAT(v.all(), HasSubstr("checksums.sha256 line 1 says")) << level;
  }
  std::string id = tampered_set();
  auto r = run_gate({"rollback", id, "--yes"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("checksums.sha256 line 1 says"));
  EXPECT_THAT(r.all(), HasSubstr("nothing was changed"));
  EXPECT_FALSE(fs::exists(t / "backups" / id));
  EXPECT_TRUE(fs::exists(t / "backups" / (".failed-" + id)));
  auto list = run_gate({"list", "--json"}, t.path());
  EXPECT_THAT(list.out, Not(HasSubstr("\"" + id + "\"")));
}

TEST(Rollback, AnInterruptAfterTheSetWasRecordedSaysSo) {
  TempDir t;
  sample_database_and_files(t, "rb_int_rec", 20, 3);
  ASSERT_EQ(::mkfifo((t / "ready").c_str(), 0600), 0);
  write_pipeline(t.path(),
                 pipeline("rb_int_rec",
                          "stages:\n  - name: backup\n    steps: [{backup: all}, {verify: all}]\n"
                          "  - name: migrate\n    steps:\n      - exec: [\"sh\", \"-c\", "
                          "\"echo go > ready && exec sleep 600\"]\n"));
  auto run = start_gate({"run"}, t.path());
  EXPECT_EQ(read_file(t / "ready"), "go\n");
  ::kill(run->pid(), SIGINT);
  auto done = finish_gate(*run);
  EXPECT_EQ(done.exit_code, 130) << done.out << done.err;
  std::string id = newest_set(t / "backups");
  ASSERT_FALSE(id.empty());
  EXPECT_THAT(done.out, HasSubstr("INTERRUPTED in stage 'migrate': set " + id +
                                  " had been verified and sealed and "));
  EXPECT_THAT(done.out, HasSubstr(".last-deployment-backup points at it"));
  EXPECT_THAT(done.out, Not(HasSubstr("partial backup removed")));
  EXPECT_THAT(read_file(t / ".last-deployment-backup"), HasSubstr(id));
}

TEST(Rollback, TheDryRunSaysWhatChangesPerTargetAndPredictsOnlyFromMeasurements) {
  TempDir t;
  sample_database_and_files(t, "rb_plan", 100, 6);
  write_pipeline(t.path(), clean_mode(pipeline("rb_plan"))); // the drop list is clean mode's
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  damage("rb_plan", t / "files");
  auto plan = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  ASSERT_EQ(plan.exit_code, 0) << plan.all();
  EXPECT_THAT(plan.out,
              HasSubstr("tables dropped since the backup will be created again: billing.invoices"));
  EXPECT_THAT(plan.out, HasSubstr("table(s) get their rows from the set"));
  EXPECT_THAT(plan.out, HasSubstr("will be dropped from app: public.added_later"));
  EXPECT_THAT(plan.out, HasSubstr("entries now are replaced by the set's"));
  EXPECT_THAT(plan.out, HasSubstr("time cannot be predicted: no deep verify measured it"));
  EXPECT_THAT(plan.out, HasSubstr("(as long as its backup took: it reads and writes as much)"));
  EXPECT_THAT(plan.out, HasSubstr("predicted rollback time: at least"));
  EXPECT_THAT(plan.out, Not(HasSubstr("200 MB/s")));
  // A deep verify measures the database's restore: the prediction is then whole.
  ASSERT_EQ(run_gate({"verify", "--last", "--deep"}, t.path()).exit_code, 0);
  auto measured = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_THAT(measured.out, HasSubstr("(measured by deep verify)"));
  EXPECT_THAT(measured.out, HasSubstr("predicted rollback time: about"));
}

// A dropped database comes back with its recorded encoding and locale in
// clean mode too, not with the server's defaults.
TEST(Rollback, ADroppedDatabaseComesBackWithItsEncodingAndLocale) {
  auto &pg = PgServer::get();
  pg.psql("postgres", "DROP DATABASE IF EXISTS rb_latin1 WITH (FORCE)");
  pg.psql("postgres",
          "CREATE DATABASE rb_latin1 TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' "
          "LC_CTYPE 'C'");
  pg.psql("rb_latin1", "CREATE TABLE t AS SELECT generate_series(1, 50) AS id");
  TempDir t;
  write_pipeline(t.path(), "databases:\n  - {name: app, url: '" + pg.url("rb_latin1") +
                               "', mode: clean, min_size: 0}\n");
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  pg.psql("postgres", "DROP DATABASE rb_latin1 WITH (FORCE)");
  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(pg.value("postgres", "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate FROM "
                                 "pg_database WHERE datname = 'rb_latin1'"),
            "LATIN1 C");
  EXPECT_EQ(pg.value("rb_latin1", "SELECT count(*) FROM t"), "50");
}

#include "steps/postgres/backup.hpp"

#include "steps/postgres/database_properties.hpp"
#include "steps/postgres/facts.hpp"
#include "steps/postgres/restore.hpp"
#include "steps/postgres/standby.hpp"
#include "steps/postgres/target.hpp"
#include "steps/postgres/verify.hpp"
#include "steps/read_back.hpp"
#include "util/command_stream.hpp"
#include "util/fault.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/sha256.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <fmt/format.h>
#include <map>
#include <set>
#include <thread>

namespace gate::steps {

namespace fs = std::filesystem;
using config::Compression;
using config::DumpFormat;

namespace {

util::Codec codec_of(Compression c) {
  return c == Compression::gzip   ? util::Codec::gzip
         : c == Compression::none ? util::Codec::none
                                  : util::Codec::zstd;
}

std::string decompress_prefix(const std::string &file, Compression c) {
  if (c == Compression::zstd) return fmt::format("zstd -dc '{}' | ", file);
  if (c == Compression::gzip) return fmt::format("gzip -dc '{}' | ", file);
  return fmt::format("cat '{}' | ", file);
}

// A file name for a table's CSV export: only safe characters, unique.
std::string csv_file_name(const TableFacts &t, std::set<std::string> &used) {
  std::string base;
  for (char c : t.schema + "." + t.name)
    base.push_back(
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ? c : '_');
  std::string name = base;
  for (int n = 2; used.count(name); ++n)
    name = base + "-" + std::to_string(n);
  used.insert(name);
  return name;
}

struct DumpContext {
  const PgTarget &pg;
  const PgTools &tools;
  const ChildAuth &auth;
  ExportedSnapshot &snapshot;
  DatabaseFacts facts; // the superuser flag and size at first; tables once counted
  model::SetHandle &set;
  RunContext &ctx;
  std::string step;
  nlohmann::json base_details;
  bool read_back = false; // read custom dumps back while pg_dump writes them
  struct Early {
    util::Result<CustomReadBack> read = CustomReadBack{};
    long long ms = 0;
  };
  std::map<std::string, Early> read_backs; // by artifact path
};

util::ProcessSpec pg_dump_spec(const DumpContext &dc, std::vector<std::string> extra) {
  util::ProcessSpec spec;
  spec.argv = {dc.tools.tool("pg_dump").string(), "--no-password",
               "--dbname=" + dc.pg.conninfo().without_password(), "--snapshot=" + dc.snapshot.id()};
  for (const auto &t : dc.pg.target().tables)
    spec.argv.push_back("--table=" + t);
  for (const auto &t : dc.pg.target().exclude_tables)
    spec.argv.push_back("--exclude-table=" + t);
  spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
  spec.log_prefix = "pg_dump: ";
  dc.auth.apply(spec);
  return spec;
}

model::Artifact new_artifact(const DumpContext &dc, const std::string &format,
                             Compression compression, const std::string &path) {
  model::Artifact a;
  a.target = dc.pg.target().name;
  a.kind = "database";
  a.format = format;
  a.compression = to_string(compression);
  a.path = path;
  a.details = dc.base_details;
  return a;
}

std::function<void(uint64_t)> progress_fn(DumpContext &dc) {
  uint64_t expected =
      static_cast<uint64_t>(dc.facts.database_size); // pg_database_size: a rough total
  return [&dc, expected](uint64_t done) {
    util::fault_point("run.mid-dump");
    if (dc.ctx.progress) dc.ctx.progress(dc.step, done, expected);
  };
}

// custom, sql, schema and globals: one stream from one command into one file.
util::Result<model::Artifact> dump_stream(DumpContext &dc, const std::string &format,
                                          util::ProcessSpec spec, Compression compression,
                                          const std::string &path,
                                          std::vector<std::string> restore) {
  util::CodecOptions codec{codec_of(compression), 0, dc.ctx.compression_threads};
  auto start = std::chrono::steady_clock::now();
  // A custom dump is read back by pg_restore while pg_dump still writes it.
  bool follow = dc.read_back && format == "custom";
  TimedRead<util::Result<CustomReadBack>> early;
  auto written = write_while_reading_back(
      follow,
      [&](util::GrowthSignal *growth) {
        return util::command_to_file(spec, dc.set.dir() / path, codec, progress_fn(dc), growth);
      },
      [&](util::GrowthSignal &growth) {
        return read_back_custom(dc.set.dir() / path, dc.tools, nullptr, &growth);
      },
      early);
  if (follow && written)
    dc.read_backs[path] = DumpContext::Early{std::move(*early.result), early.ms};
  if (!written)
    return std::unexpected(
        written.error().with_context(dc.pg.describe() + ": " + format + " dump"));
  model::Artifact a = new_artifact(dc, format, compression, path);
  a.files.push_back({path, written->bytes, written->sha256});
  a.details["raw_bytes"] = written->raw_bytes;
  a.details["duration_ms"] = util::elapsed_ms(start);
  a.details["restore"] = std::move(restore);
  return a;
}

util::Result<model::Artifact> dump_custom(DumpContext &dc) {
  Compression c = dc.pg.target().compression;
  // PG15's pg_dump only has gzip inside; zstd outside is faster (bench/results.md)
  // and stays restorable with `zstd -dc | pg_restore`.
  bool outside = c == Compression::zstd;
  std::string path = "databases/" + dc.pg.target().name + ".dump" + (outside ? ".zst" : "");
  std::string level = c == Compression::gzip ? "6" : "0";
  auto spec = pg_dump_spec(dc, {"--format=custom", "--compress=" + level});
  std::string file = "{set}/" + path;
  std::string restore_args =
      "--clean --if-exists --single-transaction --exit-on-error --dbname=\"$DATABASE_URL\"";
  std::vector<std::string> restore;
  if (outside)
    restore.push_back(fmt::format("zstd -dc '{}' | pg_restore {}", file, restore_args));
  else
    restore.push_back(fmt::format("pg_restore {} '{}'", restore_args, file));
  return dump_stream(dc, "custom", spec, outside ? c : Compression::none, path, restore);
}

// The plain script comes from pg_dump's archive through pg_restore
// --single-transaction: one BEGIN; ... COMMIT; around all of it, large objects
// included (pg_dump's own plain output commits them in a transaction of their
// own, so psql --single-transaction could not undo a later error).
util::Result<model::Artifact> dump_sql(DumpContext &dc) {
  Compression c = dc.pg.target().compression;
  std::string path = "databases/" + dc.pg.target().name + ".sql" + util::codec_suffix(codec_of(c));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return util::fail("unable to create a pipe: " + util::errno_text(errno));
  util::UniqueFd archive_in(fds[0]), archive_out(fds[1]);
  auto dump = pg_dump_spec(dc, {"--format=custom", "--compress=0"});
  dump.stdout_mode = util::StreamMode::fd;
  dump.stdout_fd = archive_out.get();
  TRY_ASSIGN(auto pg_dump, util::Process::start(dump));
  archive_out.reset(); // pg_restore sees the end of the archive when pg_dump exits
  util::ProcessSpec script;
  // --clean --if-exists: the plain dump can replace an existing database's objects (seed 004's
  // fallback).
  script.argv = {dc.tools.tool("pg_restore").string(), "--clean", "--if-exists",
                 "--single-transaction", "--file=-"};
  script.stdin_mode = util::StreamMode::fd;
  script.stdin_fd = archive_in.get();
  script.log_prefix = "pg_restore: ";
  std::vector<std::string> restore = {decompress_prefix("{set}/" + path, c) +
                                      "psql -v ON_ERROR_STOP=1 --dbname=\"$DATABASE_URL\""};
  auto written = dump_stream(dc, "sql", script, c, path, restore);
  archive_in.reset(); // a pg_restore that stopped early makes pg_dump stop too
  TRY_ASSIGN(auto dumped, pg_dump->wait());
  if (!dumped.ok()) {
    std::error_code ec;
    fs::remove(dc.set.dir() / path, ec);
    return util::fail(dc.pg.describe() + ": sql dump: pg_dump " + dumped.describe() + ": " +
                      pg_dump->stderr_tail() + (written ? "" : "; " + written.error().message));
  }
  if (written)
    written->details["single_transaction"] = true; // the script is one transaction by itself
  return written;
}

util::Result<model::Artifact> dump_schema(DumpContext &dc) {
  std::string path = "databases/" + dc.pg.target().name + ".schema.sql";
  auto spec = pg_dump_spec(dc, {"--format=plain", "--schema-only"});
  std::vector<std::string> restore = {"# reference only: the schema without data",
                                      fmt::format("less '{{set}}/{}'", path)};
  return dump_stream(dc, "schema", spec, Compression::none, path, restore);
}

util::Result<model::Artifact> dump_globals(DumpContext &dc) {
  std::string path = "databases/" + dc.pg.target().name + ".globals.sql";
  util::ProcessSpec spec;
  spec.argv = {dc.tools.tool("pg_dumpall").string(), "--no-password", "--globals-only",
               "--dbname=" + dc.pg.conninfo().without_password()};
  if (!dc.facts.superuser) {
    spec.argv.push_back("--no-role-passwords");
    util::log_warn("{}: role '{}' is not a superuser: roles are dumped without their passwords "
                   "(pg_dumpall --no-role-passwords)",
                   dc.pg.describe(), dc.facts.role);
  }
  spec.log_prefix = "pg_dumpall: ";
  dc.auth.apply(spec);
  std::vector<std::string> restore = {
      "# roles and tablespaces of the whole server: review before applying (existing roles make "
      "some statements fail)",
      fmt::format("psql -v ON_ERROR_STOP=0 --dbname=\"$DATABASE_URL\" -f '{{set}}/{}'", path)};
  TRY_ASSIGN(auto a, dump_stream(dc, "globals", spec, Compression::none, path, restore));
  a.kind = "globals";
  a.details["role_passwords"] = dc.facts.superuser;
  return a;
}

util::Result<model::Artifact> dump_directory(DumpContext &dc) {
  const auto &t = dc.pg.target();
  std::string path = "databases/" + t.name + ".dir";
  // pg_dump -Fd compresses each file itself (gzip only in PG15); level 1 keeps it fast.
  std::string level = t.compression == Compression::none   ? "0"
                      : t.compression == Compression::gzip ? "6"
                                                           : "1";
  auto spec = pg_dump_spec(dc, {"--format=directory", "--jobs=" + std::to_string(t.jobs),
                                "--compress=" + level, "--file=" + (dc.set.dir() / path).string()});
  auto start = std::chrono::steady_clock::now();
  TRY_ASSIGN(auto proc, util::Process::start(spec));
  proc->close_stdout();
  TRY_ASSIGN(auto status, proc->wait());
  if (!status.ok()) {
    (void)util::remove_tree(dc.set.dir() / path);
    return util::fail(dc.pg.describe() + ": directory dump: pg_dump " + status.describe() + ": " +
                      proc->stderr_tail());
  }
  ::chmod((dc.set.dir() / path).c_str(), 0700);
  model::Artifact a = new_artifact(
      dc, "directory", t.compression == Compression::none ? Compression::none : Compression::gzip,
      path);
  std::vector<fs::path> files;
  for (const auto &entry : fs::recursive_directory_iterator(dc.set.dir() / path))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto &f : files) {
    ::chmod(f.c_str(), 0600);
    TRY_ASSIGN(std::string sha, util::sha256_file(f));
    a.files.push_back({fs::relative(f, dc.set.dir()).string(), fs::file_size(f), sha});
  }
  a.details["duration_ms"] = util::elapsed_ms(start);
  a.details["restore"] =
      std::vector<std::string>{fmt::format("pg_restore --clean --if-exists --exit-on-error "
                                           "--jobs={} --dbname=\"$DATABASE_URL\" '{{set}}/{}'",
                                           t.jobs, path)};
  return a;
}

util::Result<model::Artifact> dump_csv(DumpContext &dc) {
  const auto &t = dc.pg.target();
  std::string dir = "databases/" + t.name + ".csv";
  TRY(util::make_dirs(dc.set.dir() / dir, 0700));
  model::Artifact a = new_artifact(dc, "csv", t.compression, dir);
  auto &conn = dc.snapshot.connection();
  std::set<std::string> used;
  nlohmann::json exports = nlohmann::json::array();
  uint64_t done = 0;
  auto start = std::chrono::steady_clock::now();
  util::CodecOptions codec{codec_of(t.compression), 0, dc.ctx.compression_threads};
  std::vector<std::string> restore = {
      "# each table, into an existing (empty) table of the same name:"};
  for (const auto &table : dc.facts.tables) {
    if (table.partitioned) continue; // its partitions are exported one by one
    std::string file =
        dir + "/" + csv_file_name(table, used) + ".csv" + util::codec_suffix(codec.codec);
    TRY_ASSIGN(auto writer, util::CompressedWriter::create(dc.set.dir() / file, codec));
    std::string sql = "COPY " + conn.quote_identifier(table.schema) + "." +
                      conn.quote_identifier(table.name) +
                      " TO STDOUT WITH (FORMAT csv, HEADER true)";
    auto copied = conn.copy_out(sql, [&](const char *data, size_t size) -> util::Result<void> {
      done += size;
      if (dc.ctx.progress)
        dc.ctx.progress(dc.step, done, static_cast<uint64_t>(dc.facts.database_size));
      return writer->write(data, size);
    });
    if (!copied)
      return std::unexpected(
          copied.error().with_context(dc.pg.describe() + ": csv export of " + table.qualified()));
    TRY_ASSIGN(auto written, writer->finish());
    a.files.push_back({file, written.bytes, written.sha256});
    exports.push_back(
        {{"file", file}, {"schema", table.schema}, {"table", table.name}, {"rows", table.rows}});
    // The \copy goes in one single-quoted shell word: quoted identifiers keep their double quotes.
    std::string copy = "\\copy " + conn.quote_identifier(table.schema) + "." +
                       conn.quote_identifier(table.name) +
                       " FROM STDIN WITH (FORMAT csv, HEADER true)";
    restore.push_back(decompress_prefix("{set}/" + file, t.compression) +
                      "psql -v ON_ERROR_STOP=1 --dbname=\"$DATABASE_URL\" -c " +
                      util::shell_quote(copy));
  }
  a.details["csv_files"] = exports;
  a.details["duration_ms"] = util::elapsed_ms(start);
  a.details["restore"] = restore;
  return a;
}

} // namespace

namespace {

// The newest baseline holding this target in this format: a target missing
// from the newest set (after `gate backup files`) is compared with an older one.
std::pair<const model::Manifest *, const model::Artifact *>
shrink_baseline(const model::Artifact &artifact, const std::vector<model::Manifest> &baselines) {
  for (const auto &m : baselines)
    for (const auto &a : m.artifacts)
      if (a.target == artifact.target && a.format == artifact.format && a.kind == artifact.kind)
        return {&m, &a};
  return {nullptr, nullptr};
}

} // namespace

std::string shrink_violation(const config::DatabaseTarget &target, const model::Artifact &artifact,
                             const std::vector<model::Manifest> &baselines) {
  if (!target.max_shrink) return {};
  double limit = *target.max_shrink;
  auto [previous_set, before] = shrink_baseline(artifact, baselines);
  if (!before) return {};
  const model::Manifest &previous = *previous_set;
  auto shrank = [&](double old_v, double new_v) {
    return old_v > 0 && (old_v - new_v) / old_v > limit;
  };
  uint64_t old_raw = before->details.value("raw_bytes", before->bytes());
  uint64_t new_raw = artifact.details.value("raw_bytes", artifact.bytes());
  if (shrank(static_cast<double>(old_raw), static_cast<double>(new_raw)))
    return fmt::format(
        "the {} dump shrank from {} to {} ({:.0f}%) since set '{}', more than max_shrink {:.0f}%",
        artifact.format, util::human_bytes(old_raw), util::human_bytes(new_raw),
        100.0 * (static_cast<double>(old_raw) - static_cast<double>(new_raw)) /
            static_cast<double>(old_raw),
        previous.id, limit * 100);
  std::map<std::string, int64_t> now;
  for (const auto &t : tables_from_json(artifact.details))
    now[t.qualified()] = t.rows;
  for (const auto &t : tables_from_json(before->details)) {
    auto it = now.find(t.qualified());
    int64_t rows = it == now.end() ? 0 : it->second;
    if (shrank(static_cast<double>(t.rows), static_cast<double>(rows)))
      return fmt::format(
          "table {} {} from {} to {} rows since set '{}', more than max_shrink {:.0f}%",
          t.qualified(), it == now.end() ? "disappeared, down" : "shrank", t.rows, rows,
          previous.id, limit * 100);
  }
  return {};
}

namespace {

// What needs no table lock: the size, and who gate is connected as.
util::Result<DatabaseFacts> read_early_facts(util::PgConnection &conn) {
  TRY_ASSIGN(
      auto rows,
      conn.query("SELECT pg_database_size(current_database()), "
                 "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), current_user"));
  DatabaseFacts early;
  early.database_size = std::atoll(rows[0][0].value_or("0").c_str());
  early.superuser = rows[0][1].value_or("f") == "t";
  early.role = rows[0][2].value_or("");
  return early;
}

// Runs pg_dump once per configured format (then schema and globals), adding
// each artifact to `made`; stops at the first failure and returns it.
std::optional<util::Error> dump_formats(DumpContext &dc, std::vector<model::Artifact> &made) {
  const auto &target = dc.pg.target();
  std::optional<util::Error> dump_error;
  auto dump = [&](util::Result<model::Artifact> a) {
    if (!a)
      dump_error = a.error();
    else
      made.push_back(std::move(*a));
  };
  for (DumpFormat format : target.formats) {
    if (dump_error) break;
    if (format == DumpFormat::custom)
      dump(dump_custom(dc));
    else if (format == DumpFormat::sql)
      dump(dump_sql(dc));
    else if (format == DumpFormat::directory)
      dump(dump_directory(dc));
  }
  if (!dump_error && target.schema_only) dump(dump_schema(dc));
  if (!dump_error && target.globals) dump(dump_globals(dc));
  return dump_error;
}

// Counting rows reads every table: it runs on the snapshot's own connection
// while pg_dump streams, so the two overlap instead of adding up. On success
// dc.facts holds the counted tables.
util::Result<std::vector<model::Artifact>> dump_while_counting(DumpContext &dc) {
  const auto &target = dc.pg.target();
  std::optional<util::Result<DatabaseFacts>> counted;
  std::thread counter([&] {
    counted =
        read_database_facts(dc.snapshot.connection(), target.tables, target.exclude_tables, true);
    if (*counted && dc.ctx.content_fingerprints)
      if (auto hashed = add_content_fingerprints(dc.snapshot.connection(), (*counted)->tables);
          !hashed)
        counted = std::unexpected(hashed.error().with_context("content fingerprints"));
  });
  std::vector<model::Artifact> made;
  std::optional<util::Error> dump_error = dump_formats(dc, made);
  if (dump_error) dc.snapshot.connection().cancel(); // do not wait for a count nobody needs
  counter.join();
  if (dump_error) return std::unexpected(*dump_error);
  if (!*counted) return std::unexpected(counted->error().with_context(dc.pg.describe()));
  dc.facts = **counted;
  return made;
}

// The details every database artifact of this backup records: the counted
// facts, where they came from, the database's properties and sequences.
nlohmann::json shared_details(const DumpContext &dc, const DatabaseProperties &properties,
                              const std::vector<SequenceFacts> &sequences) {
  const auto &target = dc.pg.target();
  nlohmann::json base = to_json(dc.facts);
  base["source"] = dc.pg.sanitized_url();
  base["snapshot"] = dc.snapshot.id();
  base["pg_dump_version"] = dc.tools.version;
  base["filtered"] = !target.tables.empty() || !target.exclude_tables.empty();
  base["database_properties"] = to_json(properties);
  base["sequences"] = to_json(sequences);
  if (dc.ctx.content_fingerprints) base["content_fingerprints"] = true;
  if (base["filtered"].get<bool>() && dc.facts.objects.large_objects > 0) {
    // pg_dump --table/--exclude-table leaves every large object out.
    base["large_objects_left_out"] = dc.facts.objects.large_objects;
    util::log_warn(
        "{}: tables:/exclude_tables: leave the database's {} large objects out of this backup",
        dc.step, dc.facts.objects.large_objects);
  }
  return base;
}

// Why a dump must not be trusted: below min_size, or shrunk more than
// max_shrink since the baseline. An intended shrink (a migration that drops
// data, --allow-shrink) stays on record in the artifact's details.
std::optional<std::string> size_problem(const DumpContext &dc, model::Artifact &a, bool sized) {
  const auto &target = dc.pg.target();
  if (sized && a.bytes() < target.min_size)
    return fmt::format("{}: the {} dump is {}, below min_size {}", dc.pg.describe(), a.format,
                       util::human_bytes(a.bytes()), util::human_bytes(target.min_size));
  std::string shrink = shrink_violation(target, a, dc.ctx.baselines);
  if (shrink.empty()) return std::nullopt;
  bool allowed = std::find(dc.ctx.allow_shrink.begin(), dc.ctx.allow_shrink.end(), target.name) !=
                 dc.ctx.allow_shrink.end();
  if (!allowed)
    return fmt::format(
        "{}: {}\nhint: if the data was removed on purpose, run again with --allow-shrink {}",
        dc.pg.describe(), shrink, target.name);
  util::log_warn("{}: {}; allowed by --allow-shrink {}", dc.pg.describe(), shrink, target.name);
  a.details["shrink_allowed"] = shrink;
  return std::nullopt;
}

// Records the verification of a custom dump read back while it was written;
// the table of contents is checked now, against the counted tables. Returns
// the problem when the read-back failed.
util::Result<std::optional<std::string>> record_early_read_back(DumpContext &dc,
                                                                const model::Artifact &stored,
                                                                const DumpContext::Early &early) {
  const std::string &path = stored.path;
  const auto &early_read = early.read;
  if (!early_read && early_read.error().kind == util::ErrorKind::interrupted)
    return std::unexpected(early_read.error());
  Finding f = !early_read ? finding_failed(early_read.error().message) : early_read->finding;
  if (f.ok && early_read->sha256 != stored.files.front().sha256)
    f = finding_failed(fmt::format("'{}' read back with sha256 {}, written with {}", path,
                                   early_read->sha256, stored.files.front().sha256));
  if (f.ok) TRY_ASSIGN(f, check_custom_toc(stored, dc.set.dir(), dc.tools));
  if (f.ok) f.note += " (read back while written)";
  dc.set.add_verification(verification_of(path, model::VerifyLevel::full, f, early.ms));
  if (!f.ok) return fmt::format("{} (full): {}", path, f.reason);
  return std::nullopt;
}

// Adds each artifact to the set with the shared details; returns the first
// reason not to trust the backup, if any.
util::Result<std::optional<std::string>>
record_artifacts(DumpContext &dc, std::vector<model::Artifact> made, const nlohmann::json &base) {
  std::optional<std::string> problem;
  for (auto &a : made) {
    bool sized = a.format == "custom" || a.format == "sql" || a.format == "directory";
    for (auto &[key, value] : base.items())
      if (!a.details.contains(key)) a.details[key] = value;
    a.details["min_size"] = sized ? dc.pg.target().min_size : 0;
    if (!problem) problem = size_problem(dc, a, sized);
    model::Artifact stored = a;
    dc.set.add_artifact(std::move(a));
    if (auto it = dc.read_backs.find(stored.path); it != dc.read_backs.end() && !problem)
      TRY_ASSIGN(problem, record_early_read_back(dc, stored, it->second));
  }
  return problem;
}

// "N tables, M rows: custom 1.2 MiB, sql 3.4 MiB".
std::string backup_summary(const DumpContext &dc, const std::vector<model::Artifact> &made,
                           const nlohmann::json &base) {
  int64_t rows = 0;
  for (const auto &t : dc.facts.tables)
    rows += t.rows;
  std::string list;
  for (const auto &a : made)
    list +=
        (list.empty() ? "" : ", ") + fmt::format("{} {}", a.format, util::human_bytes(a.bytes()));
  std::string left_out =
      base.contains("large_objects_left_out")
          ? fmt::format(" ({} large objects left out by tables:)", dc.facts.objects.large_objects)
          : "";
  return fmt::format("{} tables, {} rows: {}{}", dc.facts.tables.size(), rows, list, left_out);
}

} // namespace

util::Result<void> PostgresBackupStep::check(const RunContext &ctx) const {
  TRY_ASSIGN(auto pg, PgTarget::open(ctx.config, m_target));
  TRY_ASSIGN(auto conn, pg.connect("check"));
  TRY(pg.tools_for(conn->server_version()));
  // A standby is built in a new database, whatever the restore mode: said before any work.
  if (m_target.standby && ctx.build_standbys) TRY(check_standby_privileges(ctx.config, m_target));
  // A backup the configured rollback could not restore is refused now, not at rollback.
  return check_rollback_privileges(ctx.config, m_target);
}

std::string PostgresBackupStep::plan(const RunContext &ctx) const {
  std::string formats;
  for (auto f : m_target.formats)
    formats += std::string(formats.empty() ? "" : ", ") + to_string(f);
  if (m_target.globals) formats += ", globals";
  if (m_target.schema_only) formats += ", schema";
  bool filtered = !m_target.tables.empty() || !m_target.exclude_tables.empty();
  return fmt::format("dump database {} ({}) from one snapshot, with exact row counts{}",
                     util::sanitize_url(m_target.url.value_or_empty()), formats,
                     filtered ? "; tables:/exclude_tables: leave large objects out" : "");
}

util::Result<StepResult> PostgresBackupStep::run(RunContext &ctx) {
  TRY_ASSIGN(auto pg, PgTarget::open(ctx.config, m_target));
  TRY_ASSIGN(auto conn, pg.connect("backup"));
  TRY_ASSIGN(PgTools tools, pg.tools_for(conn->server_version()));
  TRY_ASSIGN(DatabaseFacts early, read_early_facts(*conn));
  // The database's own properties, which no dump of its contents holds.
  TRY_ASSIGN(auto dbname, conn->scalar("SELECT current_database()"));
  TRY_ASSIGN(auto properties, read_database_properties(*conn, dbname.value_or("")));
  TRY_ASSIGN(auto sequences, read_sequences(*conn)); // before pg_dump reads them
  TRY_ASSIGN(auto snapshot, ExportedSnapshot::open(std::move(conn)));
  TRY_ASSIGN(model::SetHandle * set, ctx.open_set());
  TRY(util::make_dirs(set->dir() / "databases", 0700));
  TRY_ASSIGN(auto auth, ChildAuth::create(pg.conninfo()));
  DumpContext dc{pg, tools, auth, snapshot, early, *set, ctx, label(), nlohmann::json::object()};
  dc.read_back = m_read_back == ReadBack::while_writing;
  util::log_info("{}: {}, snapshot {}, pg_dump {} from {}", label(), pg.describe(), snapshot.id(),
                 tools.version, tools.bindir.string());

  TRY_ASSIGN(std::vector<model::Artifact> made, dump_while_counting(dc));
  if (std::find(m_target.formats.begin(), m_target.formats.end(), DumpFormat::csv) !=
      m_target.formats.end()) {
    // CSV exports come from the same snapshot, table by table, over libpq.
    TRY_ASSIGN(auto csv, dump_csv(dc));
    made.push_back(std::move(csv));
  }
  nlohmann::json base = shared_details(dc, properties, sequences);
  util::log_info("{}: PostgreSQL {}, {} in {} tables", label(), dc.facts.server_version,
                 util::human_bytes(static_cast<uint64_t>(dc.facts.database_size)),
                 dc.facts.tables.size());
  std::string summary = backup_summary(dc, made, base);
  uint64_t bytes = 0;
  for (const auto &a : made)
    bytes += a.bytes();
  TRY_ASSIGN(auto problem, record_artifacts(dc, std::move(made), base));
  if (problem) return failed(*problem);
  return passed(summary, bytes);
}

} // namespace gate::steps

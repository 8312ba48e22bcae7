#include "steps/postgres/verify.hpp"

#include "steps/postgres/database_properties.hpp"
#include "steps/postgres/dump_restore.hpp"
#include "steps/postgres/facts.hpp"
#include "steps/postgres/restore.hpp"
#include "steps/postgres/standby.hpp"
#include "steps/postgres/target.hpp"
#include "util/cancel.hpp"
#include "util/command_stream.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <csignal>
#include <fmt/format.h>
#include <set>
#include <sys/mman.h>
#include <unistd.h>

#include "util/fd.hpp"
#include "util/fs.hpp"

namespace gate::steps {

namespace fs = std::filesystem;

void CsvRecordCounter::feed(const char *data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    char c = data[i];
    if (c == '"') m_in_quotes = !m_in_quotes; // "" inside quotes toggles twice
    if (c == '\n' && !m_in_quotes) {
      ++m_records;
      m_pending = false;
    } else {
      m_pending = true;
    }
  }
}

std::string scratch_database_name(const std::string &set_id) {
  std::string name = "gate_verify_";
  for (char c : set_id)
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c))
                                                               : '_');
  return name.substr(0, 63);
}

namespace {

// Reads a plain-text dump completely and checks pg_dump's end marker: a
// truncated file lacks it even when no compression layer could tell.
util::Result<Finding> verify_text_dump(const model::Artifact &a, const fs::path &set_dir,
                                       const std::string &marker,
                                       const util::ProgressFn &progress) {
  const auto &file = a.files.front();
  std::string tail;
  auto read = util::read_compressed(set_dir / file.path,
                                    [&](const char *data, size_t size) -> util::Result<void> {
                                      tail.append(data, size);
                                      if (tail.size() > 4096) tail.erase(0, tail.size() - 4096);
                                      return {};
                                    });
  if (!read) {
    if (read.error().kind == util::ErrorKind::interrupted) return std::unexpected(read.error());
    return finding_failed(read.error().message);
  }
  if (progress) progress(read->bytes);
  if (read->sha256 != file.sha256)
    return finding_failed(fmt::format("'{}' fails its checksum: sha256 {} but the manifest says {}",
                                      file.path, read->sha256, file.sha256));
  if (tail.find(marker) == std::string::npos)
    return finding_failed(
        fmt::format("'{}' is truncated: it does not end with '{}'", file.path, marker));
  return finding_ok(fmt::format("{} decompressed to {}, complete", util::human_bytes(read->bytes),
                                util::human_bytes(read->raw_bytes)));
}

util::Result<Finding> verify_csv(const model::Artifact &a, const fs::path &set_dir,
                                 const util::ProgressFn &progress) {
  uint64_t done = 0;
  for (const auto &e : a.details.value("csv_files", nlohmann::json::array())) {
    std::string path = e.value("file", "");
    const model::StoredFile *file = nullptr;
    for (const auto &f : a.files)
      if (f.path == path) file = &f;
    if (!file) return finding_failed("'" + path + "' is not among the artifact's files");
    CsvRecordCounter counter;
    auto read = util::read_compressed(set_dir / path,
                                      [&](const char *data, size_t size) -> util::Result<void> {
                                        counter.feed(data, size);
                                        return {};
                                      });
    if (!read) {
      if (read.error().kind == util::ErrorKind::interrupted) return std::unexpected(read.error());
      return finding_failed(read.error().message);
    }
    done += read->bytes;
    if (progress) progress(done);
    if (read->sha256 != file->sha256)
      return finding_failed(
          fmt::format("'{}' fails its checksum: sha256 {} but the manifest says {}", path,
                      read->sha256, file->sha256));
    uint64_t rows = e.value("rows", uint64_t{0});
    uint64_t records = counter.records();
    if (records == 0 || records - 1 != rows)
      return finding_failed(fmt::format("'{}' holds {} rows, the snapshot counted {}", path,
                                        records == 0 ? 0 : records - 1, rows));
  }
  return finding_ok(
      fmt::format("{} CSV files read, row counts match the snapshot", a.files.size()));
}

// The "schema name owner" part of every TABLE DATA entry in a custom dump's
// table of contents ("3345; 0 16390 TABLE DATA public orders gate").
// pg_restore --list prints names unquoted, so a name may hold spaces: the
// entries are matched against the names the catalog gave, never split.
std::vector<std::string> toc_table_data(const std::string &listing) {
  std::vector<std::string> out;
  for (const auto &line : util::split(listing, '\n')) {
    size_t pos = line.find(" TABLE DATA ");
    if (line.empty() || line[0] == ';' || pos == std::string::npos) continue;
    out.push_back(line.substr(pos + 12));
  }
  return out;
}

// pg_restore --list prints a newline in a name as a space.
std::string as_listed(std::string name) {
  for (char &c : name)
    if (c == '\n' || c == '\r') c = ' ';
  return name;
}

bool toc_has_data(const std::vector<std::string> &entries, const TableFacts &t) {
  std::string key = as_listed(t.schema) + " " + as_listed(t.name);
  return std::any_of(entries.begin(), entries.end(),
                     [&](const std::string &e) { return e == key || e.rfind(key + " ", 0) == 0; });
}

util::Result<Finding> verify_custom(const model::Artifact &a, const fs::path &set_dir,
                                    const PgTools &tools, const util::ProgressFn &progress) {
  const auto &file = a.files.front();
  TRY_ASSIGN(CustomReadBack read, read_back_custom(set_dir / file.path, tools, progress, nullptr));
  if (!read.finding.ok) return read.finding;
  if (read.sha256 != file.sha256)
    return finding_failed(fmt::format("'{}' fails its checksum: sha256 {} but the manifest says {}",
                                      file.path, read.sha256, file.sha256));
  return check_custom_toc(a, set_dir, tools);
}

util::Result<Finding> verify_directory(const model::Artifact &a, const fs::path &set_dir,
                                       const PgTools &tools) {
  TRY_ASSIGN(Finding quick, verify_files_quick(a, set_dir));
  if (!quick.ok) return quick;
  util::ProcessSpec spec;
  spec.argv = {tools.tool("pg_restore").string(), "--file=/dev/null", (set_dir / a.path).string()};
  spec.log_prefix = "pg_restore: ";
  spec.stdout_mode = util::StreamMode::null;
  TRY_ASSIGN(auto proc, util::Process::start(spec));
  TRY_ASSIGN(auto status, proc->wait());
  if (util::cancel_requested()) return util::fail(util::ErrorKind::interrupted, "interrupted");
  if (!status.ok())
    return finding_failed(fmt::format("pg_restore cannot read '{}' ({}): {}", a.path,
                                      status.describe(), proc->stderr_tail()));
  return finding_ok(
      fmt::format("{} files checksummed and read back by pg_restore", a.files.size()));
}

// Drops scratch databases left by gate processes on this host that died
// (SIGKILL leaves no chance to clean up).
void drop_stale_scratch(util::PgConnection &admin, const std::string &host) {
  auto rows = admin.query("SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
                          "WHERE datname LIKE 'gate\\_verify\\_%'");
  if (!rows) return;
  for (auto &row : *rows) {
    std::string comment = row[1].value_or("");
    std::string prefix = "gate pid=";
    if (comment.rfind(prefix, 0) != 0) continue;
    pid_t pid = std::atoi(comment.c_str() + prefix.size());
    size_t at = comment.find(" host=");
    if (at == std::string::npos || comment.substr(at + 6) != host) continue;
    if (pid > 0 && (pid == ::getpid() || ::kill(pid, 0) == 0)) continue;
    util::log_warn("dropping scratch database '{}' left by gate pid {}, which is no longer running",
                   *row[0], pid);
    (void)admin.execute("DROP DATABASE IF EXISTS " + admin.quote_identifier(*row[0]) +
                        " WITH (FORCE)");
  }
}

// The first table whose restored rows hash differently from the snapshot's.
util::Result<std::string> content_difference(util::PgConnection &conn, const model::Artifact &a) {
  auto expected = tables_from_json(a.details);
  auto restored = expected;
  TRY(add_content_fingerprints(conn, restored));
  for (size_t i = 0; i < expected.size(); ++i)
    if (restored[i].content_sha256 != expected[i].content_sha256)
      return fmt::format(
          "table {} holds other rows than the backup's snapshot: content sha256 {}, the "
          "manifest says {}",
          expected[i].qualified(), restored[i].content_sha256, expected[i].content_sha256);
  return std::string();
}

// The server a deep verify restores on: verify_url when set, else the target's own.
util::Result<util::ConnInfo> scratch_server(const PgTarget &pg) {
  const auto &target = pg.target();
  TRY_ASSIGN(std::string verify_url, target.verify_url.value());
  if (verify_url.empty()) return pg.conninfo();
  auto parsed = util::ConnInfo::parse(verify_url);
  if (!parsed)
    return util::fail("database '" + target.name + "': verify_url: " + parsed.error().message);
  return *parsed;
}

// Creates the scratch database as a rollback creates its new database
// (owner, encoding, locale), replacing one of the same name.
util::Result<void> create_scratch(util::PgConnection &admin, const PgTarget &pg,
                                  const model::Artifact &a, const std::string &scratch) {
  std::string quoted = admin.quote_identifier(scratch);
  TRY_ASSIGN(auto props, properties_for_new_database(admin, a, pg.conninfo().get("dbname")));
  std::string create = create_database_sql(admin, scratch, props);
  TRY(admin.execute("DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)"));
  auto created = admin.execute(create);
  // A gate killed during its own CREATE DATABASE leaves the server finishing
  // it: ours then waits for that one to commit and fails on the name. It is
  // committed by now, so drop it and try once more.
  constexpr const char *k_unique_violation = "23505";
  if (!created && created.error().kind != util::ErrorKind::interrupted &&
      admin.last_sqlstate() == k_unique_violation) {
    util::log_warn("scratch database '{}' was being created by a gate that died; dropping it",
                   scratch);
    TRY(admin.execute("DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)"));
    created = admin.execute(create);
  }
  if (!created && created.error().kind == util::ErrorKind::interrupted)
    return std::unexpected(created.error());
  if (!created)
    return util::fail(
        "unable to create scratch database '" + scratch + "': " + created.error().message +
        "\nhint: the role needs CREATEDB (and membership in the database's owner role), "
        "or set verify_url: to a server where it has them");
  return {};
}

// Drops the scratch database on every path out, interrupts included.
struct ScratchDropper {
  util::PgConnection &admin;
  std::string name;
  std::string quoted = admin.quote_identifier(name); // quoted now, while the connection is sound
  bool armed = true;                                 // false: it became the standby
  ~ScratchDropper() {
    if (!armed) return;
    util::CancelShield shield;
    auto r = admin.execute("DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)");
    if (!r)
      util::log_error("unable to drop scratch database '{}': {}", name, r.error().message);
    else
      util::log_info("deep verify: dropped scratch database '{}'", name);
  }
};

// The restored copy against the manifest: tables and rows, the database's
// properties for a clean rollback, and the contents when asked for.
util::Result<std::string> restored_difference(const PgTarget &pg, const util::ConnInfo &into,
                                              const model::Artifact &a, bool clean, bool content) {
  TRY_ASSIGN(auto check, pg.connect_to(into, "verify"));
  TRY_ASSIGN(std::string difference, compare_with_manifest(*check, a));
  if (difference.empty() && clean) difference = properties_difference(*check, a);
  if (difference.empty() && content) TRY_ASSIGN(difference, content_difference(*check, a));
  return difference;
}

enum class KeepStandby { no, yes };

// The verified copy becomes the database's standby (steps/postgres/standby.hpp);
// a failure leaves the copy to the dropper and the standby refused.
struct BuildTimes {
  long long build_ms = 0, check_ms = 0;
};
void keep_standby(util::PgConnection &admin, const model::Artifact &a, const PgTarget &pg,
                  const RunContext &ctx, ScratchDropper &dropper, BuildTimes times, Finding &f) {
  StandbyBuild build{pg.conninfo().get("dbname"), dropper.name, ctx.set->id(), times.build_ms,
                     times.check_ms};
  auto kept = keep_as_standby(admin, a, build);
  if (!kept) {
    util::log_warn("database '{}': the standby could not be kept: {}", a.target,
                   kept.error().message);
    f.metrics["standby"] = {{"refused", "building it failed: " + kept.error().message}};
    return;
  }
  dropper.armed = false;
  f.note += "; kept as standby '" + kept->value("name", "") + "'";
  f.metrics["standby"] = *kept;
}

// Phases: pick the server, create a marked scratch database, restore into it
// as the configured rollback mode would, compare with the manifest, drop it
// (or, for a standby, keep it closed).
util::Result<Finding> verify_deep(const model::Artifact &a, const fs::path &set_dir,
                                  const RunContext &ctx, const PgTarget &pg,
                                  const util::ProgressFn &progress, KeepStandby keep) {
  TRY_ASSIGN(util::ConnInfo server, scratch_server(pg));
  TRY_ASSIGN(auto admin, pg.connect_to(server, "verify"));
  TRY_ASSIGN(PgTools tools, pg.tools_for(admin->server_version()));
  std::string host = util::host_name();
  drop_stale_scratch(*admin, host);
  std::string scratch =
      scratch_database_name(ctx.set ? ctx.set->id() : set_dir.filename().string());
  TRY(create_scratch(*admin, pg, a, scratch));
  // Whose scratch this is: drop_stale_scratch of a later gate reads it.
  std::string marker =
      "COMMENT ON DATABASE " + admin->quote_identifier(scratch) + " IS " +
      admin->quote_literal("gate pid=" + std::to_string(::getpid()) + " host=" + host);
  (void)admin->execute(marker);
  util::log_info("deep verify: restoring '{}' into scratch database '{}'", a.path, scratch);
  ScratchDropper dropper{*admin, scratch};

  auto start = std::chrono::steady_clock::now();
  util::ConnInfo into = server.with_dbname(scratch);
  // The procedure the configured rollback mode runs, as the same role.
  auto restored = restore_into_created(pg, *admin, into, tools, a, set_dir, progress);
  (void)admin->execute(
      marker); // the properties brought the recorded comment; a killed gate's scratch needs ours
  bool clean = pg.target().mode == config::RestoreMode::clean;
  if (restored && clean) restored = clean_restore_into(pg, into, tools, a, set_dir, nullptr);
  long long restore_ms = util::elapsed_ms(start);
  if (!restored) {
    if (util::cancel_requested()) return util::fail(util::ErrorKind::interrupted, "interrupted");
    auto role = admin->scalar("SELECT current_user");
    const std::string &message = restored.error().message;
    return finding_failed(fmt::format("the test restore ({} mode) into '{}' failed: {}{}",
                                      clean ? "clean" : "recreate", scratch, message,
                                      restore_hint(message, role ? role->value_or("") : "")));
  }
  auto check_start = std::chrono::steady_clock::now();
  TRY_ASSIGN(std::string difference,
             restored_difference(pg, into, a, clean, ctx.content_fingerprints));
  long long check_ms = util::elapsed_ms(check_start);
  if (!difference.empty()) return finding_failed("after the test restore: " + difference);
  Finding f = finding_ok(fmt::format(
      "restored into a scratch database as a {} rollback would, in {}; {} tables and "
      "their row counts{} match",
      clean ? "clean" : "recreate", util::human_duration_ms(restore_ms),
      tables_from_json(a.details).size(), ctx.content_fingerprints ? " and contents" : ""));
  f.metrics["restore_ms"] = restore_ms;
  if (keep == KeepStandby::yes)
    keep_standby(*admin, a, pg, ctx, dropper, {restore_ms, check_ms}, f);
  return f;
}

// Whether the pipeline has a deep verify step covering `target` (it builds
// the standby then; a full verify does only without one).
bool pipeline_deep_verifies(const config::PipelineConfig &config, const std::string &target) {
  for (const auto &stage : config.stages)
    for (const auto &step : stage.steps) {
      if (!step.node.is_map()) continue;
      bool verify = false, deep = false;
      for (const auto &[key, value] : step.node.entries()) {
        if (key.raw() == "verify") verify = value.raw() == "all" || value.raw() == target;
        if (key.raw() == "deep") deep = value.raw() == "true";
      }
      if (verify && deep) return true;
    }
  return false;
}

// Whether this verification builds a standby of `a`'s database: during a
// run (a set being written, not a pre-rollback snapshot), by the deep verify
// or, when the pipeline has none, by the verify after the backup. `refused`
// says why a standby the pipeline asks for cannot be built.
struct StandbyDecision {
  bool build = false;
  std::string refused;
};
util::Result<StandbyDecision> standby_decision(const RunContext &ctx, const PgTarget &pg,
                                               model::VerifyLevel level) {
  StandbyDecision d;
  if (!pg.target().standby || !ctx.set || ctx.set->sealed_on_disk()) return d;
  if (ctx.set->manifest().kind == "pre-rollback") return d;
  if (!ctx.build_standbys) { // `gate backup`: the recorded deploy set keeps its standby
    util::log_info("database '{}': a scheduled set builds no standby: '{}' stays the recorded "
                   "deploy set's",
                   pg.target().name, standby_database_name(pg.conninfo().get("dbname")));
    return d;
  }
  if (level != model::VerifyLevel::deep && pipeline_deep_verifies(ctx.config, pg.target().name))
    return d;
  TRY_ASSIGN(std::string verify_url, pg.target().verify_url.value());
  if (!verify_url.empty())
    d.refused = "verify_url is set: a standby must be on the live database's own server";
  if (d.refused.empty()) {
    TRY_ASSIGN(auto admin, standby_admin(pg));
    TRY_ASSIGN(d.refused, standby_refusal(*admin, pg.conninfo().get("dbname")));
  }
  if (!d.refused.empty())
    util::log_warn("database '{}': no standby is built: {}", pg.target().name, d.refused);
  d.build = d.refused.empty();
  return d;
}

// A deep verify's restore, kept as the standby when the database has one.
util::Result<Finding> test_restore(const model::Artifact &a, const fs::path &set_dir,
                                   const RunContext &ctx, const PgTarget &pg,
                                   const util::ProgressFn &progress) {
  TRY_ASSIGN(auto standby, standby_decision(ctx, pg, model::VerifyLevel::deep));
  TRY_ASSIGN(Finding f, verify_deep(a, set_dir, ctx, pg, progress,
                                    standby.build ? KeepStandby::yes : KeepStandby::no));
  if (!standby.refused.empty()) f.metrics["standby"] = {{"refused", standby.refused}};
  return f;
}

} // namespace

util::Result<CustomReadBack> read_back_custom(const fs::path &path, const PgTools &tools,
                                              const util::ProgressFn &progress,
                                              util::GrowthSignal *follow) {
  // Every block read and decompressed: pg_restore --list alone misses truncation.
  util::ProcessSpec spec;
  spec.argv = {tools.tool("pg_restore").string(), "--file=/dev/null"};
  spec.log_prefix = "pg_restore: ";
  auto fed = util::file_to_command(path, spec, progress, follow);
  if (!fed) {
    if (fed.error().kind == util::ErrorKind::interrupted) return std::unexpected(fed.error());
    return CustomReadBack{finding_failed(fed.error().message), {}}; // cannot even be decompressed
  }
  if (!fed->status.ok())
    return CustomReadBack{
        finding_failed(fmt::format("pg_restore cannot read '{}' ({}): {}", path.filename().string(),
                                   fed->status.describe(), fed->stderr_tail)),
        fed->file.sha256};
  return CustomReadBack{finding_ok(""), fed->file.sha256};
}

util::Result<Finding> check_custom_toc(const model::Artifact &a, const fs::path &set_dir,
                                       const PgTools &tools) {
  const auto &file = a.files.front();
  // The table of contents must name every table the snapshot listed.
  util::UniqueFd toc(::memfd_create("gate-toc", MFD_CLOEXEC));
  if (!toc) return util::fail("unable to create a memory file: " + util::errno_text(errno));
  util::ProcessSpec list;
  list.argv = {tools.tool("pg_restore").string(), "--list"};
  list.log_prefix = "pg_restore: ";
  list.stdout_mode = util::StreamMode::fd;
  list.stdout_fd = toc.get();
  // The listing needs only the head of the file; its checksum was checked by the caller.
  auto listed = util::file_to_command(set_dir / file.path, list, nullptr, nullptr,
                                      util::FeedEnd::when_reader_stops);
  if (!listed) {
    if (listed.error().kind == util::ErrorKind::interrupted) return std::unexpected(listed.error());
    return finding_failed(listed.error().message);
  }
  if (!listed->status.ok())
    return finding_failed(
        fmt::format("pg_restore --list cannot read '{}': {}", file.path, listed->stderr_tail));
  std::string listing;
  ::lseek(toc.get(), 0, SEEK_SET);
  char buf[65536];
  for (ssize_t n; (n = ::read(toc.get(), buf, sizeof buf)) > 0;)
    listing.append(buf, static_cast<size_t>(n));
  auto present = toc_table_data(listing);
  for (const auto &t : tables_from_json(a.details))
    if (!t.partitioned && !toc_has_data(present, t))
      return finding_failed(fmt::format("'{}' has no data for table {}", file.path, t.qualified()));
  return finding_ok(fmt::format("{} read back by pg_restore, {} tables' data present",
                                util::human_bytes(file.bytes), present.size()));
}

util::Result<Finding> verify_database(const model::Artifact &a, const fs::path &set_dir,
                                      model::VerifyLevel level, const RunContext &ctx,
                                      const util::ProgressFn &progress) {
  if (level == model::VerifyLevel::quick) return verify_files_quick(a, set_dir);
  Finding sizes = verify_sizes(a, set_dir);
  if (!sizes.ok) return sizes;
  Finding full;
  std::optional<PgTarget> pg;
  if (a.format == "sql" || a.format == "schema") {
    TRY_ASSIGN(full,
               verify_text_dump(a, set_dir, "-- PostgreSQL database dump complete", progress));
  } else if (a.format == "globals") {
    TRY_ASSIGN(full, verify_text_dump(a, set_dir, "-- PostgreSQL database cluster dump complete",
                                      progress));
  } else if (a.format == "csv") {
    TRY_ASSIGN(full, verify_csv(a, set_dir, progress));
  } else {
    const config::DatabaseTarget *target = ctx.config.find_database(a.target);
    if (!target)
      return util::fail("database '" + a.target + "' is not in " + ctx.config.file.string() +
                        ": its connection is needed to pick a pg_restore that reads this dump");
    TRY_ASSIGN(pg, PgTarget::open(ctx.config, *target));
    // pg_restore must read what pg_dump wrote: at least the dump's major version.
    int dump_major = std::atoi(a.details.value("pg_dump_version", std::string("0")).c_str());
    TRY_ASSIGN(PgTools tools, pg->tools_for(dump_major * 10000));
    TRY_ASSIGN(full, a.format == "custom" ? verify_custom(a, set_dir, tools, progress)
                                          : verify_directory(a, set_dir, tools));
  }
  if (!full.ok || level != model::VerifyLevel::deep) return full;
  // One test restore per database, of the dump a rollback restores first
  // (restore_candidates' order): what deep verify proves is what rollback uses.
  const model::Artifact *candidate = ctx.set ? nullptr : &a;
  model::Manifest manifest;
  if (ctx.set) {
    manifest = ctx.set->manifest();
    auto candidates = restore_candidates(manifest, a.target);
    if (!candidates.empty()) candidate = candidates.front();
  }
  if (!candidate || candidate->path != a.path) return full;
  if (level == model::VerifyLevel::deep && ctx.content_fingerprints &&
      !candidate->details.value("content_fingerprints", false))
    return util::fail(
        fmt::format("the set has no content fingerprints for database '{}' to compare: they are "
                    "recorded by a backup whose pipeline has a verify step with "
                    "{{deep: true, content: true}}; verify without --content, or make a "
                    "new set with such a step",
                    a.target));
  if (!pg) {
    const config::DatabaseTarget *target = ctx.config.find_database(a.target);
    if (!target)
      return util::fail("database '" + a.target + "' is not in " + ctx.config.file.string());
    TRY_ASSIGN(pg, PgTarget::open(ctx.config, *target));
  }
  return test_restore(a, set_dir, ctx, *pg, progress);
}

util::Result<std::optional<Finding>>
build_database_standby(const model::Artifact &a, const fs::path &set_dir, model::VerifyLevel level,
                       const RunContext &ctx, const util::ProgressFn &progress) {
  const config::DatabaseTarget *target = ctx.config.find_database(a.target);
  if (level == model::VerifyLevel::deep || !target || !target->standby || !ctx.set ||
      a.details.contains("standby"))
    return std::nullopt;                          // a deep verify keeps its own restore
  model::Manifest manifest = ctx.set->manifest(); // the candidates point into it
  auto candidates = restore_candidates(manifest, a.target);
  if (candidates.empty() || candidates.front()->path != a.path) return std::nullopt;
  TRY_ASSIGN(auto pg, PgTarget::open(ctx.config, *target));
  TRY_ASSIGN(auto standby, standby_decision(ctx, pg, level));
  if (!standby.build && standby.refused.empty()) return std::nullopt;
  if (!standby.build) {
    Finding f = finding_ok("no standby: " + standby.refused);
    f.metrics["standby"] = {{"refused", standby.refused}};
    return f;
  }
  TRY_ASSIGN(Finding f, verify_deep(a, set_dir, ctx, pg, progress, KeepStandby::yes));
  return f;
}

} // namespace gate::steps

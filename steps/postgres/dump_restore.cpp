#include "steps/postgres/dump_restore.hpp"

#include "steps/postgres/facts.hpp"
#include "util/command_stream.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <map>

namespace gate::steps {

namespace {

// Lines a script may have around its statements: blank, comments, psql's \restrict.
bool is_framing_line(std::string_view line) {
  return line.empty() || line.rfind("--", 0) == 0 || line.rfind("\\restrict ", 0) == 0 ||
         line.rfind("\\unrestrict ", 0) == 0;
}

constexpr size_t k_tail_bytes = 4096; // more than pg_restore writes after its COMMIT;

} // namespace

util::Result<void> OwnTransactionFilter::pass(const char *data, size_t size) {
  m_tail.append(data, size);
  if (m_tail.size() < 2 * k_tail_bytes) return {};
  size_t emit = m_tail.size() - k_tail_bytes;
  TRY(m_sink(m_tail.data(), emit));
  m_tail.erase(0, emit);
  return {};
}

util::Result<void> OwnTransactionFilter::feed(const char *data, size_t size) {
  if (m_head_done) return pass(data, size);
  m_head.append(data, size);
  size_t start = 0;
  for (size_t nl; (nl = m_head.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(m_head.data() + start, nl - start);
    if (is_framing_line(line)) continue;
    m_head_done = true;
    if (line == "BEGIN;") {
      m_wrapped = true;
      m_head.erase(start, nl + 1 - start);
    }
    break;
  }
  if (!m_head_done && m_head.size() < (1 << 20)) return {};
  m_head_done = true; // a head this long without a statement: pass it as it is
  std::string head = std::move(m_head);
  m_head.clear();
  return pass(head.data(), head.size());
}

util::Result<void> OwnTransactionFilter::finish() {
  if (!m_head_done) {
    m_head_done = true;
    std::string head = std::move(m_head);
    TRY(pass(head.data(), head.size()));
  }
  if (m_wrapped) {
    // The last COMMIT; with only framing lines after it.
    size_t at = m_tail.rfind("\nCOMMIT;\n");
    size_t line_start = at == std::string::npos
                            ? (m_tail.rfind("COMMIT;\n", 0) == 0 ? 0 : std::string::npos)
                            : at + 1;
    bool framed = line_start != std::string::npos;
    for (const auto &line : util::split(framed ? m_tail.substr(line_start + 8) : "", '\n'))
      framed = framed && is_framing_line(line);
    if (!framed)
      return util::fail(
          "the restore script does not end with its COMMIT; (is the dump truncated?)");
    m_tail.erase(line_start, 8);
  }
  std::string tail = std::move(m_tail);
  m_tail.clear();
  return tail.empty() ? util::Result<void>{} : m_sink(tail.data(), tail.size());
}

namespace {

// The double-quoted name after `marker` in `error` ("must be member of role \"app\"" -> app).
std::string quoted_after(const std::string &error, const std::string &marker) {
  size_t at = error.find(marker);
  if (at == std::string::npos) return {};
  size_t open = at + marker.size();
  size_t close = error.find('"', open);
  return close == std::string::npos ? std::string() : error.substr(open, close - open);
}

std::string line_after(const std::string &error, const std::string &marker) {
  size_t at = error.find(marker);
  if (at == std::string::npos) return {};
  size_t start = at + marker.size();
  return error.substr(start, error.find('\n', start) - start);
}

} // namespace

std::string restore_hint(const std::string &error, const std::string &role) {
  std::string r = "\"" + role + "\"";
  if (auto owner = quoted_after(error, "must be member of role \""); !owner.empty())
    return fmt::format(
        "\nhint: the restore gives objects to their owner {0}: GRANT \"{0}\" TO {1}; (or restore "
        "as a superuser)",
        owner, r);
  if (auto ext = quoted_after(error, "permission denied to create extension \""); !ext.empty())
    return fmt::format(
        "\nhint: only a superuser may create extension {0}: have one run CREATE EXTENSION \"{0}\" "
        "in template1 (so new databases have it), or restore as a superuser",
        ext);
  if (auto schema = line_after(error, "permission denied for schema "); !schema.empty()) {
    // ALTER ... OWNER TO x: the new owner x needs CREATE on the schema; grants come only later in a
    // restore.
    if (auto owner = line_after(error, " OWNER TO "); !owner.empty()) {
      if (!owner.empty() && owner.back() == ';') owner.pop_back();
      return fmt::format(
          "\nhint: role \"{}\" (the new owner) needs CREATE on schema {} when it is given the "
          "object, before the dump's own grants are restored: restore as a superuser, or make "
          "\"{}\" the schema's owner",
          owner, schema, owner);
    }
    return fmt::format("\nhint: GRANT CREATE ON SCHEMA {} TO {};", schema, r);
  }
  if (auto what = line_after(error, "must be owner of "); !what.empty())
    return fmt::format(
        "\nhint: role {} must own {} (or be a member of its owner), or restore as a superuser", r,
        what);
  if (error.find("permission denied to create database") != std::string::npos)
    return fmt::format("\nhint: ALTER ROLE {} CREATEDB; or set mode: clean for this database", r);
  if (auto missing = quoted_after(error, "role \"");
      !missing.empty() && error.find("\" does not exist") != std::string::npos)
    return fmt::format(
        "\nhint: role {} is named in the dump but missing on this server: create it (the set's "
        "globals dump has it with globals: true)",
        missing);
  if (error.find("must be superuser") != std::string::npos)
    return fmt::format("\nhint: a statement in the dump needs a superuser; role {} is not one", r);
  return {};
}

bool restorable_format(const std::string &format) {
  return format == "custom" || format == "directory" || format == "sql";
}

util::Result<void> restore_artifact(const RestoreRequest &r) {
  const auto &a = *r.artifact;
  TRY_ASSIGN(auto auth, ChildAuth::create(r.into));
  util::ProcessSpec spec;
  std::string dbname = "--dbname=" + r.into.without_password();
  auto file = r.set_dir / a.path;
  bool streamed = a.compression != "none" && a.format != "directory" &&
                  !(a.format == "custom" && a.compression == "gzip");
  if (a.format == "custom" || a.format == "directory") {
    spec.argv = {r.tools.tool("pg_restore").string(), "--no-password", "--exit-on-error", dbname};
    spec.log_prefix = "pg_restore: ";
    if (!r.keep_owners) spec.argv.insert(spec.argv.end(), {"--no-owner", "--no-acl"});
    // Parallel restore needs a seekable file.
    if (!streamed && r.jobs > 1) spec.argv.push_back("--jobs=" + std::to_string(r.jobs));
    if (!streamed) spec.argv.push_back(file.string());
  } else if (a.format == "sql") {
    spec.argv = {r.tools.tool("psql").string(),
                 "--no-password",
                 "--no-psqlrc",
                 "--quiet",
                 "-v",
                 "ON_ERROR_STOP=1",
                 dbname};
    // A script that is not one transaction by itself (older sets) is made one.
    if (!a.details.value("single_transaction", false)) spec.argv.push_back("--single-transaction");
    spec.log_prefix = "psql: ";
    streamed = true;
  } else {
    return util::fail("a " + a.format + " backup cannot be restored automatically");
  }
  spec.stdout_mode = util::StreamMode::null;
  // Index builds dominate a restore: give the restore's sessions more sort memory.
  const char *options = std::getenv("PGOPTIONS");
  spec.env["PGOPTIONS"] = std::string(options ? options : "") + " -c maintenance_work_mem=256MB";
  auth.apply(spec);
  if (streamed) {
    TRY_ASSIGN(auto fed, util::file_to_command(file, spec, r.progress));
    if (!fed.status.ok())
      return util::fail(
          fmt::format("{} {}: {}", spec.argv[0], fed.status.describe(), fed.stderr_tail));
    if (fed.file.sha256 != a.files.front().sha256)
      return util::fail("'" + a.path +
                        "' changed since it was verified (checksum mismatch while restoring)");
    return {};
  }
  TRY_ASSIGN(auto proc, util::Process::start(spec));
  TRY_ASSIGN(auto status, proc->wait());
  if (!status.ok())
    return util::fail(
        fmt::format("{} {}: {}", spec.argv[0], status.describe(), proc->stderr_tail()));
  return {};
}

namespace {

// Sequences are not transactional: the dump holds the value read before it
// started or a later one, never an earlier one.
util::Result<std::string> compare_sequences(util::PgConnection &conn,
                                            const model::Artifact &artifact) {
  auto expected = sequences_from_json(artifact.details);
  if (expected.empty()) return std::string();
  TRY_ASSIGN(auto actual, read_sequences(conn));
  std::map<std::string, SequenceFacts> now;
  for (auto &s : actual)
    now[s.qualified()] = s;
  for (const auto &s : expected) {
    auto it = now.find(s.qualified());
    if (it == now.end()) {
      if (artifact.details.value("filtered", false)) continue; // a partial backup may leave it out
      return fmt::format("sequence {} is missing after the restore", s.qualified());
    }
    if (!s.called) continue;
    bool behind =
        s.ascending ? it->second.last_value < s.last_value : it->second.last_value > s.last_value;
    if (behind || !it->second.called)
      return fmt::format("sequence {} is at {} after the restore, before the backup it was at {}",
                         s.qualified(), it->second.last_value, s.last_value);
  }
  return std::string();
}

util::Result<std::string> compare_objects(util::PgConnection &conn,
                                          const model::Artifact &artifact) {
  const auto &d = artifact.details;
  if (!d.contains("large_objects")) return std::string(); // a set from before these were recorded
  TRY_ASSIGN(auto now, read_object_facts(conn));
  if (d.value("filtered", false))
    return std::string(); // pg_dump --table leaves large objects and other objects out
  int64_t count = d["large_objects"].value("count", int64_t{0});
  int64_t bytes = d["large_objects"].value("bytes", int64_t{0});
  if (now.large_objects != count || now.large_object_bytes != bytes)
    return fmt::format(
        "{} large objects ({} bytes) after the restore, the manifest says {} ({} bytes)",
        now.large_objects, now.large_object_bytes, count, bytes);
  for (const auto &e : d.value("extensions", nlohmann::json::array())) {
    TRY_ASSIGN(auto version, conn.scalar("SELECT extversion FROM pg_extension WHERE extname = " +
                                         conn.quote_literal(e.value("name", ""))));
    if (version.value_or("") != e.value("version", ""))
      return fmt::format("extension {} is {} after the restore, the manifest says version {}",
                         e.value("name", ""), version ? *version : "missing",
                         e.value("version", ""));
  }
  if (d.value("acl_fingerprint", "") != now.acl_fingerprint)
    return std::string("owners or grants of schemas, tables or functions differ from the backup's "
                       "after the restore");
  std::map<std::string, int64_t> matviews(now.matview_rows.begin(), now.matview_rows.end());
  for (const auto &m : d.value("matviews", nlohmann::json::array()))
    if (matviews[m.value("name", "")] != m.value("rows", int64_t{0}))
      util::log_warn("materialized view {} has {} rows after the restore, {} at backup time: a "
                     "restore refreshes it, "
                     "so it was stale then",
                     m.value("name", ""), matviews[m.value("name", "")],
                     m.value("rows", int64_t{0}));
  return compare_sequences(conn, artifact);
}

} // namespace

util::Result<std::string> compare_with_manifest(util::PgConnection &conn,
                                                const model::Artifact &artifact) {
  auto expected = tables_from_json(artifact.details);
  TRY_ASSIGN(auto facts, read_database_facts(conn, {}, {}, true));
  std::map<std::string, int64_t> actual;
  for (const auto &t : facts.tables)
    actual[t.qualified()] = t.rows;
  for (const auto &t : expected) {
    auto it = actual.find(t.qualified());
    if (it == actual.end())
      return fmt::format("table {} is missing after the restore", t.qualified());
    if (!t.partitioned && it->second != t.rows)
      return fmt::format("table {} has {} rows after the restore, the manifest says {}",
                         t.qualified(), it->second, t.rows);
    actual.erase(it);
  }
  // Tables the backup filtered out (tables/exclude_tables) are not expected;
  // otherwise an extra table means the restore did not replace everything.
  if (!actual.empty() && !artifact.details.value("filtered", false))
    return fmt::format("table {} exists after the restore but not in the backup",
                       actual.begin()->first);
  return compare_objects(conn, artifact);
}

} // namespace gate::steps

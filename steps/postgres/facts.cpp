#include "steps/postgres/facts.hpp"

#include "util/sha256.hpp"
#include "util/text.hpp"

#include <cstdlib>

namespace gate::steps {

bool table_selected(const std::string &schema, const std::string &name,
                    const std::vector<std::string> &tables,
                    const std::vector<std::string> &exclude) {
  auto matches = [&](const std::string &pattern) {
    if (pattern.find('.') == std::string::npos) return util::glob_match(pattern, name);
    return util::glob_match(pattern, schema + "." + name);
  };
  if (!tables.empty() && std::none_of(tables.begin(), tables.end(), matches)) return false;
  return std::none_of(exclude.begin(), exclude.end(), matches);
}

util::Result<DatabaseFacts> read_database_facts(util::PgConnection &conn,
                                                const std::vector<std::string> &tables,
                                                const std::vector<std::string> &exclude,
                                                bool count_rows) {
  DatabaseFacts f;
  f.server_version_num = conn.server_version();
  TRY_ASSIGN(
      auto info,
      conn.query("SELECT current_database(), current_setting('server_version'), "
                 "pg_database_size(current_database()), "
                 "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), current_user"));
  f.database = info[0][0].value_or("");
  f.server_version = info[0][1].value_or("");
  f.database_size = std::atoll(info[0][2].value_or("0").c_str());
  f.superuser = info[0][3].value_or("f") == "t";
  f.role = info[0][4].value_or("");
  TRY_ASSIGN(auto exts,
             conn.query("SELECT extname, extversion FROM pg_extension ORDER BY extname"));
  for (auto &row : exts)
    f.extensions.emplace_back(row[0].value_or(""), row[1].value_or(""));
  // Tables pg_dump dumps: ordinary and partitioned tables outside the system
  // schemas that no extension owns.
  TRY_ASSIGN(auto rows, conn.query(R"SQL(
    SELECT n.nspname, c.relname, c.relkind = 'p', pg_total_relation_size(c.oid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      AND n.nspname NOT LIKE 'pg_temp%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2)SQL"));
  TRY_ASSIGN(auto views, conn.query(R"SQL(
    SELECT n.nspname, c.relname, c.relkind = 'm'
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('v', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2)SQL"));
  for (auto &row : views)
    f.views.push_back({row[0].value_or(""), row[1].value_or(""), row[2].value_or("f") == "t"});
  for (auto &row : rows) {
    TableFacts t;
    t.schema = row[0].value_or("");
    t.name = row[1].value_or("");
    t.partitioned = row[2].value_or("f") == "t";
    t.bytes = std::atoll(row[3].value_or("0").c_str());
    if (!table_selected(t.schema, t.name, tables, exclude)) continue;
    if (count_rows && !t.partitioned) {
      TRY_ASSIGN(auto count,
                 conn.scalar("SELECT count(*) FROM ONLY " + conn.quote_identifier(t.schema) + "." +
                             conn.quote_identifier(t.name)));
      t.rows = std::atoll(count.value_or("0").c_str());
    }
    f.tables.push_back(std::move(t));
  }
  if (count_rows) TRY_ASSIGN(f.objects, read_object_facts(conn));
  return f;
}

namespace {

// Schemas, relations and functions pg_dump dumps (not the system's, not an extension's).
constexpr const char *k_acl_fingerprint = R"SQL(
  WITH objects AS (
    SELECT 'schema ' || quote_ident(n.nspname) AS name, n.nspowner AS owner,
           coalesce(n.nspacl, acldefault('n', n.nspowner)) AS acl
    FROM pg_namespace n WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE
          d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
    UNION ALL
    SELECT c.relkind::text || ' ' || format('%I.%I', n.nspname, c.relname), c.relowner, coalesce(c.relacl, acldefault(
             CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE
          d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text, p.proowner, coalesce(p.proacl, acldefault('f', p.proowner))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS (SELECT 1 FROM pg_depend d
          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
  SELECT md5(coalesce(string_agg(line, E'
' ORDER BY line), '')) FROM (
    SELECT o.name || ' ' || pg_get_userbyid(o.owner) || ' ' ||
           coalesce((SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
                                       || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END,
                                       ',' ORDER BY 1) FROM aclexplode(o.acl) a), '') AS line
    FROM objects o) lines)SQL";

} // namespace

namespace {

// The primary key's columns in key order, quoted; empty without one.
util::Result<std::vector<std::string>> primary_key_columns(util::PgConnection &conn,
                                                           const std::string &table) {
  TRY_ASSIGN(auto rows,
             conn.query("SELECT quote_ident(a.attname) FROM pg_index i "
                        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) "
                        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                        "WHERE i.indrelid = " +
                        conn.quote_literal(table) + "::regclass AND i.indisprimary ORDER BY k.n"));
  std::vector<std::string> out;
  for (auto &row : rows)
    out.push_back(row[0].value_or(""));
  return out;
}

} // namespace

util::Result<void> add_content_fingerprints(util::PgConnection &conn,
                                            std::vector<TableFacts> &tables) {
  for (auto &t : tables) {
    if (t.partitioned) continue; // its rows are hashed in its partitions
    std::string table = conn.quote_identifier(t.schema) + "." + conn.quote_identifier(t.name);
    TRY_ASSIGN(auto key, primary_key_columns(conn, table));
    // A primary key orders rows uniquely. Without one, the row's text does:
    // ordering by every column can tie on rows whose text differs (0 and -0)
    // and fails on types without ordering (json, point).
    std::string order = key.empty() ? "r::text" : util::join(key, ", ");
    util::Sha256 hash;
    TRY(conn.copy_out("COPY (SELECT * FROM ONLY " + table + " r ORDER BY " + order + ") TO STDOUT",
                      [&](const char *data, size_t size) -> util::Result<void> {
                        hash.update(data, size);
                        return {};
                      }));
    t.content_sha256 = hash.hex_digest();
  }
  return {};
}

util::Result<ObjectFacts> read_object_facts(util::PgConnection &conn) {
  ObjectFacts o;
  TRY_ASSIGN(
      auto matviews,
      conn.query("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN "
                 "pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' AND "
                 "c.relispopulated AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                 "ORDER BY 1"));
  for (auto &row : matviews) {
    TRY_ASSIGN(auto count, conn.scalar("SELECT count(*) FROM " + row[0].value_or("")));
    o.matview_rows.emplace_back(row[0].value_or(""), std::atoll(count.value_or("0").c_str()));
  }
  // A large object's size is where its end is: no need to read it (INV_READ = 0x40000).
  TRY_ASSIGN(auto los,
             conn.query("SELECT count(*), coalesce(sum(lo_lseek64(lo_open(oid, 262144), 0, 2)), 0) "
                        "FROM pg_largeobject_metadata"));
  o.large_objects = std::atoll(los[0][0].value_or("0").c_str());
  o.large_object_bytes = std::atoll(los[0][1].value_or("0").c_str());
  // Functions are named by regprocedure: the same names on either side need the same search_path.
  TRY(conn.execute("SELECT set_config('search_path', 'pg_catalog', false)"));
  TRY_ASSIGN(auto acl, conn.scalar(k_acl_fingerprint));
  o.acl_fingerprint = acl.value_or("");
  return o;
}

util::Result<std::vector<SequenceFacts>> read_sequences(util::PgConnection &conn) {
  TRY_ASSIGN(
      auto rows,
      conn.query(
          "SELECT schemaname, sequencename, coalesce(last_value, start_value), "
          "last_value IS NOT NULL, increment_by > 0 FROM pg_sequences s "
          "WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
          "AND d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass "
          "AND d.deptype = 'e') ORDER BY 1, 2"));
  std::vector<SequenceFacts> out;
  for (auto &r : rows)
    out.push_back({r[0].value_or(""), r[1].value_or(""), std::atoll(r[2].value_or("0").c_str()),
                   r[3].value_or("f") == "t", r[4].value_or("t") == "t"});
  return out;
}

nlohmann::json to_json(const std::vector<SequenceFacts> &sequences) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto &s : sequences)
    j.push_back({{"schema", s.schema},
                 {"name", s.name},
                 {"last_value", s.last_value},
                 {"called", s.called},
                 {"ascending", s.ascending}});
  return j;
}

std::vector<SequenceFacts> sequences_from_json(const nlohmann::json &details) {
  std::vector<SequenceFacts> out;
  for (const auto &j : details.value("sequences", nlohmann::json::array()))
    out.push_back({j.value("schema", ""), j.value("name", ""), j.value("last_value", int64_t{0}),
                   j.value("called", false), j.value("ascending", true)});
  return out;
}

nlohmann::json to_json(const DatabaseFacts &f) {
  nlohmann::json j;
  j["database"] = f.database;
  j["server_version"] = f.server_version;
  j["database_size"] = f.database_size;
  j["role"] = f.role;
  j["extensions"] = nlohmann::json::array();
  for (auto &[name, version] : f.extensions)
    j["extensions"].push_back({{"name", name}, {"version", version}});
  j["views"] = nlohmann::json::array();
  for (const auto &v : f.views)
    j["views"].push_back(v.qualified());
  j["matviews"] = nlohmann::json::array();
  for (const auto &[name, rows] : f.objects.matview_rows)
    j["matviews"].push_back({{"name", name}, {"rows", rows}});
  j["large_objects"] = {{"count", f.objects.large_objects},
                        {"bytes", f.objects.large_object_bytes}};
  j["acl_fingerprint"] = f.objects.acl_fingerprint;
  j["tables"] = nlohmann::json::array();
  for (const auto &t : f.tables) {
    nlohmann::json tj{{"schema", t.schema}, {"name", t.name}, {"rows", t.rows}, {"bytes", t.bytes}};
    if (t.partitioned) tj["partitioned"] = true;
    if (!t.content_sha256.empty()) tj["content_sha256"] = t.content_sha256;
    j["tables"].push_back(std::move(tj));
  }
  return j;
}

std::vector<TableFacts> tables_from_json(const nlohmann::json &details) {
  std::vector<TableFacts> out;
  for (const auto &tj : details.value("tables", nlohmann::json::array())) {
    TableFacts t;
    t.schema = tj.value("schema", "");
    t.name = tj.value("name", "");
    t.rows = tj.value("rows", int64_t{0});
    t.bytes = tj.value("bytes", int64_t{0});
    t.partitioned = tj.value("partitioned", false);
    t.content_sha256 = tj.value("content_sha256", "");
    out.push_back(std::move(t));
  }
  return out;
}

util::Result<ExportedSnapshot> ExportedSnapshot::open(std::unique_ptr<util::PgConnection> conn) {
  TRY(conn->execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  TRY_ASSIGN(auto id, conn->scalar("SELECT pg_export_snapshot()"));
  ExportedSnapshot s;
  s.m_conn = std::move(conn);
  s.m_id = id.value_or("");
  return s;
}

} // namespace gate::steps

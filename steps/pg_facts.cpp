#include "steps/pg_facts.hpp"

#include "util/text.hpp"

#include <cstdlib>

namespace gate::steps {

bool table_selected(const std::string& schema, const std::string& name, const std::vector<std::string>& tables,
                    const std::vector<std::string>& exclude) {
  auto matches = [&](const std::string& pattern) {
    if (pattern.find('.') == std::string::npos) return util::glob_match(pattern, name);
    return util::glob_match(pattern, schema + "." + name);
  };
  if (!tables.empty() && std::none_of(tables.begin(), tables.end(), matches)) return false;
  return std::none_of(exclude.begin(), exclude.end(), matches);
}

util::Result<DatabaseFacts> read_database_facts(util::PgConnection& conn, const std::vector<std::string>& tables,
                                                const std::vector<std::string>& exclude, bool count_rows) {
  DatabaseFacts f;
  f.server_version_num = conn.server_version();
  TRY_ASSIGN(auto info, conn.query("SELECT current_database(), current_setting('server_version'), "
                                   "pg_database_size(current_database()), "
                                   "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), current_user"));
  f.database = info[0][0].value_or("");
  f.server_version = info[0][1].value_or("");
  f.database_size = std::atoll(info[0][2].value_or("0").c_str());
  f.superuser = info[0][3].value_or("f") == "t";
  f.role = info[0][4].value_or("");
  TRY_ASSIGN(auto exts, conn.query("SELECT extname, extversion FROM pg_extension ORDER BY extname"));
  for (auto& row : exts) f.extensions.emplace_back(row[0].value_or(""), row[1].value_or(""));
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
  for (auto& row : rows) {
    TableFacts t;
    t.schema = row[0].value_or("");
    t.name = row[1].value_or("");
    t.partitioned = row[2].value_or("f") == "t";
    t.bytes = std::atoll(row[3].value_or("0").c_str());
    if (!table_selected(t.schema, t.name, tables, exclude)) continue;
    if (count_rows && !t.partitioned) {
      TRY_ASSIGN(auto count, conn.scalar("SELECT count(*) FROM ONLY " + conn.quote_identifier(t.schema) + "." +
                                         conn.quote_identifier(t.name)));
      t.rows = std::atoll(count.value_or("0").c_str());
    }
    f.tables.push_back(std::move(t));
  }
  return f;
}

nlohmann::json to_json(const DatabaseFacts& f) {
  nlohmann::json j;
  j["database"] = f.database;
  j["server_version"] = f.server_version;
  j["database_size"] = f.database_size;
  j["role"] = f.role;
  j["extensions"] = nlohmann::json::array();
  for (auto& [name, version] : f.extensions) j["extensions"].push_back({{"name", name}, {"version", version}});
  j["views"] = nlohmann::json::array();
  for (const auto &v : f.views)
    j["views"].push_back(v.qualified());
  j["tables"] = nlohmann::json::array();
  for (const auto& t : f.tables) {
    nlohmann::json tj{{"schema", t.schema}, {"name", t.name}, {"rows", t.rows}, {"bytes", t.bytes}};
    if (t.partitioned) tj["partitioned"] = true;
    j["tables"].push_back(std::move(tj));
  }
  return j;
}

std::vector<TableFacts> tables_from_json(const nlohmann::json& details) {
  std::vector<TableFacts> out;
  for (const auto& tj : details.value("tables", nlohmann::json::array())) {
    TableFacts t;
    t.schema = tj.value("schema", "");
    t.name = tj.value("name", "");
    t.rows = tj.value("rows", int64_t{0});
    t.bytes = tj.value("bytes", int64_t{0});
    t.partitioned = tj.value("partitioned", false);
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

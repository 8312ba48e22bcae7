#include "steps/postgres/database_properties.hpp"

#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <set>

namespace gate::steps {

namespace {

std::vector<std::string> string_list(const nlohmann::json &j, const char *key) {
  std::vector<std::string> out;
  for (const auto &v : j.value(key, nlohmann::json::array()))
    out.push_back(v.get<std::string>());
  return out;
}

// pg_db_role_setting's text[] as the strings it holds ({a=1,"b=x, y"}).
util::Result<std::vector<std::string>> settings_of(util::PgConnection &conn,
                                                   const std::string &where) {
  TRY_ASSIGN(auto rows,
             conn.query("SELECT u.s FROM pg_db_role_setting r, unnest(r.setconfig) u(s) WHERE " +
                        where + " ORDER BY 1"));
  std::vector<std::string> out;
  for (auto &row : rows)
    out.push_back(row[0].value_or(""));
  return out;
}

util::Result<void> read_acl_and_settings(util::PgConnection &conn, const std::string &oid,
                                         DatabaseProperties &p) {
  // The default privileges (a NULL datacl) spelled out, so that they compare.
  TRY_ASSIGN(
      auto acl,
      conn.query("SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END "
                 "|| '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END "
                 "FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
                 "WHERE d.oid = " +
                 oid + " ORDER BY 1"));
  for (auto &row : acl)
    p.acl.push_back(row[0].value_or(""));
  TRY_ASSIGN(p.settings, settings_of(conn, "r.setdatabase = " + oid + " AND r.setrole = 0"));
  TRY_ASSIGN(auto roles,
             conn.query("SELECT DISTINCT pg_get_userbyid(setrole) FROM pg_db_role_setting "
                        "WHERE setdatabase = " +
                        oid + " AND setrole <> 0 ORDER BY 1"));
  for (auto &row : roles) {
    RoleSettings rs{row[0].value_or(""), {}};
    TRY_ASSIGN(rs.settings, settings_of(conn, "r.setdatabase = " + oid +
                                                  " AND r.setrole = (SELECT oid FROM "
                                                  "pg_roles WHERE rolname = " +
                                                  conn.quote_literal(rs.role) + ")"));
    p.role_settings.push_back(std::move(rs));
  }
  return {};
}

} // namespace

util::Result<DatabaseProperties> read_database_properties(util::PgConnection &conn,
                                                          const std::string &dbname) {
  bool pg15 = conn.server_version() >= 150000;
  std::string locale = pg15 ? "CASE d.datlocprovider WHEN 'i' THEN 'icu' ELSE 'libc' END, "
                              "coalesce(d.daticulocale, '')"
                            : "'libc', ''";
  TRY_ASSIGN(auto rows,
             conn.query("SELECT d.oid, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), "
                        "d.datcollate, d.datctype, " +
                        locale +
                        ", t.spcname, d.datconnlimit, "
                        "shobj_description(d.oid, 'pg_database') FROM pg_database d "
                        "JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = " +
                        conn.quote_literal(dbname)));
  if (rows.empty()) return util::fail("database '" + dbname + "' does not exist");
  auto &r = rows[0];
  DatabaseProperties p;
  p.owner = r[1].value_or("");
  p.encoding = r[2].value_or("");
  p.collate = r[3].value_or("");
  p.ctype = r[4].value_or("");
  p.locale_provider = r[5].value_or("libc");
  p.icu_locale = r[6].value_or("");
  p.tablespace = r[7].value_or("pg_default");
  p.connection_limit = std::atoi(r[8].value_or("-1").c_str());
  p.comment = r[9];
  TRY(read_acl_and_settings(conn, r[0].value_or("0"), p));
  return p;
}

nlohmann::json to_json(const DatabaseProperties &p) {
  nlohmann::json j{{"owner", p.owner},
                   {"encoding", p.encoding},
                   {"collate", p.collate},
                   {"ctype", p.ctype},
                   {"locale_provider", p.locale_provider},
                   {"icu_locale", p.icu_locale},
                   {"tablespace", p.tablespace},
                   {"connection_limit", p.connection_limit},
                   {"acl", p.acl},
                   {"settings", p.settings}};
  j["comment"] = p.comment ? nlohmann::json(*p.comment) : nlohmann::json();
  j["role_settings"] = nlohmann::json::array();
  for (const auto &rs : p.role_settings)
    j["role_settings"].push_back({{"role", rs.role}, {"settings", rs.settings}});
  return j;
}

std::optional<DatabaseProperties> properties_from_json(const nlohmann::json &details) {
  if (!details.contains("database_properties") || !details["database_properties"].is_object())
    return std::nullopt;
  const auto &j = details["database_properties"];
  DatabaseProperties p;
  p.owner = j.value("owner", "");
  p.encoding = j.value("encoding", "");
  p.collate = j.value("collate", "");
  p.ctype = j.value("ctype", "");
  p.locale_provider = j.value("locale_provider", "libc");
  p.icu_locale = j.value("icu_locale", "");
  p.tablespace = j.value("tablespace", "pg_default");
  p.connection_limit = j.value("connection_limit", -1);
  p.acl = string_list(j, "acl");
  if (j.contains("comment") && j["comment"].is_string())
    p.comment = j["comment"].get<std::string>();
  p.settings = string_list(j, "settings");
  for (const auto &rs : j.value("role_settings", nlohmann::json::array()))
    p.role_settings.push_back({rs.value("role", ""), string_list(rs, "settings")});
  return p;
}

std::string create_database_sql(const util::PgConnection &conn, const std::string &name,
                                const DatabaseProperties &p) {
  std::string sql = "CREATE DATABASE " + conn.quote_identifier(name) + " TEMPLATE template0";
  if (!p.owner.empty()) sql += " OWNER " + conn.quote_identifier(p.owner);
  if (!p.encoding.empty()) sql += " ENCODING " + conn.quote_literal(p.encoding);
  if (p.locale_provider == "icu")
    sql += " LOCALE_PROVIDER icu ICU_LOCALE " + conn.quote_literal(p.icu_locale);
  if (!p.collate.empty()) sql += " LC_COLLATE " + conn.quote_literal(p.collate);
  if (!p.ctype.empty()) sql += " LC_CTYPE " + conn.quote_literal(p.ctype);
  if (!p.tablespace.empty() && p.tablespace != "pg_default")
    sql += " TABLESPACE " + conn.quote_identifier(p.tablespace);
  return sql;
}

namespace {

// Settings whose value is a list of names (GUC_LIST_QUOTE): each element is
// one literal, as pg_dump writes them ("$user", public -> '$user', 'public').
bool is_list_setting(const std::string &name) {
  static const std::set<std::string> k_lists = {
      "local_preload_libraries",  "search_path",      "session_preload_libraries",
      "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories"};
  return k_lists.count(name) > 0;
}

std::string list_value(const util::PgConnection &conn, const std::string &value) {
  std::string out, element;
  bool quoted = false;
  auto flush = [&] {
    size_t b = element.find_first_not_of(' '), e = element.find_last_not_of(' ');
    std::string trimmed = b == std::string::npos ? "" : element.substr(b, e - b + 1);
    out += (out.empty() ? "" : ", ") + conn.quote_literal(trimmed);
    element.clear();
  };
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '"' && quoted && i + 1 < value.size() && value[i + 1] == '"')
      element.push_back(value[++i]);
    else if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      flush();
    else
      element.push_back(c);
  }
  flush();
  return out;
}

// "SET name = value" for one "name=value" of pg_db_role_setting.
std::string set_clause(const util::PgConnection &conn, const std::string &setting) {
  size_t eq = setting.find('=');
  std::string name = setting.substr(0, eq);
  std::string value = eq == std::string::npos ? "" : setting.substr(eq + 1);
  return "SET " + conn.quote_identifier(name) + " = " +
         (is_list_setting(name) ? list_value(conn, value) : conn.quote_literal(value));
}

std::string grantee_sql(const util::PgConnection &conn, const std::string &grantee) {
  return grantee == "PUBLIC" ? "PUBLIC" : conn.quote_identifier(grantee);
}

// REVOKE what `now` grants, then GRANT what was recorded ("role=PRIV[*]").
void acl_statements(const util::PgConnection &conn, const std::string &db,
                    const DatabaseProperties &recorded, const DatabaseProperties &now,
                    std::vector<std::string> &out) {
  if (recorded.acl.empty() || recorded.acl == now.acl) return;
  std::set<std::string> grantees;
  for (const auto &item : now.acl)
    grantees.insert(item.substr(0, item.rfind('=')));
  for (const auto &g : grantees)
    out.push_back("REVOKE ALL ON DATABASE " + db + " FROM " + grantee_sql(conn, g) + " CASCADE");
  std::map<std::pair<std::string, bool>, std::string> grants; // (grantee, grantable) -> privileges
  for (const auto &item : recorded.acl) {
    size_t eq = item.rfind('=');
    std::string privilege = item.substr(eq + 1);
    bool grantable = !privilege.empty() && privilege.back() == '*';
    if (grantable) privilege.pop_back();
    auto &list = grants[{item.substr(0, eq), grantable}];
    list += (list.empty() ? "" : ", ") + privilege;
  }
  for (const auto &[key, privileges] : grants)
    out.push_back("GRANT " + privileges + " ON DATABASE " + db + " TO " +
                  grantee_sql(conn, key.first) + (key.second ? " WITH GRANT OPTION" : ""));
}

void settings_statements(const util::PgConnection &conn, const std::string &db,
                         const DatabaseProperties &recorded, const DatabaseProperties &now,
                         std::vector<std::string> &out) {
  if (recorded.settings != now.settings) {
    if (!now.settings.empty()) out.push_back("ALTER DATABASE " + db + " RESET ALL");
    for (const auto &s : recorded.settings)
      out.push_back("ALTER DATABASE " + db + " " + set_clause(conn, s));
  }
  std::map<std::string, std::vector<std::string>> before, after;
  for (const auto &rs : now.role_settings)
    before[rs.role] = rs.settings;
  for (const auto &rs : recorded.role_settings)
    after[rs.role] = rs.settings;
  for (const auto &[role, settings] : before)
    if (after[role] != settings)
      out.push_back("ALTER ROLE " + conn.quote_identifier(role) + " IN DATABASE " + db +
                    " RESET ALL");
  for (const auto &[role, settings] : after) {
    if (before.count(role) && before[role] == settings) continue;
    for (const auto &s : settings)
      out.push_back("ALTER ROLE " + conn.quote_identifier(role) + " IN DATABASE " + db + " " +
                    set_clause(conn, s));
  }
}

std::string differs(const char *what, const std::string &recorded, const std::string &actual) {
  return fmt::format("the database's {} is {}, the manifest says {}", what,
                     actual.empty() ? "(none)" : actual, recorded.empty() ? "(none)" : recorded);
}

std::string joined(const std::vector<std::string> &items) {
  std::string out;
  for (const auto &i : items)
    out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? "(none)" : out;
}

std::string role_settings_text(const std::vector<RoleSettings> &list) {
  std::vector<std::string> out;
  for (const auto &rs : list)
    out.push_back(rs.role + ": " + joined(rs.settings));
  std::sort(out.begin(), out.end());
  return joined(out);
}

} // namespace

std::vector<std::string> property_statements(const util::PgConnection &conn,
                                             const std::string &name,
                                             const DatabaseProperties &recorded,
                                             const DatabaseProperties &now, PropertyScope scope) {
  std::vector<std::string> out;
  std::string db = conn.quote_identifier(name);
  if (!recorded.owner.empty() && recorded.owner != now.owner)
    out.push_back("ALTER DATABASE " + db + " OWNER TO " + conn.quote_identifier(recorded.owner));
  if (recorded.comment != now.comment)
    out.push_back("COMMENT ON DATABASE " + db + " IS " +
                  (recorded.comment ? conn.quote_literal(*recorded.comment) : "NULL"));
  acl_statements(conn, db, recorded, now, out);
  settings_statements(conn, db, recorded, now, out);
  if (scope == PropertyScope::created && recorded.connection_limit != now.connection_limit)
    out.push_back("ALTER DATABASE " + db + " CONNECTION LIMIT " +
                  std::to_string(recorded.connection_limit));
  return out;
}

std::string compare_properties(const DatabaseProperties &recorded, const DatabaseProperties &actual,
                               PropertyScope scope) {
  if (recorded.owner != actual.owner) return differs("owner", recorded.owner, actual.owner);
  if (scope == PropertyScope::created) {
    if (recorded.encoding != actual.encoding)
      return differs("encoding", recorded.encoding, actual.encoding);
    if (recorded.collate != actual.collate)
      return differs("LC_COLLATE", recorded.collate, actual.collate);
    if (recorded.ctype != actual.ctype) return differs("LC_CTYPE", recorded.ctype, actual.ctype);
    if (recorded.locale_provider != actual.locale_provider ||
        recorded.icu_locale != actual.icu_locale)
      return differs("locale provider", recorded.locale_provider + " " + recorded.icu_locale,
                     actual.locale_provider + " " + actual.icu_locale);
    if (recorded.tablespace != actual.tablespace)
      return differs("default tablespace", recorded.tablespace, actual.tablespace);
    if (recorded.connection_limit != actual.connection_limit)
      return differs("connection limit", std::to_string(recorded.connection_limit),
                     std::to_string(actual.connection_limit));
  }
  if (recorded.comment != actual.comment)
    return differs("comment", recorded.comment.value_or(""), actual.comment.value_or(""));
  if (!recorded.acl.empty() && recorded.acl != actual.acl)
    return differs("ACL", joined(recorded.acl), joined(actual.acl));
  if (recorded.settings != actual.settings)
    return differs("settings", joined(recorded.settings), joined(actual.settings));
  if (role_settings_text(recorded.role_settings) != role_settings_text(actual.role_settings))
    return differs("per-role settings", role_settings_text(recorded.role_settings),
                   role_settings_text(actual.role_settings));
  return {};
}

} // namespace gate::steps

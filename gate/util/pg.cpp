#include "util/pg.hpp"

#include "util/cancel.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <libpq-fe.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace gate::util {

namespace {

std::string quote_keyword_value(const std::string &v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string trim_message(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
    m.pop_back();
  // libpq messages span lines ("FATAL: ...\nDETAIL: ..."); keep them on one.
  for (auto &c : m)
    if (c == '\n') c = ' ';
  return m;
}

} // namespace

Result<ConnInfo> ConnInfo::parse(const std::string &conninfo) {
  char *err = nullptr;
  PQconninfoOption *opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    std::string message = err ? trim_message(err) : "out of memory";
    if (err) PQfreemem(err);
    return fail("invalid database URL: " + message);
  }
  ConnInfo info;
  for (PQconninfoOption *o = opts; o->keyword; ++o)
    if (o->val && *o->val) info.options[o->keyword] = o->val;
  PQconninfoFree(opts);
  return info;
}

std::string ConnInfo::without_password() const {
  std::string out;
  for (const auto &[k, v] : options) {
    if (k.find("password") != std::string::npos)
      continue; // password, sslpassword: never on a command line
    if (!out.empty()) out.push_back(' ');
    out += k + "=" + quote_keyword_value(v);
  }
  return out;
}

std::string ConnInfo::with_password() const {
  std::string out;
  for (const auto &[k, v] : options) {
    if (!out.empty()) out.push_back(' ');
    out += k + "=" + quote_keyword_value(v);
  }
  return out;
}

std::string ConnInfo::get(const std::string &key) const {
  auto it = options.find(key);
  return it == options.end() ? std::string() : it->second;
}

ConnInfo ConnInfo::with_dbname(const std::string &dbname) const {
  ConnInfo copy = *this;
  copy.options["dbname"] = dbname;
  return copy;
}

std::string ConnInfo::describe() const {
  std::string user = get("user");
  if (user.empty()) {
    const char *env = std::getenv("PGUSER");
    user = env ? env : "";
  }
  std::string host = get("host").empty() ? get("hostaddr") : get("host");
  if (host.empty()) host = "local socket";
  std::string port = get("port");
  std::string db = get("dbname");
  if (db.empty()) db = user;
  return (user.empty() ? "" : user + "@") + host + (port.empty() ? "" : ":" + port) + "/" + db;
}

struct PgConnection::Impl {
  PGconn *conn = nullptr;
  ~Impl() {
    if (conn) PQfinish(conn);
  }
};

// Cancels the running query if the user interrupts gate.
class QueryCancelGuard {
public:
  explicit QueryCancelGuard(PGconn *conn) : m_cancel(PQgetCancel(conn)) {
    if (m_cancel)
      m_hook = add_cancel_hook([c = m_cancel] {
        char err[256];
        PQcancel(c, err, sizeof err);
      });
  }
  ~QueryCancelGuard() {
    if (m_hook) remove_cancel_hook(m_hook);
    if (m_cancel) PQfreeCancel(m_cancel);
  }

private:
  PGcancel *m_cancel = nullptr;
  int m_hook = 0;
};

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const ConnInfo &info_in,
                                                            std::chrono::milliseconds timeout,
                                                            const std::string &application_name) {
  ConnInfo info = info_in;
  if (!info.options.count("connect_timeout")) {
    long long seconds =
        std::max<long long>(2, (timeout.count() + 999) / 1000); // libpq's minimum is 2 s
    info.options["connect_timeout"] = std::to_string(seconds);
  }
  if (!info.options.count("application_name")) info.options["application_name"] = application_name;
  auto c = std::unique_ptr<PgConnection>(new PgConnection());
  c->m_impl = std::make_unique<Impl>();
  c->m_describe = info.describe();
  c->m_impl->conn = PQconnectdb(info.with_password().c_str());
  if (!c->m_impl->conn) return fail("unable to connect to " + c->m_describe + ": out of memory");
  if (PQstatus(c->m_impl->conn) != CONNECTION_OK)
    return fail("unable to connect to " + c->m_describe + ": " +
                trim_message(PQerrorMessage(c->m_impl->conn)));
  // Server notices ("... does not exist, skipping") are detail, not news.
  PQsetNoticeProcessor(
      c->m_impl->conn,
      [](void *, const char *message) { log_debug("postgres: {}", trim_message(message)); },
      nullptr);
  return c;
}

PgConnection::~PgConnection() = default;

int PgConnection::server_version() const {
  return PQserverVersion(m_impl->conn);
}

void PgConnection::cancel() {
  if (PGcancel *c = PQgetCancel(m_impl->conn)) {
    char err[256];
    PQcancel(c, err, sizeof err);
    PQfreeCancel(c);
  }
}

Result<std::vector<PgRow>> PgConnection::query(const std::string &sql) {
  PGresult *res;
  {
    QueryCancelGuard guard(m_impl->conn);
    res = PQexec(m_impl->conn, sql.c_str());
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> own(res, PQclear);
  auto status = PQresultStatus(res);
  m_last_sqlstate.clear();
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    if (const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr)
      m_last_sqlstate = state;
    if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
    return fail("query failed on " + m_describe + ": " +
                trim_message(PQerrorMessage(m_impl->conn)));
  }
  std::vector<PgRow> rows;
  int n = PQntuples(res), cols = PQnfields(res);
  rows.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    PgRow row;
    for (int col = 0; col < cols; ++col)
      row.push_back(PQgetisnull(res, r, col) ? std::nullopt
                                             : std::optional<std::string>(PQgetvalue(res, r, col)));
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<void> PgConnection::execute(const std::string &sql) {
  TRY(query(sql));
  return {};
}

Result<std::optional<std::string>> PgConnection::scalar(const std::string &sql) {
  TRY_ASSIGN(auto rows, query(sql));
  if (rows.size() != 1 || rows[0].size() != 1)
    return fail("expected one value from the query, got " + std::to_string(rows.size()) +
                " row(s)" +
                (rows.empty() ? "" : " of " + std::to_string(rows[0].size()) + " column(s)"));
  return rows[0][0];
}

Result<uint64_t>
PgConnection::copy_out(const std::string &sql,
                       const std::function<Result<void>(const char *, size_t)> &sink) {
  QueryCancelGuard guard(m_impl->conn);
  PGresult *res = PQexec(m_impl->conn, sql.c_str());
  std::unique_ptr<PGresult, decltype(&PQclear)> own(res, PQclear);
  if (PQresultStatus(res) != PGRES_COPY_OUT)
    return fail("COPY failed on " + m_describe + ": " + trim_message(PQerrorMessage(m_impl->conn)));
  uint64_t total = 0;
  std::optional<Error> sink_error;
  while (true) {
    char *buf = nullptr;
    int n = PQgetCopyData(m_impl->conn, &buf, 0);
    if (n == -1) break;
    if (n == -2)
      return fail("COPY failed on " + m_describe + ": " +
                  trim_message(PQerrorMessage(m_impl->conn)));
    if (!sink_error) {
      auto r = sink(buf, static_cast<size_t>(n));
      if (!r) sink_error = r.error(); // keep draining so the connection stays usable
    }
    total += static_cast<uint64_t>(n);
    PQfreemem(buf);
  }
  while (PGresult *r = PQgetResult(m_impl->conn)) {
    std::unique_ptr<PGresult, decltype(&PQclear)> own_r(r, PQclear);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
      return fail("COPY failed on " + m_describe + ": " + trim_message(PQresultErrorMessage(r)));
    }
  }
  if (sink_error) return std::unexpected(*sink_error);
  return total;
}

std::string PgConnection::quote_identifier(const std::string &name) const {
  char *q = PQescapeIdentifier(m_impl->conn, name.c_str(), name.size());
  std::string out = q ? q : "\"\"";
  if (q) PQfreemem(q);
  return out;
}

std::string PgConnection::quote_literal(const std::string &value) const {
  char *q = PQescapeLiteral(m_impl->conn, value.c_str(), value.size());
  std::string out = q ? q : "''";
  if (q) PQfreemem(q);
  return out;
}

std::string libpq_version() {
  int v = PQlibVersion();
  return std::to_string(v / 10000) + "." + std::to_string(v % 100);
}

int remove_stale_password_files() {
  const char *tmpdir = std::getenv("TMPDIR");
  std::filesystem::path dir = tmpdir && *tmpdir ? tmpdir : "/tmp";
  int removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (it->path().filename().string().rfind("gate-pgpass-", 0) != 0) continue;
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid())
      continue;
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

} // namespace gate::util

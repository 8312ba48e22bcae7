// libpq, wrapped: connections with a timeout, small queries, COPY TO STDOUT
// streaming, and conninfo handling that keeps passwords out of child
// processes' command lines. No libpq type leaves pg.cpp.
#pragma once

#include "util/expected.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gate::util {

// A parsed libpq URI or keyword string.
struct ConnInfo {
  std::map<std::string, std::string> options; // host, port, user, dbname, password, sslmode...

  // Parses a URI ("postgresql://...") or keyword string ("host=... dbname=...").
  static Result<ConnInfo> parse(const std::string &conninfo);
  // A keyword string without the password (safe for a child's command line).
  std::string without_password() const;
  // The full keyword string (password included): only for libpq in-process.
  std::string with_password() const;
  std::string get(const std::string &key) const;
  // A copy connecting to another database.
  ConnInfo with_dbname(const std::string &dbname) const;
  // "user@host:port/dbname" for messages.
  std::string describe() const;
};

using PgRow = std::vector<std::optional<std::string>>;

class PgConnection {
public:
  // Connects, failing after `timeout`. Errors name the database, never the
  // password ("unable to connect to database 'app' (u@h:5432/app): ...").
  static Result<std::unique_ptr<PgConnection>> connect(const ConnInfo &info,
                                                       std::chrono::milliseconds timeout,
                                                       const std::string &application_name);
  ~PgConnection();

  // Runs SQL returning rows (small results only). Interruptible by cancel.
  Result<std::vector<PgRow>> query(const std::string &sql);
  // Runs SQL with no interesting result.
  Result<void> execute(const std::string &sql);
  // The single value of a one-row, one-column query.
  Result<std::optional<std::string>> scalar(const std::string &sql);
  // Streams `COPY ... TO STDOUT` data to `sink` chunk by chunk.
  Result<uint64_t> copy_out(const std::string &sql,
                            const std::function<Result<void>(const char *, size_t)> &sink);

  // Asks the server to cancel whatever this connection runs now (thread-safe).
  void cancel();

  int server_version() const; // e.g. 150014
  std::string quote_identifier(const std::string &name) const;
  std::string quote_literal(const std::string &value) const;
  const std::string &describe() const { return m_describe; }
  // The SQLSTATE of the last statement that failed ("23505"), empty after a
  // success: lets callers tell errors apart whatever the server's language.
  const std::string &last_sqlstate() const { return m_last_sqlstate; }

private:
  PgConnection() = default;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::string m_describe;
  std::string m_last_sqlstate;
};

// libpq's version, e.g. "15.14".
std::string libpq_version();

// Removes the 0600 password files ($TMPDIR/gate-pgpass-*) that gate
// versions before 0.2 handed to pg_dump and that a killed gate left behind.
// Returns how many were removed.
int remove_stale_password_files();

} // namespace gate::util

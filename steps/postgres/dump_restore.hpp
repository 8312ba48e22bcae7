// Putting a database artifact into a database with the real tools — shared by
// deep verification (into a scratch database) and rollback (into the real
// one) — and checking the result against the manifest's tables and rows.
#pragma once

#include "model/manifest.hpp"
#include "steps/postgres/target.hpp"

#include <filesystem>
#include <functional>

namespace gate::steps {

struct RestoreRequest {
  const model::Artifact *artifact = nullptr;
  std::filesystem::path set_dir;
  // A fresh, empty database (a rollback's new one, a deep verify's scratch
  // copy): no --clean. Restoring over an existing database is clean_restore's
  // job (steps/postgres/restore.cpp): it needs its prelude in the same transaction.
  util::ConnInfo into;
  PgTools tools;
  int jobs = 1;
  bool keep_owners = false; // keep owners and grants (a rollback's new database)
  std::function<void(uint64_t)> progress;
};

// Passes on a script that wraps itself in one transaction (pg_restore
// --single-transaction writes "BEGIN;" before its first statement and
// "COMMIT;" after its last) without those two lines, so that the caller's
// own transaction spans the script and the caller alone decides to commit.
// A script that does not start with BEGIN; passes unchanged.
class OwnTransactionFilter {
public:
  using Sink = std::function<util::Result<void>(const char *, size_t)>;
  explicit OwnTransactionFilter(Sink sink) : m_sink(std::move(sink)) {}
  util::Result<void> feed(const char *data, size_t size);
  // Fails when the script began with BEGIN; but does not end with its COMMIT;.
  util::Result<void> finish();
  bool wrapped() const { return m_wrapped; }

private:
  util::Result<void> pass(const char *data, size_t size);
  Sink m_sink;
  std::string m_head; // until the first statement
  std::string m_tail; // held back: it may hold the final COMMIT;
  bool m_head_done = false;
  bool m_wrapped = false;
};

// Restores a custom, directory or sql artifact. Fails with the tool's error.
util::Result<void> restore_artifact(const RestoreRequest &request);

// A hint naming what to grant `role` when a restore failed for lack of a
// privilege ("\nhint: ..."), empty when the error is not about privileges.
std::string restore_hint(const std::string &error, const std::string &role);

// True when this artifact format can be restored by restore_artifact.
bool restorable_format(const std::string &format);

// Compares the tables and exact row counts in `conn`'s database with the
// artifact's manifest entry. Returns the first difference, empty when equal.
util::Result<std::string> compare_with_manifest(util::PgConnection &conn,
                                                const model::Artifact &artifact);

} // namespace gate::steps

// Standby databases (`standby: true`): the restore a deep verify makes is
// kept, closed to every connection, as `<db>_gate_standby`, and a rollback to
// its set swaps it in by two renames in one transaction instead of restoring.
//
// Identity: a rollback trusts a standby only when the database named in the
// manifest still exists with the recorded oid (not dropped and made again,
// not another database renamed to its name), still has ALLOW_CONNECTIONS
// false, has no session on it, and pg_stat_database says no client session
// was opened on it since it was closed: `sessions` equals the count recorded
// at close and `stats_reset` is unchanged (reset statistics cannot prove
// anything, so the standby is then not trusted). Transaction counters are not
// used: autovacuum may work in a closed database without anyone opening it.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "model/swap_journal.hpp"
#include "steps/postgres/target.hpp"
#include "steps/swap.hpp"
#include "util/expected.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace gate::steps {

// `<db>_gate_standby`, cut to PostgreSQL's 63 bytes.
std::string standby_database_name(const std::string &live);
// `<db>_replaced_<rollback_id>`, cut to 63 bytes (the id is kept whole).
std::string replaced_database_name(const std::string &live, const std::string &rollback_id);

// Preflight of a `standby: true` database, changing nothing: the role may
// create databases and is a member of the database's owner. Fails with a
// hint naming the statement to run.
util::Result<void> check_standby_privileges(const config::PipelineConfig &config,
                                            const config::DatabaseTarget &target);

// Why database `dbname` cannot have a standby (properties a copy cannot
// carry: subscriptions, replication slots, a template database), or empty.
util::Result<std::string> standby_refusal(util::PgConnection &admin, const std::string &dbname);

// What the standby build keeps: the verified copy `scratch` (just restored
// and compared) becomes the standby of `live`. Closes it, waits until no
// session is left on it, records its identity, and only then drops the older
// standby and renames `scratch` to the standby name. Returns the manifest's
// details["standby"] (see docs/pipeline-reference.md).
struct StandbyBuild {
  std::string live;
  std::string scratch;
  std::string set_id;
  long long build_ms = 0;
  long long check_ms = 0; // comparing the copy's tables and row counts (a swap's check)
};
util::Result<nlohmann::json> keep_as_standby(util::PgConnection &admin, const model::Artifact &a,
                                             const StandbyBuild &build);

// Whether the standby recorded in `a.details["standby"]` can be swapped in
// for a rollback to set `set_id`: empty when it can, else the reason.
std::string standby_unusable_reason(util::PgConnection &admin, const model::Artifact &a,
                                    const std::string &set_id);

// The swap time a plan predicts for a standby rollback: the renames, ending
// the sessions, and checking the row counts (measured at about 50 ms for the
// renames; sessions get up to 5 s to end).
long long predicted_standby_swap_ms(const model::Artifact &a);

// Exchanges the database at `entry.live` with the one at `incoming` in one
// transaction: new connections to the live name are blocked and its
// sessions ended first (the access is journaled as a rollback's is), the live
// database goes to `outgoing` (closed to connections), `incoming` takes the
// live name and gets the access the live one had. On any failure the live
// name keeps its database. `fault` names the points before and after the
// renames ("standby" gives standby.before-swap and standby.after-swap).
util::Result<void> exchange_databases(const PgTarget &pg, util::PgConnection &admin,
                                      const std::string &live, const std::string &incoming,
                                      const std::string &outgoing, const char *fault);

// A connection to the maintenance database of the target's server (never
// the database being swapped).
util::Result<std::unique_ptr<util::PgConnection>> standby_admin(const PgTarget &pg);

// The swap operations of database standbys (the "database" row of k_swap_kinds).
extern const SwapOps k_database_swap_ops;

} // namespace gate::steps

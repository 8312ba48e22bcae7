// Putting a database back from a set. mode recreate (default): the dump is
// restored with owners and grants into a new database created with the
// recorded database properties which, once its tables, row counts and
// properties match the manifest, replaces the old one by an atomic rename.
// mode clean (for roles that may not create databases): one transaction that
// blocks new connections, ends other sessions, drops what was created since
// the backup and the backup's partitioned tables, replays the dump
// (pg_restore --single-transaction's script through psql) and re-applies the
// database's own properties: it commits whole or changes nothing. Either way
// the result is compared with the manifest, and the plain SQL dump is the
// fallback when the custom one fails.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "steps/postgres/database_properties.hpp"
#include "steps/postgres/target.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <functional>

namespace gate::steps {

struct DatabaseRestoreResult {
  std::string used;       // the artifact restored ("databases/app.dump.zst")
  std::string note;       // e.g. "custom dump failed; restored from the SQL dump"
  std::string difference; // non-empty: restored, but this differs from the manifest
  long long ms = 0;
};

// Restores database `target` from the best artifact in `manifest`. An error
// means the database is as it was (recreate dropped its new copy; clean's
// transaction rolled back); a result with a `difference` means it was
// replaced by data that does not match the manifest.
util::Result<DatabaseRestoreResult> restore_database(const config::PipelineConfig &config,
                                                     const config::DatabaseTarget &target,
                                                     const model::Manifest &manifest,
                                                     const std::filesystem::path &set_dir,
                                                     const std::function<void(uint64_t)> &progress);

// Tables in the live database that the backup does not hold: a clean
// rollback drops them (empty for a backup limited by tables/exclude_tables).
util::Result<std::vector<std::string>> tables_created_since(const config::PipelineConfig &config,
                                                            const config::DatabaseTarget &target,
                                                            const model::Artifact &artifact);

// Whether the target database exists on its server (it may have been
// dropped: then there is nothing to snapshot, and it is created to restore into).
util::Result<bool> database_exists(const config::PipelineConfig &config,
                                   const config::DatabaseTarget &target);

// What a new database beside the live one is for: a recreate rollback's, or
// a standby's (`standby: true`, whatever the mode).
enum class NewDatabaseFor { recreate, standby };

// mode recreate needs to create a database owned by the database's owner and
// to drop the old one, and a standby to create one and rename it in: fails,
// naming the privilege to grant (or mode: clean, or no standby), when the
// target's role may not. Nothing for mode clean without a standby.
util::Result<void> check_rollback_privileges(const config::PipelineConfig &config,
                                             const config::DatabaseTarget &target,
                                             NewDatabaseFor use = NewDatabaseFor::recreate);

// Creates the (dropped) target database empty, with the owner, encoding,
// locale and tablespace `artifact` recorded (the server's defaults when the
// set recorded none or they cannot be given), so that a rollback can restore
// into it.
util::Result<void> create_missing_database(const config::PipelineConfig &config,
                                           const config::DatabaseTarget &target,
                                           const model::Artifact &artifact);

// The properties a database created by rollback gets: those the set recorded,
// else (older sets) those of the live database `live`.
util::Result<DatabaseProperties> properties_for_new_database(util::PgConnection &admin,
                                                             const model::Artifact &a,
                                                             const std::string &live);

// What recreate does before its swap, also run by deep verify: restores `a`
// with owners and grants into `into` (new, made by create_database_sql), then
// gives it the recorded database properties; tables, row counts and
// properties are compared with the manifest. `admin` is on the same server.
util::Result<void> restore_into_created(const PgTarget &pg, util::PgConnection &admin,
                                        const util::ConnInfo &into, const PgTools &tools,
                                        const model::Artifact &a,
                                        const std::filesystem::path &set_dir,
                                        const std::function<void(uint64_t)> &progress);

// A clean rollback's restore into the existing database `into`, in one
// transaction; also run by deep verify over a scratch copy.
util::Result<void> clean_restore_into(const PgTarget &pg, const util::ConnInfo &into,
                                      const PgTools &tools, const model::Artifact &a,
                                      const std::filesystem::path &set_dir,
                                      const std::function<void(uint64_t)> &progress);

// After a clean restore: the first difference between the database's own
// properties and the manifest's (empty when they match or were not recorded).
std::string properties_difference(util::PgConnection &conn, const model::Artifact &a);

// The artifacts a database rollback may use, best first (custom, directory, sql).
// A deep verify test-restores the first: what it proves is what a rollback tries first.
std::vector<const model::Artifact *> restore_candidates(const model::Manifest &manifest,
                                                        const std::string &target);

} // namespace gate::steps

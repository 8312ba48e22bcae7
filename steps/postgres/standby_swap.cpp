// The database swaps: exchange_databases (a rollback through a standby, and
// `gate rollback --undo`), and the swap operations the journal drives
// (steps/swap.hpp): repair a half-done swap, swap back, drop a replaced copy.
#include "steps/postgres/access.hpp"
#include "steps/postgres/standby.hpp"
#include "steps/swap.hpp"
#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

namespace gate::steps {

namespace {

// Puts the access the live database had on whatever holds the live name
// now, on every path out, then forgets the access journal's entry.
struct ReopenLive {
  const PgTarget &pg;
  DatabaseAccess before;
  AccessJournal journal;
  ~ReopenLive() {
    if (auto r = restore_database_access(pg, before); !r)
      util::log_error("could not allow connections to database '{}' again: {}; the next gate will "
                      "retry",
                      before.database, r.error().message);
    else
      journal.done();
  }
};

std::string renames_sql(util::PgConnection &admin, const std::string &live,
                        const std::string &incoming, const std::string &outgoing) {
  auto q = [&](const std::string &n) { return admin.quote_identifier(n); };
  if (incoming != outgoing)
    return "BEGIN; ALTER DATABASE " + q(live) + " RENAME TO " + q(outgoing) + "; ALTER DATABASE " +
           q(incoming) + " RENAME TO " + q(live) + "; COMMIT;";
  // Swapping back: the two databases change places through a third name.
  std::string parked = live.substr(0, 50) + "_gate_swap";
  return "BEGIN; ALTER DATABASE " + q(live) + " RENAME TO " + q(parked) + "; ALTER DATABASE " +
         q(incoming) + " RENAME TO " + q(live) + "; ALTER DATABASE " + q(parked) + " RENAME TO " +
         q(outgoing) + "; COMMIT;";
}

util::Result<bool> database_present(util::PgConnection &admin, const std::string &name) {
  TRY_ASSIGN(auto rows,
             admin.query("SELECT 1 FROM pg_database WHERE datname = " + admin.quote_literal(name)));
  return !rows.empty();
}

util::Result<std::string> database_oid(util::PgConnection &admin, const std::string &name) {
  TRY_ASSIGN(auto rows, admin.query("SELECT oid::text FROM pg_database WHERE datname = " +
                                    admin.quote_literal(name)));
  return rows.empty() ? std::string() : rows[0][0].value_or("");
}

util::Result<PgTarget> target_of(const config::PipelineConfig &config,
                                 const model::SwapEntry &entry) {
  const auto *db = config.find_database(entry.target);
  if (!db)
    return util::fail("database '" + entry.target + "' of a standby swap is not in " +
                      config.file.string() + ": gate needs its url");
  return PgTarget::open(config, *db);
}

} // namespace

util::Result<void> exchange_databases(const PgTarget &pg, util::PgConnection &admin,
                                      const std::string &live, const std::string &incoming,
                                      const std::string &outgoing, const char *fault) {
  util::CancelShield shield; // the swap runs to its end once started
  TRY_ASSIGN(auto before, read_database_access(admin, pg.target().name, live));
  TRY_ASSIGN(auto journal, AccessJournal::open(pg.config(), before));
  ReopenLive reopen{pg, before, journal};
  TRY(admin.execute("ALTER DATABASE " + admin.quote_identifier(live) + " ALLOW_CONNECTIONS false"));
  (void)admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " +
                      admin.quote_literal(live));
  util::fault_point(fmt::format("{}.before-swap", fault).c_str());
  // RENAME waits (up to 5 s) for the ended sessions to go.
  auto swapped = admin.execute(renames_sql(admin, live, incoming, outgoing));
  if (!swapped) {
    (void)admin.execute("ROLLBACK");
    return std::unexpected(swapped.error());
  }
  util::fault_point(fmt::format("{}.after-swap", fault).c_str());
  return {};
}

namespace {

// A swap cut short: the transaction of renames either committed (the
// replaced name exists: the standby is live, only its access may be closed)
// or not (the live database is where it was). The access journal's entry,
// if any, is applied by repair_database_access before this runs; opening the
// live name again here covers a gate that died after that entry went.
// `gate rollback --undo` cut short: its renames are one transaction, so the
// live name holds either the database it held before (the oid recorded) or
// the other one; either way it is opened again.
util::Result<std::string> repair_database_swap_back(util::PgConnection &admin,
                                                    model::SwapEntry &entry) {
  TRY_ASSIGN(std::string oid, database_oid(admin, entry.live));
  if (oid.empty())
    return util::fail(fmt::format("database '{}' does not exist after a cut-short `gate rollback "
                                  "--undo`\nhint: rename '{}' or '{}_gate_swap' back to '{}' by "
                                  "hand",
                                  entry.live, entry.replaced, entry.live.substr(0, 50),
                                  entry.live));
  (void)admin.execute("ALTER DATABASE " + admin.quote_identifier(entry.live) +
                      " ALLOW_CONNECTIONS true");
  bool exchanged = oid != entry.live_was;
  entry.state = exchanged ? model::swapped_back(entry.back_from) : entry.back_from;
  return fmt::format("database '{}': a `gate rollback --undo` was cut short {} its renames; the "
                     "journal says so now ({}), and '{}' is open again",
                     entry.live, exchanged ? "after" : "before", model::to_string(entry.state),
                     entry.live);
}

util::Result<std::string> repair_database_swap(const config::PipelineConfig &config,
                                               model::SwapEntry &entry) {
  TRY_ASSIGN(auto pg, target_of(config, entry));
  TRY_ASSIGN(auto admin, standby_admin(pg));
  if (entry.state == model::SwapState::swapping_back)
    return repair_database_swap_back(*admin, entry);
  TRY_ASSIGN(bool replaced, database_present(*admin, entry.replaced));
  TRY_ASSIGN(bool live, database_present(*admin, entry.live));
  if (!live)
    return util::fail(fmt::format("database '{}' does not exist after a cut-short swap\nhint: "
                                  "rename '{}' or '{}' back to '{}' by hand",
                                  entry.live, entry.replaced, entry.standby, entry.live));
  (void)admin->execute("ALTER DATABASE " + admin->quote_identifier(entry.live) +
                       " ALLOW_CONNECTIONS true");
  if (replaced) {
    entry.state = model::SwapState::done;
    return fmt::format("database '{}': the swap of a rollback cut short had renamed the standby "
                       "into place; it is finished (the old data is kept as '{}', `gate "
                       "rollback --undo` swaps it back)",
                       entry.live, entry.replaced);
  }
  return fmt::format("database '{}': a rollback's swap was cut short before the renames; the "
                     "live database was never replaced and is open again",
                     entry.live);
}

util::Result<void> swap_back_database(const config::PipelineConfig &config,
                                      model::SwapEntry &entry) {
  TRY_ASSIGN(auto pg, target_of(config, entry));
  TRY_ASSIGN(auto admin, standby_admin(pg));
  TRY_ASSIGN(bool kept, database_present(*admin, entry.replaced));
  if (!kept)
    return util::fail("database '" + entry.replaced + "' (the data a rollback replaced in '" +
                      entry.live + "') no longer exists: there is nothing to swap back");
  TRY(exchange_databases(pg, *admin, entry.live, entry.replaced, entry.replaced, "undo"));
  entry.state = model::swapped_back(entry.state);
  return {};
}

util::Result<std::string> live_database_oid(const config::PipelineConfig &config,
                                            const model::SwapEntry &entry) {
  TRY_ASSIGN(auto pg, target_of(config, entry));
  TRY_ASSIGN(auto admin, standby_admin(pg));
  TRY_ASSIGN(std::string oid, database_oid(*admin, entry.live));
  if (oid.empty()) return util::fail("database '" + entry.live + "' does not exist");
  return oid;
}

util::Result<void> drop_replaced_database(const config::PipelineConfig &config,
                                          const model::SwapEntry &entry) {
  TRY_ASSIGN(auto pg, target_of(config, entry));
  TRY_ASSIGN(auto admin, standby_admin(pg));
  return admin->execute("DROP DATABASE IF EXISTS " + admin->quote_identifier(entry.replaced) +
                        " WITH (FORCE)");
}

} // namespace

const SwapOps k_database_swap_ops{repair_database_swap, live_database_oid, swap_back_database,
                                  drop_replaced_database};

} // namespace gate::steps

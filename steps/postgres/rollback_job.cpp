#include "steps/postgres/rollback_job.hpp"

#include "model/swap_journal.hpp"
#include "steps/postgres/backup.hpp"
#include "steps/postgres/dump_restore.hpp"
#include "steps/postgres/restore.hpp"
#include "steps/postgres/standby.hpp"
#include "steps/restore_plan.hpp"
#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::steps {

namespace {

std::string list_of(const std::vector<std::string> &names) {
  constexpr size_t k_shown = 8;
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), k_shown));
  std::string out = util::join(shown, ", ");
  if (names.size() > k_shown) out += fmt::format(" and {} more", names.size() - k_shown);
  return out;
}

class DatabaseRestoreJob final : public RestoreJob {
public:
  DatabaseRestoreJob(const config::PipelineConfig &config, const config::DatabaseTarget &db,
                     const model::Artifact &artifact, const std::string &set_id,
                     const RestoreDestination &destination)
      : m_config(config), m_db(db), m_artifact(artifact), m_destination(destination) {
    // An unreachable server is not "dropped": the restore will say what is wrong.
    if (auto exists = database_exists(config, db); exists && !*exists) m_missing = true;
    if (db.standby) m_standby_unused = why_not_standby(set_id);
    m_swap = db.standby && m_standby_unused.empty();
  }

  const std::string &target() const override { return m_db.name; }
  const model::Artifact &artifact() const override { return m_artifact; }
  const char *only_flag() const override { return "db"; }
  bool replaces_live_data() const override { return !m_missing; }
  bool swaps_in_standby() const override { return m_swap; }

  void plan(const model::Manifest &m, const PlanLine &line) const override {
    if (m_swap) return plan_swap(line);
    if (m_db.standby)
      line("  standby of database " + m_db.name + " not used: " + m_standby_unused +
           "; restoring from the dump");
    if (m_missing)
      line("  database " + m_db.name +
           " does not exist (dropped?): it will be created empty and restored");
    auto prediction = predicted_restore(m, m_artifact);
    line(fmt::format("  replace database {} ({}) with {} ({}, {} mode); restore {}", m_db.name,
                     util::sanitize_url(m_db.url.value_or_empty()), m_artifact.path,
                     util::human_bytes(m_artifact.bytes()),
                     m_db.mode == config::RestoreMode::recreate ? "recreate" : "clean",
                     prediction
                         ? fmt::format("about {} ({})", util::human_duration_ms(prediction->ms),
                                       prediction->basis)
                         : "time cannot be predicted: no deep verify measured it (`gate verify " +
                               m.id + " --deep` does)"));
    if (!m_missing) plan_tables(line);
  }

  util::Result<void> prepare() override {
    if (m_swap) return check_standby_privileges(m_config, m_db);
    // A recreate the role may not do is refused before anything changes.
    TRY(check_rollback_privileges(m_config, m_db));
    // A dropped database comes back empty to restore into (recreate makes its own).
    if (m_missing && m_db.mode == config::RestoreMode::clean)
      TRY(create_missing_database(m_config, m_db, m_artifact));
    return {};
  }

  std::unique_ptr<Step> snapshot_step() override {
    if (m_missing) return nullptr; // nothing there to lose
    if (m_swap) return nullptr;    // the replaced database itself is kept
    m_snapshot = m_db;
    m_snapshot.standby = false; // a safety snapshot builds no standby
    m_snapshot.formats = {config::DumpFormat::custom};
    m_snapshot.globals = false;
    m_snapshot.schema_only = false;
    m_snapshot.min_size = 0;
    m_snapshot.max_shrink.reset();
    return std::make_unique<PostgresBackupStep>(m_snapshot, ReadBack::while_writing);
  }

  RestoreOutcome restore(const model::Manifest &m, const std::filesystem::path &set_dir,
                         const std::function<void(uint64_t)> &progress) override {
    if (m_swap) {
      auto swapped = swap_in_standby(m);
      if (swapped) return *swapped;
      return {RestoreState::not_restored, "unchanged (the live database kept its name)",
              swapped.error().message};
    }
    auto r = restore_database(m_config, m_db, m, set_dir, progress);
    if (!r)
      return {RestoreState::not_restored,
              m_db.mode == config::RestoreMode::recreate
                  ? "unchanged (the live database was not touched)"
                  : "unchanged (the restore transaction rolled back)",
              r.error().message};
    if (!r->difference.empty())
      return {RestoreState::restored_but_different, "RESTORED BUT DIFFERENT from the manifest",
              "restored from " + r->used + ", but " + r->difference};
    return {RestoreState::restored, "restored",
            fmt::format("from {}; tables and row counts match the manifest{}", r->used,
                        r->note.empty() ? "" : " (" + r->note + ")")};
  }

private:
  // Why the standby of this database cannot serve a rollback to `set_id`, or empty.
  std::string why_not_standby(const std::string &set_id) const {
    if (!m_destination.use_standby) return "--no-standby was given";
    if (m_missing) return "the live database does not exist";
    auto pg = PgTarget::open(m_config, m_db);
    if (!pg) return pg.error().message;
    auto admin = standby_admin(*pg);
    if (!admin) return admin.error().message;
    return standby_unusable_reason(**admin, m_artifact, set_id);
  }

  std::string live_name() const {
    auto pg = PgTarget::open(m_config, m_db);
    return pg ? pg->conninfo().get("dbname") : m_db.name;
  }

  void plan_swap(const PlanLine &line) const {
    const auto &s = m_artifact.details["standby"];
    line(fmt::format(
        "  swap in standby {} for database {} ({}): end its sessions, rename it aside, rename "
        "the standby into its place, about {}",
        s.value("name", ""), m_db.name, util::sanitize_url(m_db.url.value_or_empty()),
        util::human_duration_ms(predicted_standby_swap_ms(m_artifact))));
    line(fmt::format("    the live database is kept as {}; no safety snapshot on this path, "
                     "because the replaced database is kept (`gate rollback --undo` swaps it "
                     "back)",
                     replaced_database_name(live_name(), m_destination.rollback_id)));
  }

  // The swap path: journaled before and after (model/swap_journal.hpp), the
  // standby checked once more, the renames, then the row counts.
  util::Result<RestoreOutcome> swap_in_standby(const model::Manifest &m) {
    TRY_ASSIGN(auto journal, model::SwapJournal::load(m_destination.backup_root));
    TRY_ASSIGN(auto pg, PgTarget::open(m_config, m_db));
    TRY_ASSIGN(auto admin, standby_admin(pg));
    std::string why = standby_unusable_reason(*admin, m_artifact, m.id);
    if (!why.empty()) return util::fail("the standby changed since the plan: " + why);
    model::SwapEntry entry{"database",
                           m_db.name,
                           live_name(),
                           m_artifact.details["standby"].value("name", ""),
                           replaced_database_name(live_name(), m_destination.rollback_id),
                           m.id,
                           m_destination.rollback_id,
                           util::iso8601_utc(util::Clock::now()),
                           model::SwapState::begun,
                           0};
    TRY(journal.record(entry));
    util::fault_point("standby.journaled");
    if (util::cancel_requested()) { // a signal before the first change: no swap
      (void)journal.forget(entry.rollback_id, entry.target);
      return util::fail(util::ErrorKind::interrupted, "interrupted before the swap began");
    }
    // Once begun, the swap, its check and its journal entry run to their end
    // whatever signal comes: an interrupt must not leave the journal saying
    // `begun` for a swap that is whole, nor a check cut off by the interrupt
    // reporting a difference.
    util::CancelShield shield;
    auto swap_start = std::chrono::steady_clock::now();
    if (auto swapped =
            exchange_databases(pg, *admin, entry.live, entry.standby, entry.replaced, "standby");
        !swapped) {
      (void)journal.forget(entry.rollback_id, entry.target);
      return std::unexpected(swapped.error());
    }
    // From here the live name holds the set's data; the check reads every table.
    long long swap_ms = util::elapsed_ms(swap_start);
    auto check_start = std::chrono::steady_clock::now();
    TRY_ASSIGN(auto conn, pg.connect("rollback"));
    auto diff = compare_with_manifest(*conn, m_artifact);
    long long check_ms = util::elapsed_ms(check_start);
    util::fault_point("standby.before-done");
    entry.state = model::SwapState::done;
    TRY(journal.record(entry));
    if (!diff || !diff->empty())
      return RestoreOutcome{
          RestoreState::restored_but_different, "RESTORED BUT DIFFERENT from the manifest",
          "standby " + entry.standby + " swapped in, but " + (diff ? *diff : diff.error().message)};
    return RestoreOutcome{
        RestoreState::restored, "restored",
        fmt::format("standby {} swapped in ({} ms, its connections open again); tables and "
                    "row counts match the manifest (checked in {} ms); the replaced database is "
                    "kept as {} (`gate rollback --undo` swaps it back)",
                    entry.standby, swap_ms, check_ms, entry.replaced)};
  }

  // What the live tables become.
  void plan_tables(const PlanLine &line) const {
    auto changes = database_changes(m_config, m_db, m_artifact);
    if (!changes) {
      line("    (the live tables could not be read: " + changes.error().message + ")");
      return;
    }
    line(fmt::format("    {} table(s) get their rows from the set", changes->replaced));
    if (!changes->created.empty())
      line("    tables dropped since the backup will be created again: " +
           list_of(changes->created));
    if (!changes->dropped.empty() && m_db.mode == config::RestoreMode::clean)
      line("  tables created since the backup will be dropped from " + m_db.name + ": " +
           list_of(changes->dropped));
    else if (!changes->dropped.empty())
      line("  tables created since the backup are not in the new database " + m_db.name + ": " +
           list_of(changes->dropped));
  }

  const config::PipelineConfig &m_config;
  const config::DatabaseTarget &m_db;
  const model::Artifact &m_artifact;
  RestoreDestination m_destination;
  bool m_swap = false;               // the standby is swapped in instead of restoring
  std::string m_standby_unused;      // why a configured standby is not used
  config::DatabaseTarget m_snapshot; // what the safety snapshot's step backs up
  bool m_missing = false;            // dropped: nothing to snapshot, created before the restore
};

} // namespace

util::Result<std::unique_ptr<RestoreJob>>
make_database_restore_job(const config::PipelineConfig &config, const model::Manifest &manifest,
                          const model::Artifact &artifact, const RestoreDestination &destination) {
  auto candidates = restore_candidates(manifest, artifact.target);
  if (candidates.empty()) return nullptr;
  const auto *db = config.find_database(artifact.target);
  if (!db)
    return util::fail("database '" + artifact.target + "' is in the set but not in " +
                      config.file.string() + ": gate needs its url to restore it");
  return std::make_unique<DatabaseRestoreJob>(config, *db, *candidates.front(), manifest.id,
                                              destination);
}

} // namespace gate::steps

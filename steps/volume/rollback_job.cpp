#include "steps/volume/rollback_job.hpp"

#include "steps/restore_plan.hpp"
#include "steps/volume/backup.hpp"
#include "steps/volume/quiesce.hpp"
#include "steps/volume/restore.hpp"
#include "steps/volume/source.hpp"
#include "steps/volume/standby.hpp"
#include "steps/volume/standby_swap.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::steps {

namespace fs = std::filesystem;

namespace {

class VolumeRestoreJob final : public RestoreJob {
public:
  VolumeRestoreJob(const config::PipelineConfig &config, const config::VolumeTarget *volume,
                   const model::Artifact &artifact, const std::string &set_id)
      : m_config(config), m_volume(volume), m_artifact(artifact), m_set_id(set_id) {}

  util::Result<void> resolve(const RestoreDestination &destination) {
    m_backup_root =
        destination.backup_root.empty() ? m_config.backup_root : destination.backup_root;
    m_rollback_id = destination.rollback_id.empty() ? util::compact_timestamp(util::Clock::now())
                                                    : destination.rollback_id;
    if (destination.redirect) {
      m_dest = fs::absolute(*destination.redirect);
      m_standby.why_not = "the volume is redirected with --target";
      return {};
    }
    // A removed named volume is created only once the rollback is confirmed and verified.
    TRY_ASSIGN(m_source, resolve_volume_for_restore(m_config, *m_volume, recorded_facts(), false));
    m_dest = m_source.missing ? fs::path("(named volume " + m_volume->volume + ", to be created)")
                              : m_source.path;
    choose_path(destination);
    return {};
  }

  // The standby is swapped in when it belongs to this set and is intact.
  void choose_path(const RestoreDestination &destination) {
    if (m_source.missing)
      m_standby.why_not = "the named volume does not exist (it is created and restored)";
    else if (!destination.use_standby)
      m_standby.why_not = "--no-standby";
    else
      m_standby = choose_standby(m_artifact, m_set_id, m_dest);
  }

  // Whether the plan names the standby: the set or the configuration has one.
  bool standby_relevant() const {
    return m_artifact.details.contains("standby") || (m_volume && m_volume->standby);
  }

  const std::string &target() const override { return m_artifact.target; }
  const model::Artifact &artifact() const override { return m_artifact; }
  const char *only_flag() const override { return "volumes"; }
  bool swaps_in_standby() const override { return m_standby.use; }
  bool replaces_live_data() const override {
    std::error_code ec;
    return fs::exists(m_dest, ec);
  }

  void plan(const model::Manifest &m, const PlanLine &line) const override {
    if (m_standby.use) return plan_swap(m, line);
    if (standby_relevant())
      line("  standby of " + m_artifact.target + " not used: " + m_standby.why_not);
    auto prediction = predicted_restore(m, m_artifact, false); // the cold path
    line(fmt::format("  replace directory {} with {} ({} entries, {}); restore {}", m_dest.string(),
                     m_artifact.path, m_artifact.details.value("entries", uint64_t{0}),
                     util::human_bytes(m_artifact.details.value("content_bytes", uint64_t{0})),
                     prediction
                         ? fmt::format("about {} ({})", util::human_duration_ms(prediction->ms),
                                       prediction->basis)
                         : std::string("time cannot be predicted: nothing measured it")));
    auto changes = directory_changes(m_dest, m_artifact);
    if (!changes.exists) {
      line("    the directory does not exist: it will be created");
      return;
    }
    line(fmt::format("    its {} entries now are replaced by the set's; entries the set does not "
                     "hold are removed",
                     changes.live_entries - changes.kept));
    auto patterns = m_artifact.details.value("exclude", std::vector<std::string>{});
    if (!patterns.empty())
      line(fmt::format("    kept as they are (the set does not hold them): {} path(s) matching {}",
                       changes.kept, util::join(patterns, ", ")));
  }

  void plan_swap(const model::Manifest &m, const PlanLine &line) const {
    const auto &s = m_artifact.details["standby"];
    auto swap = predicted_restore(m, m_artifact, true);
    line(fmt::format(
        "  rename standby {} into place as {} ({} entries, {}; built from this set, "
        "fingerprint matches); {}",
        m_standby.path.string(), m_dest.string(), s.value("entries", uint64_t{0}),
        util::human_bytes(s.value("bytes", uint64_t{0})),
        swap ? fmt::format("about {} ({})", util::human_duration_ms(swap->ms), swap->basis)
             : std::string("two renames, whatever the size")));
    line(fmt::format("    the live directory is kept as {}; no safety snapshot on this path "
                     "because the replaced data is kept (gate rollback --undo swaps it back)",
                     replaced_path(m_dest, m_rollback_id).string()));
  }

  util::Result<void> prepare() override {
    if (!m_source.missing) return {};
    TRY_ASSIGN(m_source, resolve_volume_for_restore(m_config, *m_volume, recorded_facts(), true));
    m_dest = m_source.path;
    return {};
  }

  std::unique_ptr<Step> snapshot_step() override {
    if (m_standby.use) return nullptr;         // the replaced directory is kept: it is the snapshot
    if (!replaces_live_data()) return nullptr; // nothing there to lose
    m_snapshot = m_volume ? *m_volume : config::VolumeTarget{};
    m_snapshot.name = m_artifact.target;
    m_snapshot.volume.clear();
    m_snapshot.path = m_dest;
    m_snapshot.allow_empty = true;
    m_snapshot.exclude.clear();
    m_snapshot.quiesce = config::Quiesce::none;
    m_snapshot.standby = false; // the snapshot is a backup only: it builds no standby
    return std::make_unique<VolumeBackupStep>(m_snapshot, ReadBack::while_writing);
  }

  RestoreOutcome restore(const model::Manifest &m, const fs::path &set_dir,
                         const std::function<void(uint64_t)> &progress) override {
    // A named volume's users are stopped for the swap and started again afterwards.
    std::unique_ptr<Quiescer> quiet;
    if (m_source.engine) {
      auto q = Quiescer::begin(m_source.engine, m_source.volume, config::Quiesce::stop,
                               m_volume ? m_volume->stop_timeout : std::chrono::seconds(30),
                               m_config.backup_root);
      if (!q) return {RestoreState::not_restored, "unchanged (wholly old)", q.error().message};
      quiet = std::move(*q);
    }
    auto r =
        m_standby.use ? swap_in() : restore_volume(m_artifact, set_dir, m_dest, m.id, progress);
    if (quiet)
      if (auto resumed = quiet->resume(); !resumed)
        return r ? RestoreOutcome{RestoreState::restored_not_resumed,
                                  "restored, but its containers did not start",
                                  resumed.error().message}
                 : RestoreOutcome{RestoreState::not_restored, "unchanged (wholly old)",
                                  resumed.error().message};
    if (!r) return {RestoreState::not_restored, "unchanged (wholly old)", r.error().message};
    return {RestoreState::restored, "restored",
            fmt::format("{} entries, {}; matches the manifest{}", r->entries,
                        util::human_bytes(r->bytes), r->note.empty() ? "" : " (" + r->note + ")")};
  }

private:
  // The standby path of restore(), with the containers already stopped: its
  // fingerprint is checked once more (nothing may have touched it since the
  // plan), then the two renames.
  util::Result<VolumeRestoreResult> swap_in() {
    auto still = choose_standby(m_artifact, m_set_id, m_dest);
    if (!still.use)
      return util::fail("the standby cannot be used any more: " + still.why_not +
                        "; run the rollback again (it restores from the set)");
    StandbySwap swap{
        m_artifact.target, m_dest,        m_standby.path, replaced_path(m_dest, m_rollback_id),
        m_set_id,          m_rollback_id, m_backup_root};
    TRY(swap_standby_in(swap));
    const auto &s = m_artifact.details["standby"];
    return VolumeRestoreResult{s.value("entries", uint64_t{0}),
                               s.value("bytes", uint64_t{0}),
                               "the standby swapped in; the replaced data is kept at " +
                                   swap.replaced.string(),
                               {}};
  }

  nlohmann::json recorded_facts() const {
    return m_artifact.details.value("source_facts", nlohmann::json::object());
  }

  const config::PipelineConfig &m_config;
  const config::VolumeTarget *m_volume; // null for a volume only redirected
  const model::Artifact &m_artifact;
  fs::path m_dest;
  VolumeSource m_source;           // a named volume's engine, to stop and restart its users
  config::VolumeTarget m_snapshot; // what the safety snapshot's step backs up
  std::string m_set_id;
  StandbyChoice m_standby; // use: the rollback is the swap of the standby
  fs::path m_backup_root;  // where the swap journal is
  std::string m_rollback_id;
};

} // namespace

util::Result<std::unique_ptr<RestoreJob>>
make_volume_restore_job(const config::PipelineConfig &config, const model::Manifest &manifest,
                        const model::Artifact &artifact, const RestoreDestination &destination) {
  const auto *volume = config.find_volume(artifact.target);
  if (!volume && !destination.redirect)
    return util::fail("volume '" + artifact.target + "' is in the set but not in " +
                      config.file.string() + "; restore it elsewhere with --target " +
                      artifact.target + "=DIR");
  auto job = std::make_unique<VolumeRestoreJob>(config, volume, artifact, manifest.id);
  if (auto resolved = job->resolve(destination); !resolved)
    return util::fail(resolved.error().message + "; nothing was changed");
  return std::unique_ptr<RestoreJob>(std::move(job));
}

} // namespace gate::steps

#include "steps/volume/rollback_job.hpp"

#include "steps/restore_plan.hpp"
#include "steps/volume/backup.hpp"
#include "steps/volume/quiesce.hpp"
#include "steps/volume/restore.hpp"
#include "steps/volume/source.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

namespace gate::steps {

namespace fs = std::filesystem;

namespace {

class VolumeRestoreJob final : public RestoreJob {
public:
  VolumeRestoreJob(const config::PipelineConfig &config, const config::VolumeTarget *volume,
                   const model::Artifact &artifact)
      : m_config(config), m_volume(volume), m_artifact(artifact) {}

  util::Result<void> resolve(const RestoreDestination &destination) {
    if (destination.redirect) {
      m_dest = fs::absolute(*destination.redirect);
      return {};
    }
    // A removed named volume is created only once the rollback is confirmed and verified.
    TRY_ASSIGN(m_source, resolve_volume_for_restore(m_config, *m_volume, recorded_facts(), false));
    m_dest = m_source.missing ? fs::path("(named volume " + m_volume->volume + ", to be created)")
                              : m_source.path;
    return {};
  }

  const std::string &target() const override { return m_artifact.target; }
  const model::Artifact &artifact() const override { return m_artifact; }
  const char *only_flag() const override { return "volumes"; }
  bool replaces_live_data() const override {
    std::error_code ec;
    return fs::exists(m_dest, ec);
  }

  void plan(const model::Manifest &m, const PlanLine &line) const override {
    auto prediction = predicted_restore(m, m_artifact);
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

  util::Result<void> prepare() override {
    if (!m_source.missing) return {};
    TRY_ASSIGN(m_source, resolve_volume_for_restore(m_config, *m_volume, recorded_facts(), true));
    m_dest = m_source.path;
    return {};
  }

  std::unique_ptr<Step> snapshot_step() override {
    if (!replaces_live_data()) return nullptr; // nothing there to lose
    m_snapshot = m_volume ? *m_volume : config::VolumeTarget{};
    m_snapshot.name = m_artifact.target;
    m_snapshot.volume.clear();
    m_snapshot.path = m_dest;
    m_snapshot.allow_empty = true;
    m_snapshot.exclude.clear();
    m_snapshot.quiesce = config::Quiesce::none;
    return std::make_unique<VolumeBackupStep>(m_snapshot, ReadBack::while_writing);
  }

  RestoreOutcome restore(const model::Manifest &m, const fs::path &set_dir,
                         const std::function<void(uint64_t)> &progress) override {
    // A named volume's users are stopped for the swap and started again afterwards.
    std::unique_ptr<Quiescer> quiet;
    if (m_source.engine) {
      auto q = Quiescer::begin(m_source.engine, m_source.volume, config::Quiesce::stop,
                               m_volume ? m_volume->stop_timeout : std::chrono::seconds(30));
      if (!q) return {RestoreState::not_restored, "unchanged (wholly old)", q.error().message};
      quiet = std::move(*q);
    }
    auto r = restore_volume(m_artifact, set_dir, m_dest, m.id, progress);
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
  nlohmann::json recorded_facts() const {
    return m_artifact.details.value("source_facts", nlohmann::json::object());
  }

  const config::PipelineConfig &m_config;
  const config::VolumeTarget *m_volume; // null for a volume only redirected
  const model::Artifact &m_artifact;
  fs::path m_dest;
  VolumeSource m_source;           // a named volume's engine, to stop and restart its users
  config::VolumeTarget m_snapshot; // what the safety snapshot's step backs up
};

} // namespace

util::Result<std::unique_ptr<RestoreJob>>
make_volume_restore_job(const config::PipelineConfig &config, const model::Manifest &,
                        const model::Artifact &artifact, const RestoreDestination &destination) {
  const auto *volume = config.find_volume(artifact.target);
  if (!volume && !destination.redirect)
    return util::fail("volume '" + artifact.target + "' is in the set but not in " +
                      config.file.string() + "; restore it elsewhere with --target " +
                      artifact.target + "=DIR");
  auto job = std::make_unique<VolumeRestoreJob>(config, volume, artifact);
  if (auto resolved = job->resolve(destination); !resolved)
    return util::fail(resolved.error().message + "; nothing was changed");
  return std::unique_ptr<RestoreJob>(std::move(job));
}

} // namespace gate::steps

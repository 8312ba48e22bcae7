#include "steps/volume/backup.hpp"

#include "steps/read_back.hpp"
#include "steps/volume/quiesce.hpp"
#include "steps/volume/source.hpp"
#include "steps/volume/standby.hpp"
#include "steps/volume/verify.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/tar.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <thread>

namespace gate::steps {

std::string volume_archive_path(const config::VolumeTarget &target) {
  util::CodecOptions codec = volume_codec(target);
  return "volumes/" + target.name + ".tar" + util::codec_suffix(codec.codec);
}

util::CodecOptions volume_codec(const config::VolumeTarget &target) {
  util::CodecOptions codec;
  codec.codec = target.compression == config::Compression::gzip   ? util::Codec::gzip
                : target.compression == config::Compression::none ? util::Codec::none
                                                                  : util::Codec::zstd;
  codec.level = target.level;
  return codec;
}

namespace {

std::vector<std::string> plain_restore(const config::VolumeTarget &target, const std::string &dir,
                                       const std::string &archive) {
  std::string flag = target.compression == config::Compression::gzip   ? "-z"
                     : target.compression == config::Compression::zstd ? "--zstd"
                                                                       : "";
  std::string staging = dir + ".restore";
  return {
      "# extract beside the live directory, check, then swap (run as root to keep owners)",
      fmt::format("mkdir -m 700 '{}'", staging),
      fmt::format("tar {}{}-xpf '{{set}}/{}' --xattrs --xattrs-include='*' --acls -C '{}'", flag,
                  flag.empty() ? "" : " ", archive, staging),
      fmt::format("mv '{}' '{}.old' && mv '{}' '{}'", dir, dir, staging, dir),
      fmt::format("rm -rf '{}.old'   # once the restored data is checked", dir),
  };
}

std::string empty_volume_message(const std::string &name, const std::filesystem::path &path) {
  return fmt::format(
      "volume '{}': '{}' is empty (nothing to back up); set allow_empty: true if that is expected",
      name, path.string());
}

} // namespace

// Saves the inspect JSON of the containers using `volume` (secrets masked)
// into containers/NAME.json, seed 000's container_configs.
util::Result<void> save_container_configs(ContainerEngine &engine, const std::string &target,
                                          const std::string &volume, model::SetHandle &set) {
  TRY_ASSIGN(auto users, engine.containers_using(volume));
  if (users.empty()) return {};
  TRY(util::make_dirs(set.dir() / "containers", 0700));
  model::Artifact a;
  a.target = target;
  a.kind = "containers";
  a.format = "json";
  a.compression = "none";
  a.path = "containers";
  for (const auto &c : users) {
    TRY_ASSIGN(auto inspect, engine.inspect_container(c.id));
    std::string file = "containers/" + c.name + ".json";
    std::string text = util::json_text(mask_container_secrets(inspect), 2) + "\n";
    TRY(util::write_file_atomic(set.dir() / file, text, 0600));
    a.files.push_back({file, text.size(), util::sha256_hex(text)});
  }
  a.details["containers"] = users.size();
  a.details["restore"] =
      std::vector<std::string>{"# the containers' configurations, for reference (secrets masked)"};
  set.add_artifact(std::move(a));
  return {};
}

util::Result<void> VolumeBackupStep::check(const RunContext &ctx) const {
  TRY_ASSIGN(VolumeSource source, resolve_volume_source(ctx.config, m_target));
  // The same verdict `gate run` would reach after archiving, found before.
  std::error_code ec;
  if (!m_target.allow_empty && std::filesystem::is_empty(source.path, ec) && !ec)
    return util::fail(empty_volume_message(m_target.name, source.path));
  if (m_target.standby && ctx.build_standbys)
    TRY(check_standby_possible(m_target.name, source.path));
  return {};
}

std::string VolumeBackupStep::plan(const RunContext &ctx) const {
  std::string where =
      m_target.volume.empty() ? m_target.path.string() : "named volume " + m_target.volume;
  return fmt::format("archive {} into {} ({})", where, volume_archive_path(m_target),
                     to_string(m_target.compression));
}

namespace {

util::TarCreateOptions archive_options(const config::VolumeTarget &target, RunContext &ctx,
                                       const std::string &step, uint64_t expected) {
  util::TarCreateOptions options;
  options.codec = volume_codec(target);
  options.codec.threads = ctx.compression_threads;
  options.exclude = target.exclude;
  options.progress = [&ctx, step, expected](uint64_t done) {
    util::fault_point("run.mid-archive");
    if (ctx.progress) ctx.progress(step, done, expected);
  };
  return options;
}

// Stops (or pauses) the containers using the volume, as configured; nothing
// to do for a plain directory.
util::Result<std::unique_ptr<Quiescer>> quiesce_users(const VolumeSource &source,
                                                      const config::VolumeTarget &target,
                                                      const std::filesystem::path &backup_root) {
  if (!source.engine || target.quiesce == config::Quiesce::none) return std::unique_ptr<Quiescer>();
  auto q = Quiescer::begin(source.engine, source.volume, target.quiesce, target.stop_timeout,
                           backup_root);
  if (!q) return std::unexpected(q.error().with_context("volume '" + target.name + "'"));
  return std::move(*q);
}

struct ArchiveRun {
  util::Result<util::TarStats> stats;
  std::optional<util::Result<util::TarStats>> read; // when read back while written
  long long read_ms = 0;
};

// Writes the archive; with ReadBack::while_writing a second thread reads it
// back as it grows (libarchive follows the file), so the full verification
// costs no extra pass.
ArchiveRun write_archive(const std::filesystem::path &source, const std::filesystem::path &archive,
                         util::TarCreateOptions options, ReadBack read_back) {
  TimedRead<util::Result<util::TarStats>> read;
  auto stats = write_while_reading_back(
      read_back == ReadBack::while_writing,
      [&](util::GrowthSignal *growth) {
        options.growth = growth;
        return util::tar_create(source, archive, options);
      },
      [&](util::GrowthSignal &growth) { return util::tar_read(archive, nullptr, &growth); }, read);
  return ArchiveRun{std::move(stats), std::move(read.result), read.ms};
}

model::Artifact volume_artifact(const config::VolumeTarget &target, const VolumeSource &source,
                                const std::string &relative, const util::TarStats &stats,
                                long long ms, const nlohmann::json &stopped) {
  model::Artifact artifact;
  artifact.target = target.name;
  artifact.kind = "volume";
  artifact.format = "tar";
  artifact.compression = to_string(target.compression);
  artifact.path = relative;
  artifact.files.push_back({relative, stats.archive_bytes, stats.sha256});
  auto &d = artifact.details;
  d["source"] = source.path.string();
  d["source_facts"] = source.facts;
  d["entries"] = stats.entries;
  d["files"] = stats.files;
  d["content_bytes"] = stats.content_bytes;
  d["min_size"] = target.allow_empty ? 0 : target.min_size;
  d["exclude"] = target.exclude;
  d["changed_while_read"] = stats.changed;
  d["duration_ms"] = ms;
  d["restore"] = plain_restore(target, source.path.string(), relative);
  d["containers_stopped"] = stopped;
  return artifact;
}

// Records the verification of an archive read back while written; returns
// the failure, if any. An interrupted read-back records nothing.
std::optional<std::string> record_read_back(model::SetHandle &set, const model::Artifact &artifact,
                                            const ArchiveRun &run) {
  if (!run.read || (!*run.read && run.read->error().kind == util::ErrorKind::interrupted))
    return std::nullopt;
  const auto &read = *run.read;
  Finding f = read ? compare_volume_read(artifact, *read) : finding_failed(read.error().message);
  if (f.ok) f.note += " (read back while written)";
  set.add_verification(verification_of(artifact.path, model::VerifyLevel::full, f, run.read_ms));
  if (!f.ok) return fmt::format("{} (full): {}", artifact.path, f.reason);
  return std::nullopt;
}

// An empty or too small archive is refused unless allow_empty says so.
std::optional<std::string> size_problem(const config::VolumeTarget &target,
                                        const VolumeSource &source, const util::TarStats &stats) {
  if (target.allow_empty) return std::nullopt;
  if (stats.entries <= 1) return empty_volume_message(target.name, source.path);
  if (stats.archive_bytes < target.min_size)
    return fmt::format("volume '{}': the archive is {}, below min_size {}", target.name,
                       util::human_bytes(stats.archive_bytes), util::human_bytes(target.min_size));
  return std::nullopt;
}

std::string archive_summary(const util::TarStats &stats, const std::string &compression,
                            long long ms) {
  std::string summary = fmt::format(
      "{} files, {} -> {} ({}) in {}", stats.files, util::human_bytes(stats.content_bytes),
      util::human_bytes(stats.archive_bytes), compression, util::human_duration_ms(ms));
  if (!stats.changed.empty())
    summary += fmt::format("; {} file(s) changed while read: {}", stats.changed.size(),
                           stats.changed.front());
  return summary;
}

// standby: true — the archive, once it proved good, is extracted beside the
// live directory and kept; the extraction is a deep verification too (its
// time is the measured restore time). Returns the failure, if any.
util::Result<std::optional<std::string>> keep_standby(model::SetHandle &set,
                                                      model::Artifact &artifact,
                                                      const VolumeSource &source, RunContext &ctx,
                                                      const std::string &step) {
  util::ProgressFn progress = [&ctx, step, &artifact](uint64_t done) {
    if (ctx.progress) ctx.progress(step, done, artifact.details.value("content_bytes", 0ULL));
  };
  util::log_info("{}: building its standby beside '{}'", step, source.path.string());
  TRY_ASSIGN(BuiltStandby built,
             build_standby(artifact, set.dir(), source.path, set.id(), progress));
  set.add_verification(
      verification_of(artifact.path, model::VerifyLevel::deep, built.finding, built.restore_ms));
  if (!built.finding.ok)
    return std::optional<std::string>(
        fmt::format("{} (standby): {}", artifact.path, built.finding.reason));
  artifact.details["standby"] = built.details;
  artifact.details["restore_ms"] = built.restore_ms;
  return std::optional<std::string>();
}

} // namespace

util::Result<StepResult> VolumeBackupStep::run(RunContext &ctx) {
  TRY_ASSIGN(VolumeSource source, resolve_volume_source(ctx.config, m_target));
  // Refused before any work on this volume, as check() says.
  bool standby = m_target.standby && ctx.build_standbys;
  if (standby) TRY(check_standby_possible(m_target.name, source.path));
  if (m_target.standby && !standby)
    util::log_info("{}: a scheduled set builds no standby: the one beside '{}' stays the "
                   "recorded deploy set's",
                   label(), source.path.string());
  TRY_ASSIGN(model::SetHandle * set, ctx.open_set());
  TRY(util::make_dirs(set->dir() / "volumes", 0700));
  std::string relative = volume_archive_path(m_target);
  auto archive = set->dir() / relative;
  std::string step = label();
  util::TarCreateOptions options =
      archive_options(m_target, ctx, step, util::tree_bytes(source.path).value_or(0));

  auto start = std::chrono::steady_clock::now();
  TRY_ASSIGN(std::unique_ptr<Quiescer> quiet,
             quiesce_users(source, m_target, ctx.config.backup_root));
  util::log_info("{}: archiving '{}' into {}", step, source.path.string(), relative);
  ArchiveRun written = write_archive(source.path, archive, std::move(options), m_read_back);
  std::optional<util::Error> resume_error;
  nlohmann::json stopped = nlohmann::json::array();
  if (quiet) {
    // The containers come back as soon as the archive is written, before verification.
    if (auto r = quiet->resume(); !r) resume_error = r.error();
    stopped = quiet->facts();
  }
  const auto &stats = written.stats;
  if (!stats) return std::unexpected(stats.error().with_context("volume '" + m_target.name + "'"));
  long long ms = util::elapsed_ms(start);

  model::Artifact artifact = volume_artifact(m_target, source, relative, *stats, ms, stopped);
  auto problem = record_read_back(*set, artifact, written);
  if (!problem && resume_error)
    problem = "volume '" + m_target.name +
              "' was archived, but containers did not come back: " + resume_error->message;
  auto too_small = problem ? std::nullopt : size_problem(m_target, source, *stats);
  if (!problem && !too_small && standby) {
    auto kept = keep_standby(*set, artifact, source, ctx, step);
    if (!kept) set->add_artifact(artifact);
    TRY_ASSIGN(problem, std::move(kept));
  }
  set->add_artifact(artifact);
  if (problem) return failed(*problem);
  if (m_target.container_configs && source.engine)
    TRY(save_container_configs(*source.engine, m_target.name, source.volume, *set));
  if (too_small) return failed(*too_small);
  return passed(archive_summary(*stats, artifact.compression, ms), stats->archive_bytes);
}

} // namespace gate::steps

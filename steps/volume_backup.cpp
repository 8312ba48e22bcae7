#include "steps/volume_backup.hpp"

#include "steps/volume_source.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/tar.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::steps {

std::string volume_archive_path(const config::VolumeTarget& target) {
  util::CodecOptions codec = volume_codec(target);
  return "volumes/" + target.name + ".tar" + util::codec_suffix(codec.codec);
}

util::CodecOptions volume_codec(const config::VolumeTarget& target) {
  util::CodecOptions codec;
  codec.codec = target.compression == config::Compression::gzip   ? util::Codec::gzip
                : target.compression == config::Compression::none ? util::Codec::none
                                                                  : util::Codec::zstd;
  codec.level = target.level;
  return codec;
}

namespace {

std::vector<std::string> plain_restore(const config::VolumeTarget& target, const std::string& dir,
                                       const std::string& archive) {
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

} // namespace

util::Result<void> VolumeBackupStep::check(const RunContext& ctx) const {
  TRY(resolve_volume_source(ctx.config, m_target));
  return {};
}

std::string VolumeBackupStep::plan(const RunContext& ctx) const {
  std::string where = m_target.volume.empty() ? m_target.path.string() : "named volume " + m_target.volume;
  return fmt::format("archive {} into {} ({})", where, volume_archive_path(m_target), to_string(m_target.compression));
}

util::Result<StepResult> VolumeBackupStep::run(RunContext& ctx) {
  TRY_ASSIGN(VolumeSource source, resolve_volume_source(ctx.config, m_target));
  TRY_ASSIGN(engine::SetHandle * set, ctx.open_set());
  TRY(util::make_dirs(set->dir() / "volumes", 0700));
  std::string relative = volume_archive_path(m_target);
  auto archive = set->dir() / relative;

  uint64_t expected = util::tree_bytes(source.path).value_or(0);
  util::TarCreateOptions options;
  options.codec = volume_codec(m_target);
  options.exclude = m_target.exclude;
  std::string step = label();
  options.progress = [&](uint64_t done) {
    if (ctx.progress) ctx.progress(step, done, expected);
  };
  auto start = std::chrono::steady_clock::now();
  util::log_info("{}: archiving '{}' into {}", step, source.path.string(), relative);
  auto stats = util::tar_create(source.path, archive, options);
  if (!stats) return std::unexpected(stats.error().with_context("volume '" + m_target.name + "'"));
  long long ms = util::elapsed_ms(start);

  engine::Artifact artifact;
  artifact.target = m_target.name;
  artifact.kind = "volume";
  artifact.format = "tar";
  artifact.compression = to_string(m_target.compression);
  artifact.path = relative;
  artifact.files.push_back({relative, stats->archive_bytes, stats->sha256});
  auto& d = artifact.details;
  d["source"] = source.path.string();
  d["source_facts"] = source.facts;
  d["entries"] = stats->entries;
  d["files"] = stats->files;
  d["content_bytes"] = stats->content_bytes;
  d["min_size"] = m_target.allow_empty ? 0 : m_target.min_size;
  d["exclude"] = m_target.exclude;
  d["changed_while_read"] = stats->changed;
  d["duration_ms"] = ms;
  d["restore"] = plain_restore(m_target, source.path.string(), relative);
  set->add_artifact(artifact);

  if (!m_target.allow_empty) {
    if (stats->entries <= 1)
      return failed(fmt::format("volume '{}': '{}' is empty (nothing to back up); set allow_empty: true if "
                                "that is expected",
                                m_target.name, source.path.string()));
    if (stats->archive_bytes < m_target.min_size)
      return failed(fmt::format("volume '{}': the archive is {}, below min_size {}", m_target.name,
                                util::human_bytes(stats->archive_bytes), util::human_bytes(m_target.min_size)));
  }
  std::string summary = fmt::format("{} files, {} -> {} ({}) in {}", stats->files,
                                    util::human_bytes(stats->content_bytes), util::human_bytes(stats->archive_bytes),
                                    artifact.compression, util::human_duration_ms(ms));
  if (!stats->changed.empty())
    summary += fmt::format("; {} file(s) changed while read: {}", stats->changed.size(), stats->changed.front());
  return passed(summary, stats->archive_bytes);
}

} // namespace gate::steps

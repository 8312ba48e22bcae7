#include "steps/volume/backup.hpp"

#include "steps/volume/quiesce.hpp"
#include "steps/volume/source.hpp"
#include "steps/volume/verify.hpp"
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
  return {};
}

std::string VolumeBackupStep::plan(const RunContext &ctx) const {
  std::string where =
      m_target.volume.empty() ? m_target.path.string() : "named volume " + m_target.volume;
  return fmt::format("archive {} into {} ({})", where, volume_archive_path(m_target),
                     to_string(m_target.compression));
}

util::Result<StepResult> VolumeBackupStep::run(RunContext &ctx) {
  TRY_ASSIGN(VolumeSource source, resolve_volume_source(ctx.config, m_target));
  TRY_ASSIGN(model::SetHandle * set, ctx.open_set());
  TRY(util::make_dirs(set->dir() / "volumes", 0700));
  std::string relative = volume_archive_path(m_target);
  auto archive = set->dir() / relative;

  uint64_t expected = util::tree_bytes(source.path).value_or(0);
  util::TarCreateOptions options;
  options.codec = volume_codec(m_target);
  options.codec.threads = ctx.compression_threads;
  options.exclude = m_target.exclude;
  std::string step = label();
  options.progress = [&](uint64_t done) {
    if (ctx.progress) ctx.progress(step, done, expected);
  };
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Quiescer> quiet;
  if (source.engine && m_target.quiesce != config::Quiesce::none) {
    auto q = Quiescer::begin(source.engine, source.volume, m_target.quiesce, m_target.stop_timeout);
    if (!q) return std::unexpected(q.error().with_context("volume '" + m_target.name + "'"));
    quiet = std::move(*q);
  }
  util::log_info("{}: archiving '{}' into {}", step, source.path.string(), relative);
  // Reading the archive back while it is written: libarchive follows the file.
  util::GrowthSignal growth;
  std::optional<util::Result<util::TarStats>> read;
  long long read_ms = 0;
  std::thread reader;
  if (m_read_back == ReadBack::while_writing) {
    options.growth = &growth;
    reader = std::thread([&] {
      auto read_start = std::chrono::steady_clock::now();
      read = util::tar_read(archive, nullptr, &growth);
      read_ms = util::elapsed_ms(read_start);
    });
  }
  auto stats = util::tar_create(source.path, archive, options);
  growth.finish(stats.has_value()); // also when the archive was never created
  if (reader.joinable()) reader.join();
  std::optional<util::Error> resume_error;
  nlohmann::json stopped = nlohmann::json::array();
  if (quiet) {
    // The containers come back as soon as the archive is written, before verification.
    if (auto r = quiet->resume(); !r) resume_error = r.error();
    stopped = quiet->facts();
  }
  if (!stats) return std::unexpected(stats.error().with_context("volume '" + m_target.name + "'"));
  long long ms = util::elapsed_ms(start);

  model::Artifact artifact;
  artifact.target = m_target.name;
  artifact.kind = "volume";
  artifact.format = "tar";
  artifact.compression = to_string(m_target.compression);
  artifact.path = relative;
  artifact.files.push_back({relative, stats->archive_bytes, stats->sha256});
  auto &d = artifact.details;
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
  d["containers_stopped"] = stopped;
  set->add_artifact(artifact);
  if (read && !(!*read && read->error().kind == util::ErrorKind::interrupted)) {
    Finding f =
        *read ? compare_volume_read(artifact, **read) : finding_failed(read->error().message);
    model::Verification v;
    v.artifact = relative;
    v.level = model::VerifyLevel::full;
    v.ok = f.ok;
    v.reason = f.ok ? f.note + " (read back while written)" : f.reason;
    v.duration_ms = read_ms;
    v.at = util::iso8601_utc(util::Clock::now());
    set->add_verification(v);
    if (!f.ok) return failed(fmt::format("{} (full): {}", relative, f.reason));
  }
  if (resume_error)
    return failed("volume '" + m_target.name +
                  "' was archived, but containers did not come back: " + resume_error->message);
  if (m_target.container_configs && source.engine)
    TRY(save_container_configs(*source.engine, m_target.name, source.volume, *set));

  if (!m_target.allow_empty) {
    if (stats->entries <= 1) return failed(empty_volume_message(m_target.name, source.path));
    if (stats->archive_bytes < m_target.min_size)
      return failed(fmt::format("volume '{}': the archive is {}, below min_size {}", m_target.name,
                                util::human_bytes(stats->archive_bytes),
                                util::human_bytes(m_target.min_size)));
  }
  std::string summary = fmt::format(
      "{} files, {} -> {} ({}) in {}", stats->files, util::human_bytes(stats->content_bytes),
      util::human_bytes(stats->archive_bytes), artifact.compression, util::human_duration_ms(ms));
  if (!stats->changed.empty())
    summary += fmt::format("; {} file(s) changed while read: {}", stats->changed.size(),
                           stats->changed.front());
  return passed(summary, stats->archive_bytes);
}

} // namespace gate::steps

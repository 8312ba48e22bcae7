#include "steps/volume/standby.hpp"

#include "steps/volume/restore.hpp"
#include "steps/volume/verify.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gate::steps {

namespace fs = std::filesystem;

namespace {

fs::path clean_dir(const fs::path &p) {
  fs::path clean = p.lexically_normal();
  if (clean.filename().empty()) clean = clean.parent_path();
  return clean;
}

fs::path sibling(const fs::path &live, const std::string &suffix) {
  fs::path clean = clean_dir(live);
  return clean.parent_path() / ("." + clean.filename().string() + suffix);
}

struct FingerprintWalk {
  util::Sha256 hash;
  TreeFingerprint out;
  std::set<std::pair<dev_t, ino_t>> linked; // hard-linked files already counted

  void entry(const std::string &rel, const struct stat &st, bool root) {
    ++out.entries;
    char type = S_ISDIR(st.st_mode)   ? 'd'
                : S_ISREG(st.st_mode) ? 'f'
                : S_ISLNK(st.st_mode) ? 'l'
                                      : 'o';
    long long mtime = root ? 0 : static_cast<long long>(st.st_mtim.tv_sec);
    long long mtime_ns = root ? 0 : static_cast<long long>(st.st_mtim.tv_nsec);
    std::string line =
        fmt::format("{}\t{}\t{:o}\t{}\t{}\t{}\t{}.{}\n", rel, type, st.st_mode & 07777, st.st_uid,
                    st.st_gid, S_ISDIR(st.st_mode) ? 0 : st.st_size, mtime, mtime_ns);
    hash.update(line);
    if (!S_ISREG(st.st_mode)) return;
    if (st.st_nlink > 1 && !linked.insert({st.st_dev, st.st_ino}).second) return;
    out.bytes += static_cast<uint64_t>(st.st_size);
  }

  // Visits the children of `dir` in name order, depth first.
  util::Result<void> walk(const fs::path &dir, const std::string &rel) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      names.push_back(it->path().filename().string());
    if (ec) return util::fail("unable to list '" + dir.string() + "': " + ec.message());
    std::sort(names.begin(), names.end());
    for (const auto &name : names) {
      fs::path p = dir / name;
      std::string child = rel.empty() ? name : rel + "/" + name;
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0)
        return util::fail("unable to stat '" + p.string() + "': " + util::errno_text(errno));
      entry(child, st, false);
      if (S_ISDIR(st.st_mode)) TRY(walk(p, child));
    }
    return {};
  }
};

} // namespace

fs::path standby_path(const fs::path &live) {
  return sibling(live, ".gate-standby");
}

fs::path replaced_path(const fs::path &live, const std::string &rollback_id) {
  return sibling(live, ".replaced-" + rollback_id);
}

util::Result<TreeFingerprint> tree_fingerprint(const fs::path &root) {
  FingerprintWalk w;
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0)
    return util::fail("unable to stat '" + root.string() + "': " + util::errno_text(errno));
  if (!S_ISDIR(st.st_mode)) return util::fail("'" + root.string() + "' is not a directory");
  w.entry(".", st, true);
  TRY(w.walk(root, ""));
  w.out.sha256 = w.hash.hex_digest();
  return w.out;
}

util::Result<std::unique_ptr<ScratchDir>> ScratchDir::create(const fs::path &path) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec))) {
    util::log_warn("removing '{}' left by an interrupted gate", path.string());
    TRY(util::remove_tree(path));
  }
  if (::mkdir(path.c_str(), 0700) != 0)
    return util::fail("unable to create '" + path.string() + "': " + util::errno_text(errno));
  return std::unique_ptr<ScratchDir>(new ScratchDir(path));
}

ScratchDir::~ScratchDir() {
  if (m_path.empty()) return;
  util::CancelShield shield;
  if (auto r = util::remove_tree(m_path); !r) util::log_warn("{}", r.error().message);
}

util::Result<MeasuredExtraction> extract_and_measure(const model::Artifact &artifact,
                                                     const fs::path &set_dir, const fs::path &into,
                                                     const util::ProgressFn &progress) {
  auto start = std::chrono::steady_clock::now();
  auto extracted = extract_volume_archive(artifact, set_dir, into, progress);
  if (!extracted) {
    if (extracted.error().kind == util::ErrorKind::interrupted)
      return std::unexpected(extracted.error());
    return MeasuredExtraction{finding_failed(extracted.error().message), util::elapsed_ms(start)};
  }
  MeasuredExtraction out{compare_volume_read(artifact, *extracted), util::elapsed_ms(start)};
  if (out.finding.ok) {
    out.finding.note += fmt::format(", extracted in {}", util::human_duration_ms(out.restore_ms));
    out.finding.metrics["restore_ms"] = out.restore_ms;
  }
  return out;
}

namespace {

// Beside the live data when its parent can be written (the same filesystem a
// rollback extracts on), else under backup_root.
fs::path verify_scratch(const model::Artifact &artifact, const fs::path &backup_root) {
  std::string source = artifact.details.value("source", std::string());
  if (!source.empty()) {
    fs::path live = clean_dir(source);
    std::error_code ec;
    if (fs::is_directory(live.parent_path(), ec) && util::probe_writable_dir(live.parent_path()))
      return sibling(live, ".gate-verify");
  }
  return backup_root / (".gate-verify-" + artifact.target);
}

} // namespace

util::Result<Finding> verify_volume_by_extraction(const model::Artifact &artifact,
                                                  const fs::path &set_dir,
                                                  const fs::path &backup_root,
                                                  const util::ProgressFn &progress) {
  TRY_ASSIGN(auto scratch, ScratchDir::create(verify_scratch(artifact, backup_root)));
  TRY_ASSIGN(MeasuredExtraction measured,
             extract_and_measure(artifact, set_dir, scratch->path(), progress));
  return measured.finding;
}

util::Result<void> check_standby_possible(const std::string &target, const fs::path &live_in) {
  fs::path live = clean_dir(live_in);
  struct stat own {
  }, parent{};
  if (::stat(live.c_str(), &own) != 0 || ::stat(live.parent_path().c_str(), &parent) != 0)
    return util::fail(fmt::format("volume '{}': unable to examine '{}' for its standby: {}", target,
                                  live.string(), util::errno_text(errno)));
  if (own.st_dev != parent.st_dev)
    return util::fail(fmt::format(
        "volume '{}': standby: true needs '{}' on the same filesystem as its standby '{}', but "
        "'{}' is a mount point: a rename cannot move a directory across filesystems; back up the "
        "directory above the mount point, or set standby: false",
        target, live.string(), standby_path(live).string(), live.string()));
  TRY_ASSIGN(uint64_t needed, util::tree_bytes(live));
  TRY_ASSIGN(uint64_t free, util::free_bytes(live.parent_path()));
  if (free < needed)
    return util::fail(fmt::format(
        "volume '{}': no room for its standby: '{}' holds {}, but its filesystem has {} free "
        "(a standby doubles the volume's footprint); free space or set standby: false",
        target, live.string(), util::human_bytes(needed), util::human_bytes(free)));
  return {};
}

namespace {

// Puts the verified `fresh` tree at `standby`; an older standby goes only
// after the exchange, so a failure leaves it as it was.
util::Result<void> replace_standby(const fs::path &fresh, const fs::path &standby) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(standby, ec))) {
    if (::rename(fresh.c_str(), standby.c_str()) != 0)
      return util::fail("unable to move '" + fresh.string() + "' to '" + standby.string() +
                        "': " + util::errno_text(errno));
    return {};
  }
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, standby.c_str(), RENAME_EXCHANGE) != 0)
    return util::fail("unable to put the new standby in place of '" + standby.string() +
                      "': " + util::errno_text(errno));
  util::CancelShield shield;
  if (auto r = util::remove_tree(fresh); !r)
    util::log_warn("the older standby could not be removed: {}", r.error().message);
  return {};
}

} // namespace

util::Result<BuiltStandby> build_standby(const model::Artifact &artifact, const fs::path &set_dir,
                                         const fs::path &live_in, const std::string &set_id,
                                         const util::ProgressFn &progress) {
  auto start = std::chrono::steady_clock::now();
  fs::path live = clean_dir(live_in), standby = standby_path(live);
  fs::path fresh_path = standby.string() + ".new";
  TRY_ASSIGN(auto fresh, ScratchDir::create(fresh_path));
  TRY_ASSIGN(MeasuredExtraction measured,
             extract_and_measure(artifact, set_dir, fresh->path(), progress));
  BuiltStandby out{measured.finding, nlohmann::json::object(), measured.restore_ms};
  if (!out.finding.ok) return out;           // the older standby stays as it was
  TRY(util::sync_filesystem(fresh->path())); // durable before it may replace anything
  // A rollback checks the fingerprint again before its renames: this is its time.
  auto check_start = std::chrono::steady_clock::now();
  TRY_ASSIGN(TreeFingerprint print, tree_fingerprint(fresh->path()));
  long long check_ms = util::elapsed_ms(check_start);
  TRY(replace_standby(fresh->path(), standby));
  fresh->release();
  (void)util::fsync_path(live.parent_path());
  out.details = {{"path", standby.string()},    {"set_id", set_id},
                 {"entries", print.entries},    {"bytes", print.bytes},
                 {"fingerprint", print.sha256}, {"build_ms", util::elapsed_ms(start)},
                 {"check_ms", check_ms}};
  out.finding.note += "; kept as the standby " + standby.string();
  return out;
}

StandbyChoice choose_standby(const model::Artifact &artifact, const std::string &set_id,
                             const fs::path &live) {
  StandbyChoice out;
  const auto &details = artifact.details;
  if (!details.contains("standby") || !details["standby"].is_object()) {
    out.why_not = "the set has no standby (the volume had no standby: true when it was made)";
    return out;
  }
  const auto &s = details["standby"];
  out.path = s.value("path", std::string());
  std::error_code ec;
  if (s.value("set_id", std::string()) != set_id)
    out.why_not = "its standby was recorded for another set";
  else if (out.path != standby_path(live))
    out.why_not = "its standby " + out.path.string() + " is not beside " + live.string() +
                  " (the volume moved)";
  else if (!fs::is_directory(fs::symlink_status(out.path, ec)))
    out.why_not = "its standby " + out.path.string() +
                  " is missing (used by an earlier rollback, or removed)";
  else if (auto print = tree_fingerprint(out.path); !print)
    out.why_not = "its standby cannot be read: " + print.error().message;
  else if (print->sha256 != s.value("fingerprint", std::string()))
    out.why_not = "its standby " + out.path.string() + " changed since it was verified (" +
                  std::to_string(print->entries) + " entries, " + util::human_bytes(print->bytes) +
                  " now; fingerprint differs)";
  else
    out.use = true;
  return out;
}

} // namespace gate::steps

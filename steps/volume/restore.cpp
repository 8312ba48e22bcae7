#include "steps/volume/restore.hpp"

#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gate::steps {

namespace fs = std::filesystem;

fs::path staging_path(const fs::path &dest) {
  fs::path clean = dest.lexically_normal();
  if (clean.filename().empty()) clean = clean.parent_path();
  return clean.parent_path() / ("." + clean.filename().string() + ".gate-staging");
}

fs::path carried_journal_path(const fs::path &dest) {
  fs::path staging = staging_path(dest);
  return staging.parent_path() / (staging.filename().string() + ".carried");
}

std::vector<std::string> excluded_entries(const fs::path &live,
                                          const std::vector<std::string> &patterns) {
  std::vector<std::string> out;
  std::error_code ec;
  if (patterns.empty() || !fs::is_directory(fs::symlink_status(live, ec))) return out;
  fs::recursive_directory_iterator it(live, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string rel = it->path().lexically_relative(live).string();
    if (!util::excluded(rel, patterns)) continue;
    out.push_back(rel);
    it.disable_recursion_pending(); // an excluded directory goes whole
  }
  return out;
}

util::Result<util::TarStats> extract_volume_archive(const model::Artifact &a,
                                                    const fs::path &set_dir, const fs::path &into,
                                                    const util::ProgressFn &progress) {
  util::ExtractOptions options;
  options.owners = ::geteuid() == 0; // owners need root; modes, xattrs and ACLs always
  options.progress = progress;
  return util::tar_extract(set_dir / a.path, into, options);
}

namespace {

// Moves `rels` from one tree to the other (rename: same filesystem), creating
// missing parents with the source parents' modes. Entries already present at
// the destination are left where they are.
util::Result<void> move_entries(const std::vector<std::string> &rels, const fs::path &from,
                                const fs::path &to) {
  for (const auto &rel : rels) {
    fs::path src = from / rel, dst = to / rel;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(src, ec)) || fs::exists(fs::symlink_status(dst, ec)))
      continue;
    for (fs::path p = fs::path(rel).parent_path(); !p.empty(); p = p.parent_path())
      if (!fs::exists(to / p, ec)) {
        struct stat st {};
        mode_t mode = ::stat((from / p).c_str(), &st) == 0 ? st.st_mode & 07777 : 0700;
        TRY(util::make_dirs(to / p, mode));
      }
    if (::rename(src.c_str(), dst.c_str()) != 0)
      return util::fail("unable to move '" + src.string() + "' to '" + dst.string() +
                        "': " + util::errno_text(errno));
  }
  return {};
}

std::string join_nul(const std::vector<std::string> &v) {
  std::string out;
  for (const auto &s : v)
    out += s + '\0';
  return out;
}

std::vector<std::string> split_nul(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\0') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

// What the set never held (the volume's exclude patterns) is carried from the
// live tree into the staged one before the swap, so a rollback keeps it. The
// journal beside the staging directory, written first, lets the next restore
// put carried entries back when a gate died between the carry and the swap.
util::Result<std::vector<std::string>>
carry_excluded(const model::Artifact &a, const fs::path &dest, const fs::path &staging) {
  std::vector<std::string> patterns = a.details.value("exclude", std::vector<std::string>{});
  std::vector<std::string> rels = excluded_entries(dest, patterns);
  if (rels.empty()) return rels;
  TRY(util::write_file_atomic(carried_journal_path(dest), join_nul(rels), 0600));
  if (auto moved = move_entries(rels, dest, staging); !moved) {
    (void)move_entries(rels, staging, dest);
    return std::unexpected(moved.error());
  }
  return rels;
}

// A staging directory left by an interrupted restore holds nothing anyone
// needs, except what was carried out of the live tree: that goes back first.
util::Result<void> clean_leftover_staging(const fs::path &dest, const fs::path &staging) {
  std::error_code ec;
  fs::path journal = carried_journal_path(dest);
  if (fs::exists(journal, ec)) {
    TRY_ASSIGN(auto text, util::read_file(journal));
    std::vector<std::string> rels = split_nul(text);
    if (fs::exists(staging, ec) && fs::exists(dest, ec)) {
      TRY(move_entries(rels, staging, dest));
      util::log_warn("put back {} excluded path(s) into '{}' carried by an interrupted restore",
                     rels.size(), dest.string());
    }
  }
  if (fs::exists(staging, ec)) {
    util::log_warn("removing '{}' left by an interrupted restore", staging.string());
    TRY(util::remove_tree(staging));
  }
  fs::remove(journal, ec);
  return {};
}

// Gives up before `dest` was touched: the staging directory goes, `dest` stays as it was.
std::unexpected<util::Error> abandon(const fs::path &staging, const fs::path &dest,
                                     const std::string &why) {
  util::CancelShield shield;
  (void)util::remove_tree(staging);
  return util::fail(why + "; '" + dest.string() + "' was not touched");
}

// A fresh staging directory beside `dest` (same filesystem: the swap is a
// rename), after putting right what an interrupted restore left.
util::Result<fs::path> prepare_staging(const fs::path &dest) {
  std::error_code ec;
  if (!fs::is_directory(dest.parent_path(), ec))
    return util::fail("unable to restore into '" + dest.string() +
                      "': its parent directory does not exist");
  fs::path staging = staging_path(dest);
  TRY(clean_leftover_staging(dest, staging));
  if (::mkdir(staging.c_str(), 0700) != 0)
    return util::fail("unable to create staging directory '" + staging.string() +
                      "': " + util::errno_text(errno));
  return staging;
}

// Extracts the archive into `staging` and proves it is what was backed up
// (checksum, entries, bytes) before anything replaces the live tree; durable
// on disk before it may.
util::Result<util::TarStats> extract_checked(const model::Artifact &a, const fs::path &set_dir,
                                             const fs::path &staging, const fs::path &dest,
                                             const util::ProgressFn &progress) {
  auto extracted = extract_volume_archive(a, set_dir, staging, progress);
  if (!extracted) {
    if (extracted.error().kind == util::ErrorKind::interrupted) {
      util::CancelShield shield;
      (void)util::remove_tree(staging);
      return std::unexpected(extracted.error());
    }
    return abandon(staging, dest, extracted.error().message);
  }
  const auto &file = a.files.front();
  if (extracted->sha256 != file.sha256)
    return abandon(staging, dest,
                   fmt::format("'{}' fails its checksum while restoring", file.path));
  uint64_t entries = a.details.value("entries", uint64_t{0});
  uint64_t bytes = a.details.value("content_bytes", uint64_t{0});
  if (extracted->entries != entries || extracted->content_bytes != bytes)
    return abandon(staging, dest,
                   fmt::format("extracted {} entries and {} bytes, the manifest says {} and {}",
                               extracted->entries, extracted->content_bytes, entries, bytes));
  TRY(util::sync_filesystem(staging)); // durable before it replaces anything
  return *extracted;
}

// One atomic exchange of the staged tree with the live one: readers see the
// old tree or the new one, never a mix. The old tree goes only after the swap
// succeeded; a failed swap puts back what was carried out of the live tree.
util::Result<void> swap_into_place(const model::Artifact &a, const fs::path &dest,
                                   const fs::path &staging, VolumeRestoreResult &result) {
  std::error_code ec;
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0) {
    int e = errno;
    {
      util::CancelShield shield;
      (void)move_entries(result.kept, staging, dest);
      fs::remove(carried_journal_path(dest), ec);
    }
    if (e == EBUSY)
      return abandon(staging, dest,
                     "'" + dest.string() +
                         "' is a mount point and cannot be swapped; restore elsewhere with "
                         "--target " +
                         a.target + "=DIR and copy");
    return abandon(staging, dest,
                   "unable to swap the restored tree into place: " + util::errno_text(e));
  }
  // The old tree now sits at the staging path.
  util::CancelShield shield;
  fs::remove(carried_journal_path(dest), ec);
  if (!result.kept.empty())
    result.note = fmt::format("kept {} excluded path(s) the set does not hold", result.kept.size());
  if (auto r = util::remove_tree(staging); !r)
    util::log_warn("restored '{}', but the old data at '{}' could not be removed: {}",
                   dest.string(), staging.string(), r.error().message);
  return {};
}

} // namespace

// Phases: stage, extract and check, carry what the set never held, put in place.
util::Result<VolumeRestoreResult> restore_volume(const model::Artifact &a, const fs::path &set_dir,
                                                 const fs::path &dest_in, const std::string &set_id,
                                                 const util::ProgressFn &progress) {
  fs::path dest = dest_in.lexically_normal();
  if (dest.filename().empty()) dest = dest.parent_path();
  TRY_ASSIGN(fs::path staging, prepare_staging(dest));
  TRY_ASSIGN(util::TarStats extracted, extract_checked(a, set_dir, staging, dest, progress));
  util::fault_point("restore.volume-staged");

  VolumeRestoreResult result{extracted.entries, extracted.content_bytes, {}, {}};
  std::error_code ec;
  if (!fs::exists(dest, ec)) {
    if (::rename(staging.c_str(), dest.c_str()) != 0)
      return abandon(staging, dest,
                     "unable to move the restored tree into place: " + util::errno_text(errno));
    result.note = "the destination did not exist; created it";
  } else {
    auto carried = carry_excluded(a, dest, staging);
    if (!carried) return abandon(staging, dest, carried.error().message);
    result.kept = *carried;
    TRY(swap_into_place(a, dest, staging, result));
  }
  (void)util::fsync_path(dest.parent_path());
  return result;
}

} // namespace gate::steps

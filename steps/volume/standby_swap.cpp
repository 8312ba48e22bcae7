#include "steps/volume/standby_swap.hpp"

#include "steps/volume/quiesce.hpp"
#include "steps/volume/source.hpp"
#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>

namespace gate::steps {

namespace fs = std::filesystem;

namespace {

bool present(const std::string &path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

util::Result<void> rename_path(const std::string &from, const std::string &to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return util::fail("unable to rename '" + from + "' to '" + to +
                      "': " + util::errno_text(errno));
  return {};
}

model::SwapEntry entry_of(const StandbySwap &swap) {
  model::SwapEntry e;
  e.kind = "volume";
  e.target = swap.target;
  e.live = swap.live.string();
  e.standby = swap.standby.string();
  e.replaced = swap.replaced.string();
  e.set_id = swap.set_id;
  e.rollback_id = swap.rollback_id;
  e.at = util::iso8601_utc(util::Clock::now());
  e.state = model::SwapState::begun;
  return e;
}

} // namespace

namespace {

// A directory's device:inode, which a rename keeps.
util::Result<std::string> inode_of(const std::string &path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return util::fail("unable to stat '" + path + "': " + util::errno_text(errno));
  return fmt::format("{}:{}", static_cast<unsigned long long>(st.st_dev),
                     static_cast<unsigned long long>(st.st_ino));
}

bool exchange(const std::string &a, const std::string &b) {
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
}

// A swap cut short after its exchange: the standby is live, the old data
// still at the standby's path.
bool exchanged_in(const model::SwapEntry &e) {
  if (e.standby_identity.empty() || !present(e.standby)) return false;
  auto now = inode_of(e.live);
  return now && *now == e.standby_identity;
}

// The swap as one atomic exchange (the standby takes the live name, the live
// data the standby's), then the old data renamed to `replaced`: the live name
// resolves at every moment. Falls back to two renames where the filesystem
// cannot exchange (errno EINVAL).
util::Result<void> move_standby_in(model::SwapJournal &journal, const model::SwapEntry &entry) {
  if (!exchange(entry.standby, entry.live)) {
    if (errno != EINVAL) {
      (void)journal.forget(entry.rollback_id, entry.target);
      return util::fail("unable to exchange '" + entry.standby + "' and '" + entry.live +
                        "': " + util::errno_text(errno) + "; nothing was changed");
    }
    TRY(rename_path(entry.live, entry.replaced));
    util::fault_point("volume-standby.between-renames");
    return rename_path(entry.standby, entry.live);
  }
  (void)util::fsync_path(fs::path(entry.live).parent_path());
  util::fault_point("volume-standby.between-renames");
  if (auto r = rename_path(entry.standby, entry.replaced); !r) {
    if (!exchange(entry.standby, entry.live))
      return util::fail(r.error().message + "; and putting the live data back failed: " +
                        util::errno_text(errno) + " (the journal keeps the swap for repair)");
    (void)journal.forget(entry.rollback_id, entry.target);
    return util::fail(r.error().message + "; the live directory was put back");
  }
  return {};
}

} // namespace

util::Result<void> swap_standby_in(const StandbySwap &swap) {
  TRY_ASSIGN(model::SwapJournal journal, model::SwapJournal::load(swap.backup_root));
  model::SwapEntry entry = entry_of(swap);
  TRY_ASSIGN(entry.standby_identity, inode_of(entry.standby));
  TRY(journal.record(entry)); // before anything moves: a kill from here on is repaired
  util::fault_point("volume-standby.journaled");
  if (util::cancel_requested()) { // a signal before the first rename: no swap
    (void)journal.forget(entry.rollback_id, entry.target);
    return util::fail(util::ErrorKind::interrupted, "interrupted before the swap began");
  }
  util::CancelShield shield; // the renames finish, or are undone, whatever signal comes
  if (auto moved = move_standby_in(journal, entry); !moved) {
    // The two-rename path stopped between them: the live data goes back.
    if (!present(entry.live) && present(entry.replaced))
      (void)rename_path(entry.replaced, entry.live);
    if (present(entry.live) && !present(entry.replaced) && !exchanged_in(entry))
      (void)journal.forget(entry.rollback_id, entry.target); // as it was: nothing to repair
    return moved;
  }
  (void)util::fsync_path(swap.live.parent_path());
  util::fault_point("volume-standby.before-done");
  entry.state = model::SwapState::done;
  if (auto r = journal.record(entry); !r)
    util::log_warn("the standby of '{}' is live, but the swap journal could not say so: {} (the "
                   "next gate finds the swap complete)",
                   swap.target, r.error().message);
  return {};
}

namespace {

util::Result<std::string> live_inode(const config::PipelineConfig &, const model::SwapEntry &e) {
  return inode_of(e.live);
}

// `gate rollback --undo` cut short: the exchange is one atomic rename, so
// the live name holds the directory it held before (its inode recorded) or
// the other one.
util::Result<std::string> repair_swap_back(const config::PipelineConfig &config,
                                           model::SwapEntry &e) {
  TRY_ASSIGN(std::string now, live_inode(config, e));
  bool exchanged = now != e.live_was;
  e.state = exchanged ? model::swapped_back(e.back_from) : e.back_from;
  return fmt::format("volume '{}': a `gate rollback --undo` was cut short {} its exchange of '{}' "
                     "and '{}'; the journal says so now ({}); start the containers using it if "
                     "they are stopped",
                     e.target, exchanged ? "after" : "before", e.live, e.replaced,
                     model::to_string(e.state));
}

// A `begun` swap cut short: the live name is made to resolve to whole data.
// A swap whose standby took the live name is completed (done); one stopped
// between two plain renames is put back (the old data live again, the
// standby kept for another rollback); one that never started is forgotten.
util::Result<std::string> repair(const config::PipelineConfig &config, model::SwapEntry &e) {
  if (e.state == model::SwapState::swapping_back) return repair_swap_back(config, e);
  bool live = present(e.live), standby = present(e.standby), replaced = present(e.replaced);
  if (live && !replaced && exchanged_in(e)) {
    TRY(rename_path(e.standby, e.replaced));
    (void)util::fsync_path(fs::path(e.live).parent_path());
    e.state = model::SwapState::done;
    return fmt::format("volume '{}': the swap was cut short after the standby took the live name; "
                       "it is finished (the replaced data moved from '{}' to '{}')",
                       e.target, e.standby, e.replaced);
  }
  if (live && !replaced) {
    e.state = model::SwapState::undone;
    return fmt::format("volume '{}': the swap had not started; '{}' was never moved", e.target,
                       e.live);
  }
  if (live && replaced && !standby) {
    e.state = model::SwapState::done;
    return fmt::format("volume '{}': the swap had completed; the standby is live at '{}', the "
                       "replaced data is kept at '{}'",
                       e.target, e.live, e.replaced);
  }
  if (!live && replaced) {
    TRY(rename_path(e.replaced, e.live));
    (void)util::fsync_path(fs::path(e.live).parent_path());
    e.state = model::SwapState::undone;
    return fmt::format("volume '{}': the swap was cut short between its renames; put the old data "
                       "back at '{}'{}; start the containers using it if they are stopped",
                       e.target, e.live,
                       standby ? " (the standby is kept at '" + e.standby + "')" : "");
  }
  return util::fail(fmt::format(
      "volume '{}': cannot tell how the swap ended: '{}' {}, '{}' {}, '{}' {}; nothing was "
      "changed, look at them and remove the journal entry by hand",
      e.target, e.live, live ? "exists" : "is missing", e.standby,
      standby ? "exists" : "is missing", e.replaced, replaced ? "exists" : "is missing"));
}

// The containers using a named volume are stopped while its directories
// change places; a plain directory has none.
util::Result<std::unique_ptr<Quiescer>> quiesce_for_swap(const config::PipelineConfig &config,
                                                         const std::string &target) {
  const auto *volume = config.find_volume(target);
  if (!volume || volume->volume.empty()) return std::unique_ptr<Quiescer>();
  TRY_ASSIGN(VolumeSource source, resolve_volume_source(config, *volume));
  return Quiescer::begin(source.engine, source.volume, config::Quiesce::stop, volume->stop_timeout,
                         config.backup_root);
}

util::Result<void> swap_back(const config::PipelineConfig &config, model::SwapEntry &e) {
  if (e.state == model::SwapState::begun)
    return util::fail("volume '" + e.target + "': the swap is not finished; repair it first");
  if (!present(e.live) || !present(e.replaced))
    return util::fail(fmt::format("volume '{}': cannot swap back: '{}' {} and '{}' {}", e.target,
                                  e.live, present(e.live) ? "exists" : "is missing", e.replaced,
                                  present(e.replaced) ? "exists" : "is missing"));
  TRY_ASSIGN(auto quiet, quiesce_for_swap(config, e.target));
  {
    util::CancelShield shield;
    if (::renameat2(AT_FDCWD, e.replaced.c_str(), AT_FDCWD, e.live.c_str(), RENAME_EXCHANGE) != 0)
      return util::fail(fmt::format("volume '{}': unable to exchange '{}' and '{}': {}; nothing "
                                    "was changed",
                                    e.target, e.live, e.replaced, util::errno_text(errno)));
    (void)util::fsync_path(fs::path(e.live).parent_path());
  }
  e.state = model::swapped_back(e.state);
  if (quiet) TRY(quiet->resume());
  return {};
}

util::Result<void> drop_replaced(const config::PipelineConfig &, const model::SwapEntry &e) {
  return util::remove_tree(e.replaced);
}

} // namespace

const SwapOps k_volume_swap_ops = {repair, live_inode, swap_back, drop_replaced};

} // namespace gate::steps

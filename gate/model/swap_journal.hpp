// backup_root/.gate-swaps.json: every standby swap a rollback made. It is
// written before a swap starts and after it ends, so that a swap cut short by
// a kill is finished or put back by the next gate, `gate rollback --undo`
// knows what to swap back, and the replaced copies are dropped once
// `keep_replaced` successful runs have passed.
#pragma once

#include "util/expected.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace gate::model {

enum class SwapState {
  begun,  // the swap may be half done: the next gate repairs it
  done,   // the standby's data is live; the old data is at `replaced`
  undone, // swapped back by `gate rollback --undo`: the old data is live again
  // `gate rollback --undo` is exchanging `live` and `replaced`: `back_from`
  // is the state before, `live_was` identifies what `live` held then (a
  // database's oid, a directory's device:inode). The next gate compares it
  // with what `live` holds now to tell whether the exchange happened.
  swapping_back,
};

struct SwapEntry {
  std::string kind;        // the artifact kind: "database" | "volume"
  std::string target;      // the pipeline's target name
  std::string live;        // the name the application uses: a database name, a directory
  std::string standby;     // where the standby was before the swap
  std::string replaced;    // where the data that was live is kept after the swap
  std::string set_id;      // the set the standby was built from
  std::string rollback_id; // the entries of one rollback share it
  std::string at;          // when the swap began, ISO-8601 UTC
  SwapState state = SwapState::begun;
  int runs_since = 0; // successful `gate run`s since the swap (for keep_replaced)
  SwapState back_from = SwapState::done; // swapping_back only
  std::string live_was;                  // swapping_back only
  // begun (a volume): the standby's device:inode, which the live name holds
  // once the swap's exchange is made.
  std::string standby_identity;
};

const char *to_string(SwapState state);
// The state after a swap back: done becomes undone, undone done.
SwapState swapped_back(SwapState state);
// A swap a kill may have cut short (begun, swapping_back): the next gate repairs it.
bool cut_short(SwapState state);

class SwapJournal {
public:
  // The journal in `backup_root`; empty when there is none yet. An unreadable
  // or malformed file is an error naming it (a swap must never be forgotten).
  static util::Result<SwapJournal> load(const std::filesystem::path &backup_root);

  const std::vector<SwapEntry> &entries() const { return m_entries; }
  // The entries of the newest rollback, in the order they were recorded.
  std::vector<SwapEntry> last_rollback() const;

  // Adds `entry`, or replaces the one with its rollback_id and target, and
  // writes the file atomically (0600) before returning. Both changes re-read
  // the file first (under a lock within the process), so that journals held
  // by concurrent jobs keep each other's entries.
  util::Result<void> record(const SwapEntry &entry);
  // Forgets the entry (its replaced copy was dropped) and writes the file.
  util::Result<void> forget(const std::string &rollback_id, const std::string &target);

private:
  util::Result<void> reload();
  util::Result<void> save() const;
  std::filesystem::path m_file;
  std::vector<SwapEntry> m_entries;
};

} // namespace gate::model

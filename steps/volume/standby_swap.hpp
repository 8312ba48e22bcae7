// The swaps of a volume's standby: the rollback's (live → replaced, standby
// → live, journaled in backup_root/.gate-swaps.json before and after), and
// the swap operations (steps/swap.hpp) the orchestration applies to a
// journaled swap later: repair after a kill, swap back for --undo, drop the
// replaced copy.
#pragma once

#include "steps/swap.hpp"

#include <filesystem>
#include <string>

namespace gate::steps {

struct StandbySwap {
  std::string target;
  std::filesystem::path live, standby, replaced;
  std::string set_id, rollback_id;
  std::filesystem::path backup_root; // where the journal is
};

// Renames the live directory to `replaced` and the standby to the live name,
// journaled `begun` before and `done` after. On a failure between the two
// renames the live name is put back and the journal entry forgotten: the
// error means the live data is as it was.
util::Result<void> swap_standby_in(const StandbySwap &swap);

// The volume kind's swap operations.
extern const SwapOps k_volume_swap_ops;

} // namespace gate::steps

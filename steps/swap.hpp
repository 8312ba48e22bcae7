// What a kind of target with standbys (`standby: true`) does with a swap the
// journal (model/swap_journal.hpp) recorded, outside the rollback that made
// it: finish or put back a swap a kill cut short, swap back for
// `gate rollback --undo`, and drop a replaced copy once keep_replaced runs
// have passed. The rollback's own swap is the RestoreJob's restore().
#pragma once

#include "config/pipeline.hpp"
#include "model/swap_journal.hpp"
#include "util/expected.hpp"

#include <string>

namespace gate::steps {

struct SwapOps {
  // A `begun` entry: makes the live name resolve to whole data again (the
  // old or the standby's) and returns, for people, what it did; the caller
  // records the entry's new state (done, or removed when put back). A
  // `swapping_back` entry: whether the exchange happened decides its state
  // (back_from, or the state after it); the caller records it.
  util::Result<std::string> (*repair)(const config::PipelineConfig &, model::SwapEntry &);
  // What the live name holds now, as a swapping_back entry's `live_was`
  // records it (a database's oid, a directory's device:inode).
  util::Result<std::string> (*live_identity)(const config::PipelineConfig &,
                                             const model::SwapEntry &);
  // A `done` entry becomes `undone` and an `undone` one `done`: the data at
  // `replaced` and the live data change places. Whole or not at all.
  util::Result<void> (*swap_back)(const config::PipelineConfig &, model::SwapEntry &);
  // Removes the copy at `replaced` (the database dropped, the directory removed).
  util::Result<void> (*drop_replaced)(const config::PipelineConfig &, const model::SwapEntry &);
};

// The operations of artifact kind `kind`, or null when it has no standbys.
const SwapOps *swap_ops_for(const std::string &kind);

} // namespace gate::steps

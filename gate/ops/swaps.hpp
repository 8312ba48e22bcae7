// What the standby swap journal (model/swap_journal.hpp) asks of every
// command after a rollback through standbys: repair a swap a kill cut
// short, drop the replaced copies once keep_replaced successful runs have
// passed, list them, and swap them back (`gate rollback --undo`).
#pragma once

#include "config/pipeline.hpp"
#include "ops/reporter.hpp"
#include "ops/run.hpp"

#include <functional>
#include <string>
#include <vector>

namespace gate::ops {

// Every `begun` entry is repaired through its kind's swap operations: the
// live name resolves to whole data again, and the entry becomes `done` or
// goes. Returns, for people, what was done (or why it could not be). The
// caller holds backup_root's lock, so no swap is running meanwhile.
std::vector<std::string> repair_swaps(const config::PipelineConfig &config);

// After a successful `gate run`: each done or undone entry counts one more
// run; those at keep_replaced have their replaced copy dropped and are
// forgotten. Returns what was dropped.
std::vector<std::string> age_replaced_copies(const config::PipelineConfig &config);

// One line per replaced copy the journal keeps, for `gate list --all` and
// `gate show` ("app: app_replaced_20261201t... (rollback ..., done, kept 1 more run)").
std::vector<std::string> replaced_copies(const config::PipelineConfig &config);

struct UndoRequest {
  bool dry_run = false;
  // Asked before anything changes; false cancels (exit 1, nothing changed).
  std::function<bool()> confirm;
  std::string command_line;
};

// `gate rollback --undo`: the newest rollback's swaps are swapped back (done
// becomes undone, undone done again), each whole or not at all.
RunOutcome undo_rollback(const config::PipelineConfig &config, const UndoRequest &request,
                         Reporter &reporter);

} // namespace gate::ops

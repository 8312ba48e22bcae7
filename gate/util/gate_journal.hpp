// Journal entries that gate writes before a change a SIGKILL could leave
// half done (a database closed to connections, containers stopped), found
// again by the next gate. Each entry names the process that wrote it, so an
// entry whose writer is no longer running is known to need repair.
#pragma once

#include "util/expected.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace gate::util {

// Writes `fields` with this process's pid and host and the time to `path`,
// durably (0600, its directory made 0700), before the caller changes anything.
Result<void> write_gate_journal(const std::filesystem::path &path, nlohmann::json fields);

struct GateJournalEntry {
  std::filesystem::path path;
  nlohmann::json fields; // always an object
};

// The entries in `dir` whose file names start with `prefix` and whose gate
// is no longer running (another gate still running cleans up after itself).
std::vector<GateJournalEntry> dead_gate_journals(const std::filesystem::path &dir,
                                                 std::string_view prefix);

} // namespace gate::util

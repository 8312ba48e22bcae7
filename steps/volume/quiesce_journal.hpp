// A journal of the containers gate stops (or pauses) for a named volume:
// before the first is stopped, backup_root/.gate-quiesced-<volume>.json
// lists them with the engine's socket; once every one is running again the
// file goes. A gate killed in between (SIGKILL: no destructor runs) leaves
// the file, and the next gate, whatever its command, starts exactly those
// containers again and says so: the application is not left down by a
// dead backup.
#pragma once

#include "config/pipeline.hpp"
#include "steps/volume/container_engine.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace gate::steps {

class QuiesceJournal {
public:
  // Writes the entry (durably) before the caller stops any of `containers`.
  static util::Result<QuiesceJournal> open(const std::filesystem::path &backup_root,
                                           const std::string &volume, const ContainerEngine &engine,
                                           config::Quiesce mode,
                                           const std::vector<EngineContainer> &containers);
  // Every container is running again: the entry goes.
  void done() const;

private:
  std::filesystem::path m_path;
};

// For every entry whose gate is no longer running: starts (or unpauses) each
// listed container that is still stopped (or paused) and removes the entry.
// One line per volume for the user: what was started, or what to run by hand.
std::vector<std::string> repair_quiesced_containers(const config::PipelineConfig &config);

} // namespace gate::steps

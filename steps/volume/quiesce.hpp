// Keeping a named volume consistent while it is archived or restored: the
// containers using it are stopped (or paused) first and exactly those that
// were running are started (or unpaused) again afterwards — on failure and
// on interrupt too (offen/docker-volume-backup's deferred restart).
#pragma once

#include "config/pipeline.hpp"
#include "steps/volume/container_engine.hpp"
#include "steps/volume/quiesce_journal.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

namespace gate::steps {

class Quiescer {
public:
  // Stops or pauses every running container using `volume`, journaled in
  // `journal_dir` (backup_root) first (quiesce_journal.hpp).
  static util::Result<std::unique_ptr<Quiescer>>
  begin(std::shared_ptr<ContainerEngine> engine, const std::string &volume, config::Quiesce mode,
        std::chrono::milliseconds timeout, const std::filesystem::path &journal_dir);
  ~Quiescer(); // resumes if resume() was not called
  // Starts (or unpauses) what begin() stopped. An error names each container
  // still down, the engine, and the command that brings them back.
  util::Result<void> resume();
  // [{"name", "id", "action": "stopped"|"paused", "seconds"}] for the manifest.
  nlohmann::json facts() const { return m_facts; }

private:
  std::string not_resumed_message(const std::vector<std::string> &names,
                                  const std::string &errors) const;
  struct Held {
    EngineContainer container;
    std::chrono::steady_clock::time_point since;
  };
  std::shared_ptr<ContainerEngine> m_engine;
  config::Quiesce m_mode = config::Quiesce::none;
  std::vector<Held> m_held;
  std::optional<QuiesceJournal> m_journal;
  bool m_resumed = false;
  nlohmann::json m_facts = nlohmann::json::array();
};

} // namespace gate::steps

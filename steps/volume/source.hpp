// Where a volume's data lives: its `path`, or a named volume's mountpoint
// resolved through the container engine (Docker or Podman).
#pragma once

#include "config/pipeline.hpp"
#include "steps/volume/container_engine.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

namespace gate::steps {

struct VolumeSource {
  std::filesystem::path path;
  nlohmann::json facts = nlohmann::json::object(); // engine, version, volume, labels, driver
  std::shared_ptr<ContainerEngine> engine;         // for named volumes
  std::string volume;                              // the named volume, if any
  bool missing = false; // a removed named volume, not created yet (path empty)
};

// Resolves the directory to archive. A missing named volume fails listing
// the closest existing names (the compose-prefix mistake first); no engine
// fails naming every socket tried.
util::Result<VolumeSource> resolve_volume_source(const config::PipelineConfig &config,
                                                 const config::VolumeTarget &target);

// For a rollback: like resolve_volume_source, but a named volume that was
// removed is not an error: it comes back `missing`, or with `create` it is
// created again with its recorded driver and labels.
util::Result<VolumeSource> resolve_volume_for_restore(const config::PipelineConfig &config,
                                                      const config::VolumeTarget &target,
                                                      const nlohmann::json &recorded_facts,
                                                      bool create);

} // namespace gate::steps

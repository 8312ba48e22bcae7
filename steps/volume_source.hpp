// Where a volume's data lives: its `path`, or a named volume's mountpoint
// resolved through the container engine.
#pragma once

#include "config/pipeline.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

namespace gate::steps {

struct VolumeSource {
  std::filesystem::path path;
  nlohmann::json facts = nlohmann::json::object(); // engine, labels, driver... for the manifest
};

// Resolves the directory to archive or restore into. Fails naming the path
// (or volume) and why.
util::Result<VolumeSource> resolve_volume_source(const config::PipelineConfig& config,
                                                 const config::VolumeTarget& target);

} // namespace gate::steps

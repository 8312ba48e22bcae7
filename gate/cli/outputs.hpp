// What a finished run publishes besides the console: webhook and command
// alerts, JUnit XML, GitHub Actions annotations/summary/outputs, a GitLab
// dotenv file and Prometheus metrics. Delivery problems are warnings: they
// never change the verdict or the exit code.
#pragma once

#include "cli/commands.hpp"
#include "config/pipeline.hpp"
#include "engine/run.hpp"

namespace gate::cli {

void publish_outcome(const config::PipelineConfig& config, const Args& args, const engine::RunOutcome& outcome,
                     const std::string& command, Console& console);

} // namespace gate::cli

// What a finished run publishes besides the console: webhook and command
// alerts, JUnit XML, GitHub Actions annotations/summary/outputs, a GitLab
// dotenv file and Prometheus metrics. Delivery problems are warnings: they
// never change the verdict or the exit code.
#pragma once

#include "cli/commands.hpp"
#include "config/pipeline.hpp"
#include "ops/run.hpp"

namespace gate::cli {

// Writes the reports asked for (JUnit, dotenv, GitHub outputs, metrics) and
// delivers the alerts. A signal during delivery stops it at once and turns
// the outcome into an interrupted one (exit 130).
void publish_outcome(const config::PipelineConfig &config, const Args &args,
                     ops::RunOutcome &outcome, const std::string &command, Console &console);

} // namespace gate::cli

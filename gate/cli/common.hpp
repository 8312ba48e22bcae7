// Helpers the commands share: loading pipeline.yml with a clear error, and
// the JSON form of an outcome.
#pragma once

#include "cli/commands.hpp"
#include "config/pipeline.hpp"
#include "ops/run.hpp"

#include <optional>

namespace gate::cli {

// Loads the configuration; on error prints it and sets `exit_code` (2).
std::optional<config::PipelineConfig> load_config(const Args &args, Console &console,
                                                  int &exit_code);

// Prints an error line with its exit code's meaning; returns the code.
int report_error(Console &console, const util::Error &error);

// The set a command works on: the ID given, else --last (the record's set).
util::Result<std::string> chosen_set(const Args &args, const config::PipelineConfig &config);

nlohmann::json outcome_json(const ops::RunOutcome &outcome);

// The copies standby rollbacks replaced and the journal keeps (gate list
// --all, gate show); nothing when there are none.
void show_replaced_copies(Console &console, const config::PipelineConfig &config);

} // namespace gate::cli

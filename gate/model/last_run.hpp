// backup_root/.gate-last-run.json: the verdict of the last run, rollback or
// scheduled backup, written after each one, for `gate status` and monitoring.
#pragma once

#include "util/expected.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace gate::model {

struct LastRun {
  std::string command; // "run" | "backup" | "rollback"
  bool ok = false;
  int exit_code = 0;
  std::string verdict;
  std::string finished_at; // ISO-8601 UTC
  std::string set_id;
  long long duration_ms = 0;
  std::string project;
  std::string environment; // the chosen environment
};

// Replaces the state file atomically (0600).
util::Result<void> write_last_run(const std::filesystem::path &backup_root, const LastRun &run);
// The last run, or nothing when none was recorded; an unreadable file is an error.
util::Result<std::optional<LastRun>> read_last_run(const std::filesystem::path &backup_root);

} // namespace gate::model

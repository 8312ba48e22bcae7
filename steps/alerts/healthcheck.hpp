// Health-check pings (borgmatic's most used monitoring): healthchecks.io's
// protocol — URL/start when a run begins, URL on success, URL/fail on
// failure, each with ?rid=<run id>, the body a short summary and the last
// lines of the set's log (at most 10 KB, secrets masked) — or an Uptime Kuma
// push monitor (GET URL?status=up|down&msg=...&ping=<ms>). A failed ping is a
// warning, never a verdict; every ping is bounded by its timeout and retries.
#pragma once

#include "config/pipeline.hpp"

#include <filesystem>
#include <string>

namespace gate::steps {

// A fresh run id (a UUID, as healthchecks.io wants for rid).
std::string new_run_id();

// Pings every health check that a run started.
void ping_start(const config::PipelineConfig &config, const std::string &run_id);

struct RunSummary {
  bool ok = false;
  std::string verdict;
  long long duration_ms = 0;
  std::filesystem::path set_dir; // its gate.log's last lines go in the body, when set
};

// Pings every health check with the run's end.
void ping_end(const config::PipelineConfig &config, const std::string &run_id,
              const RunSummary &run);

// The body of an end ping: the verdict, then the last lines of the log, at
// most `limit` bytes, secrets masked.
std::string ping_body(const RunSummary &run, size_t limit = 10 * 1024);

} // namespace gate::steps

#include "cli/common.hpp"

#include "ops/rollback.hpp"
#include "ops/swaps.hpp"
#include "steps/postgres/access.hpp"
#include "steps/volume/quiesce_journal.hpp"
#include "util/log.hpp"
#include "util/pg.hpp"

namespace gate::cli {

namespace {

// What a gate killed with SIGKILL could not clean up, repaired by the next
// one whatever its command: a database it left closed to connections, the
// containers it left stopped, and the password files that gate versions
// before 0.2 wrote.
void repair_after_dead_gate(const config::PipelineConfig &config) {
  for (const auto &line : steps::repair_database_access(config))
    util::log_warn("{}", line);
  for (const auto &line : steps::repair_quiesced_containers(config))
    util::log_warn("{}", line);
  if (int removed = util::remove_stale_password_files(); removed > 0)
    util::log_warn(
        "removed {} password file(s) left in the temporary directory by a gate that died", removed);
}

} // namespace

std::optional<config::PipelineConfig> load_config(const Args &args, Console &console,
                                                  int &exit_code) {
  auto config = config::load_pipeline(args.config, config::requested_environment(args.environment));
  if (!config) {
    exit_code = report_error(console, config.error());
    return std::nullopt;
  }
  repair_after_dead_gate(*config);
  return std::move(*config);
}

util::Result<std::string> chosen_set(const Args &args, const config::PipelineConfig &config) {
  if (!args.id.empty() && args.last)
    return util::fail(util::ErrorKind::usage, "give an ID or --last, not both");
  if (!args.id.empty()) return args.id;
  return ops::resolve_last_set(config);
}

int report_error(Console &console, const util::Error &error) {
  int code = util::exit_code_for(error.kind);
  console.verdict(false, "FAILED: " + error.message,
                  {{"exit_code", code}, {"error", error.message}});
  return code;
}

nlohmann::json outcome_json(const ops::RunOutcome &o) {
  nlohmann::json j;
  j["exit_code"] = o.exit_code;
  j["outcome"] = o.event;
  j["set_id"] = o.set_id;
  j["set_path"] = o.set_dir.empty() ? nlohmann::json() : nlohmann::json(o.set_dir.string());
  j["git"] = o.git;
  j["bytes"] = o.bytes;
  j["duration_ms"] = o.duration_ms;
  if (!o.ok)
    j["failure"] = {{"stage", o.failed_stage}, {"step", o.failed_step}, {"reason", o.reason}};
  j["steps"] = nlohmann::json::array();
  for (const auto &s : o.steps)
    j["steps"].push_back({{"stage", s.stage},
                          {"step", s.step},
                          {"ok", s.ok},
                          {"summary", s.summary},
                          {"bytes", s.bytes},
                          {"duration_ms", s.duration_ms}});
  if (!o.rollback.is_null()) j["rollback"] = o.rollback;
  return j;
}

void show_replaced_copies(Console &console, const config::PipelineConfig &config) {
  auto copies = ops::replaced_copies(config);
  if (copies.empty()) return;
  console.print("\nreplaced by rollbacks through standbys, kept (gate rollback --undo swaps the "
                "newest back):");
  for (const auto &c : copies)
    console.print("  " + c);
}

} // namespace gate::cli

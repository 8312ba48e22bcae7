// gate status [--max-age DURATION] [--json]: for monitoring. The newest
// verified set (its age, size and where it is), the last run's verdict, and
// the predicted rollback time; exit 1 with one line saying why when the
// newest set is too old, the last run failed, or there is no verified set.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/status_facts.hpp"
#include "config/node.hpp"
#include "model/backup_set.hpp"
#include "model/last_run.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::cli {

void status_options(CLI::App &sub, Args &args) {
  sub.add_option("--max-age", args.max_age,
                 "fail when the newest verified set is older (e.g. 26h)");
}

namespace {

util::Result<std::optional<std::chrono::milliseconds>> parse_max_age(const std::string &text) {
  if (text.empty()) return std::optional<std::chrono::milliseconds>();
  auto node = config::Node::parse(text, "--max-age");
  auto ms = node ? node->as_duration() : std::unexpected(node.error());
  if (!ms || ms->count() <= 0)
    return util::fail(util::ErrorKind::usage,
                      "--max-age: invalid duration '" + text + "' (use e.g. 26h, 90m)");
  return std::optional<std::chrono::milliseconds>(*ms);
}

} // namespace

namespace {

// What status reports: facts for the console and the JSON, and the first
// problem found (the one reason monitoring is given for a non-zero exit).
struct StatusReport {
  Console &console;
  nlohmann::json j;
  std::string problem;
  // Only the first problem is kept: it is the one line monitoring shows.
  void problem_if_none(std::string why) {
    if (problem.empty()) problem = std::move(why);
  }
};

// The newest verified set: its age (against --max-age), size, where it is,
// and the rollback time a deep verify measured.
void report_newest_set(StatusReport &s, const std::optional<model::SetInfo> &newest,
                       const config::PipelineConfig &config,
                       const std::optional<std::chrono::milliseconds> &max_age) {
  if (!newest) {
    s.problem_if_none("there is no verified backup set in '" + config.backup_root.string() + "'");
    return;
  }
  const auto &m = *newest->manifest;
  long long age_ms = set_age_ms(m);
  auto predicted = predicted_rollback_ms(m);
  s.j["newest_verified_set"] = {
      {"id", newest->id},
      {"created_at", m.created_at},
      {"age_seconds", age_ms / 1000},
      {"bytes", m.total_bytes()},
      {"verified", model::to_string(*m.verified_level())},
      {"copies", {{{"where", "local"}, {"path", newest->dir.string()}}}},
      {"predicted_rollback_ms", predicted ? nlohmann::json(*predicted) : nlohmann::json()}};
  s.console.print(fmt::format("newest verified set: {} ({} old, {}, verified {}) at {}", newest->id,
                              util::human_duration_ms(age_ms), util::human_bytes(m.total_bytes()),
                              model::to_string(*m.verified_level()), newest->dir.string()));
  s.console.print(
      predicted
          ? fmt::format("predicted rollback time: about {}", util::human_duration_ms(*predicted))
          : std::string("predicted rollback time: unknown (no deep verify measured a restore)"));
  if (max_age && age_ms > max_age->count())
    s.problem_if_none(fmt::format("the newest verified set is {} old, more than --max-age {}",
                                  util::human_duration_ms(age_ms),
                                  util::human_duration_ms(max_age->count())));
}

// Free space on the backup root, against min_free (unknown free space is not a problem).
void report_free_space(StatusReport &s, const config::PipelineConfig &config) {
  auto free = util::free_bytes(config.backup_root);
  if (!free) return;
  s.j["backup_root"] = {
      {"path", config.backup_root.string()}, {"free_bytes", *free}, {"min_free", config.min_free}};
  s.console.print(
      fmt::format("free on {}: {}{}", config.backup_root.string(), util::human_bytes(*free),
                  config.min_free ? " (min_free " + util::human_bytes(config.min_free) + ")" : ""));
  if (config.min_free && *free < config.min_free)
    s.problem_if_none(fmt::format("only {} free on '{}', below min_free {}",
                                  util::human_bytes(*free), config.backup_root.string(),
                                  util::human_bytes(config.min_free)));
}

// The last run's verdict, as recorded by the last gate that finished.
void report_last_run(StatusReport &s, const std::optional<model::LastRun> &last) {
  if (!last) {
    s.j["last_run"] = nullptr;
    s.console.print("last run: none recorded");
    return;
  }
  const auto &r = *last;
  s.j["last_run"] = {{"command", r.command},         {"ok", r.ok},
                     {"exit_code", r.exit_code},     {"verdict", r.verdict},
                     {"finished_at", r.finished_at}, {"set_id", r.set_id},
                     {"environment", r.environment}};
  s.console.print(fmt::format("last run: gate {} at {}: {}", r.command, r.finished_at, r.verdict));
  if (!r.ok)
    s.problem_if_none(fmt::format("the last run (gate {} at {}) failed", r.command, r.finished_at));
}

} // namespace

int status_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  auto max_age = parse_max_age(args.max_age);
  if (!max_age) return report_error(console, max_age.error());
  model::LocalSetStore store(config->backup_root);
  auto sets = store.list(model::IncludeFailed::no);
  if (!sets) return report_error(console, sets.error());
  auto last = model::read_last_run(config->backup_root);
  if (!last) return report_error(console, last.error());

  StatusReport s{console, {{"project", config->project}, {"environment", config->environment}}, {}};
  if (!config->project.empty() || !config->environment.empty())
    console.print(fmt::format("project {}, environment {}",
                              config->project.empty() ? "-" : config->project,
                              config->environment.empty() ? "-" : config->environment));
  // In this order: the first problem found is the one reported.
  report_newest_set(s, newest_verified(*sets), *config, *max_age);
  report_free_space(s, *config);
  report_last_run(s, *last);

  bool ok = s.problem.empty();
  int exit_code = ok ? 0 : util::exit_code_for(util::ErrorKind::failed);
  s.j["ok"] = ok;
  s.j["exit_code"] = exit_code;
  if (!ok) s.j["problem"] = s.problem;
  console.verdict(
      ok, ok ? "OK: the newest backup is fresh and the last run passed" : "FAILED: " + s.problem,
      s.j);
  return exit_code;
}

} // namespace gate::cli

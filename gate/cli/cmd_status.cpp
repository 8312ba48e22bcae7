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
  auto newest = newest_verified(*sets);

  nlohmann::json j{{"project", config->project}, {"environment", config->environment}};
  if (!config->project.empty() || !config->environment.empty())
    console.print(fmt::format("project {}, environment {}",
                              config->project.empty() ? "-" : config->project,
                              config->environment.empty() ? "-" : config->environment));
  std::string problem;
  if (newest) {
    const auto &m = *newest->manifest;
    long long age_ms = set_age_ms(m);
    auto predicted = predicted_rollback_ms(m);
    j["newest_verified_set"] = {
        {"id", newest->id},
        {"created_at", m.created_at},
        {"age_seconds", age_ms / 1000},
        {"bytes", m.total_bytes()},
        {"verified", model::to_string(*m.verified_level())},
        {"copies", {{{"where", "local"}, {"path", newest->dir.string()}}}},
        {"predicted_rollback_ms", predicted ? nlohmann::json(*predicted) : nlohmann::json()}};
    console.print(fmt::format("newest verified set: {} ({} old, {}, verified {}) at {}", newest->id,
                              util::human_duration_ms(age_ms), util::human_bytes(m.total_bytes()),
                              model::to_string(*m.verified_level()), newest->dir.string()));
    console.print(
        predicted
            ? fmt::format("predicted rollback time: about {}", util::human_duration_ms(*predicted))
            : std::string("predicted rollback time: unknown (no deep verify measured a restore)"));
    if (*max_age && age_ms > (*max_age)->count())
      problem = fmt::format("the newest verified set is {} old, more than --max-age {}",
                            util::human_duration_ms(age_ms),
                            util::human_duration_ms((*max_age)->count()));
  } else {
    problem = "there is no verified backup set in '" + config->backup_root.string() + "'";
  }
  if (auto free = util::free_bytes(config->backup_root); free) {
    j["backup_root"] = {{"path", config->backup_root.string()},
                        {"free_bytes", *free},
                        {"min_free", config->min_free}};
    console.print(fmt::format(
        "free on {}: {}{}", config->backup_root.string(), util::human_bytes(*free),
        config->min_free ? " (min_free " + util::human_bytes(config->min_free) + ")" : ""));
    if (config->min_free && *free < config->min_free && problem.empty())
      problem = fmt::format("only {} free on '{}', below min_free {}", util::human_bytes(*free),
                            config->backup_root.string(), util::human_bytes(config->min_free));
  }
  if (*last) {
    const auto &r = **last;
    j["last_run"] = {{"command", r.command},         {"ok", r.ok},
                     {"exit_code", r.exit_code},     {"verdict", r.verdict},
                     {"finished_at", r.finished_at}, {"set_id", r.set_id},
                     {"environment", r.environment}};
    console.print(fmt::format("last run: gate {} at {}: {}", r.command, r.finished_at, r.verdict));
    if (!r.ok && problem.empty())
      problem = fmt::format("the last run (gate {} at {}) failed", r.command, r.finished_at);
  } else {
    j["last_run"] = nullptr;
    console.print("last run: none recorded");
  }
  j["ok"] = problem.empty();
  j["exit_code"] = problem.empty() ? 0 : 1;
  if (!problem.empty()) j["problem"] = problem;
  console.verdict(problem.empty(),
                  problem.empty() ? "OK: the newest backup is fresh and the last run passed"
                                  : "FAILED: " + problem,
                  j);
  return problem.empty() ? 0 : 1;
}

} // namespace gate::cli

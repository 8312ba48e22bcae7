// gate status [--max-age DURATION] [--json]: for monitoring. The newest
// verified set (its age, size and where it is), the last run's verdict, and
// the predicted rollback time; exit 1 with one line saying why when the
// newest set is too old, the last run failed, or there is no verified set.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "config/node.hpp"
#include "model/backup_set.hpp"
#include "model/last_run.hpp"
#include "steps/restore_plan.hpp"
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

// The newest set a rollback would trust: verified, never failed, not a safety snapshot.
std::optional<model::SetInfo> newest_verified(const std::vector<model::SetInfo> &sets) {
  for (const auto &s : sets)
    if (s.manifest && !s.failed && s.manifest->kind != "pre-rollback" &&
        s.manifest->verified_level() && !s.manifest->has_failed_verification())
      return s;
  return std::nullopt;
}

// The rollback time predicted from what the set measured; nothing when a
// part of it was never measured.
std::optional<long long> predicted_rollback_ms(const model::Manifest &m) {
  long long restore = 0, snapshot = 0;
  for (const auto &a : m.artifacts) {
    if (a.kind == "globals" || (a.kind == "database" && a.format == "csv")) continue;
    auto p = steps::predicted_restore(m, a);
    auto s = steps::predicted_snapshot_ms(a);
    if (!p || !s) return std::nullopt;
    restore = std::max(restore, p->ms);
    snapshot = std::max(snapshot, *s);
  }
  return restore + snapshot;
}

using MaxAge = std::optional<std::chrono::milliseconds>;

// Each report_* prints one part of the status, adds it to `j`, and returns
// the problem it found (empty when none).

std::string report_newest_set(Console &console, nlohmann::json &j,
                              const std::optional<model::SetInfo> &newest, const MaxAge &max_age,
                              const std::filesystem::path &backup_root) {
  if (!newest) return "there is no verified backup set in '" + backup_root.string() + "'";
  const auto &m = *newest->manifest;
  auto created = util::parse_iso8601_utc(m.created_at);
  long long age_ms =
      created ? std::chrono::duration_cast<std::chrono::milliseconds>(util::Clock::now() - *created)
                    .count()
              : -1;
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
  if (max_age && age_ms > max_age->count())
    return fmt::format("the newest verified set is {} old, more than --max-age {}",
                       util::human_duration_ms(age_ms), util::human_duration_ms(max_age->count()));
  return {};
}

std::string report_free_space(Console &console, nlohmann::json &j,
                              const config::PipelineConfig &config) {
  auto free = util::free_bytes(config.backup_root);
  if (!free) return {};
  j["backup_root"] = {
      {"path", config.backup_root.string()}, {"free_bytes", *free}, {"min_free", config.min_free}};
  console.print(
      fmt::format("free on {}: {}{}", config.backup_root.string(), util::human_bytes(*free),
                  config.min_free ? " (min_free " + util::human_bytes(config.min_free) + ")" : ""));
  if (config.min_free && *free < config.min_free)
    return fmt::format("only {} free on '{}', below min_free {}", util::human_bytes(*free),
                       config.backup_root.string(), util::human_bytes(config.min_free));
  return {};
}

std::string report_last_run(Console &console, nlohmann::json &j,
                            const std::optional<model::LastRun> &last) {
  if (!last) {
    j["last_run"] = nullptr;
    console.print("last run: none recorded");
    return {};
  }
  const auto &r = *last;
  j["last_run"] = {{"command", r.command},         {"ok", r.ok},
                   {"exit_code", r.exit_code},     {"verdict", r.verdict},
                   {"finished_at", r.finished_at}, {"set_id", r.set_id}};
  console.print(fmt::format("last run: gate {} at {}: {}", r.command, r.finished_at, r.verdict));
  if (!r.ok) return fmt::format("the last run (gate {} at {}) failed", r.command, r.finished_at);
  return {};
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

  nlohmann::json j{{"project", config->project}, {"environment", config->environment}};
  // The first problem found is the one reported; every part is printed.
  std::string problem =
      report_newest_set(console, j, newest_verified(*sets), *max_age, config->backup_root);
  std::string space_problem = report_free_space(console, j, *config);
  if (problem.empty()) problem = space_problem;
  std::string last_problem = report_last_run(console, j, *last);
  if (problem.empty()) problem = last_problem;
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

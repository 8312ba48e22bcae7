#include "cli/multi_project.hpp"

#include "cli/common.hpp"
#include "config/pipeline.hpp"
#include "util/cancel.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <fmt/format.h>
#include <map>
#include <optional>

namespace gate::cli {

namespace fs = std::filesystem;
using util::ErrorKind;

namespace {

// Least to most severe. An interrupt ends the whole pass; a failed rollback
// needs a human now; a pipeline nobody can run needs someone to fix it before
// the next night; a failed check blocks that project; a project whose lock
// another gate holds is being handled by that gate.
constexpr ErrorKind k_severity[] = {ErrorKind::lock_busy,       ErrorKind::failed,
                                    ErrorKind::usage,           ErrorKind::config,
                                    ErrorKind::rollback_failed, ErrorKind::interrupted};

int severity(int exit_code) {
  if (exit_code == 0) return 0;
  int rank = 0;
  for (size_t i = 0; i < std::size(k_severity); ++i)
    if (util::exit_code_for(k_severity[i]) == exit_code) rank = static_cast<int>(i) + 1;
  // A code outside the table (a crash) is at least a failure.
  return rank ? rank : severity(util::exit_code_for(ErrorKind::failed));
}

std::string outcome_word(int exit_code, bool ran, bool skipped) {
  if (skipped) return "skipped";
  if (!ran) return "not run";
  if (exit_code == 0) return "ok";
  if (exit_code == util::exit_code_for(ErrorKind::lock_busy)) return "LOCKED";
  if (exit_code == util::exit_code_for(ErrorKind::config)) return "CONFIG ERROR";
  if (exit_code == util::exit_code_for(ErrorKind::rollback_failed)) return "ROLLBACK FAILED";
  if (exit_code == util::exit_code_for(ErrorKind::interrupted)) return "INTERRUPTED";
  return "FAILED";
}

struct ProjectRow {
  std::string file;
  std::string project;
  std::string environment;
  bool ran = false;
  bool skipped = false; // no environments of its own, and not the one asked for
  int exit_code = 0;
  std::string verdict;
  std::string set_id;
  long long duration_ms = 0;
};

util::Result<std::vector<fs::path>> pipelines_in(const fs::path &dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return util::fail(ErrorKind::usage, "--config-dir '" + dir.string() + "' is not a directory");
  std::vector<fs::path> files;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    // Hidden files are editors' and tools' (.swp, .#...), not pipelines.
    if (name.size() > 4 && name.ends_with(".yml") && name[0] != '.') files.push_back(it->path());
  }
  if (ec)
    return util::fail(ErrorKind::usage,
                      "unable to read --config-dir '" + dir.string() + "': " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty())
    return util::fail(ErrorKind::config, "no pipelines in '" + dir.string() +
                                             "': --config-dir runs every *.yml file in it");
  return files;
}

util::Result<void> check_request(const Command &command, const Args &args) {
  std::string name = command.name;
  if (name != "run" && name != "backup" && name != "verify" && name != "status")
    return util::fail(ErrorKind::usage,
                      "--config-dir works with run, backup, verify and status, not " + name);
  if (args.config_dir.empty())
    return util::fail(ErrorKind::usage, "backup --all needs --config-dir DIR (the pipelines)");
  if (!args.id.empty())
    return util::fail(ErrorKind::usage,
                      "a set ID belongs to one project: with --config-dir use --last or nothing");
  if (!args.targets.empty())
    return util::fail(ErrorKind::usage,
                      "with --config-dir every target of every project is backed up (no names)");
  if (!args.junit.empty() || !args.dotenv.empty())
    return util::fail(ErrorKind::usage, "--junit and --dotenv describe one project's run: run "
                                        "that project with --config FILE");
  return {};
}

std::string set_of(const nlohmann::json &result) {
  if (result.contains("set_id") && result["set_id"].is_string()) return result["set_id"];
  if (result.contains("newest_verified_set") && result["newest_verified_set"].is_object())
    return result["newest_verified_set"].value("id", "");
  return "";
}

// Which project's file claimed each backup_root and record: two projects
// sharing one would mix their sets, and a rollback of one could restore the
// other's data.
using PathOwners = std::map<fs::path, fs::path>;

std::optional<util::Error> shared_path(const config::PipelineConfig &config, const fs::path &file,
                                       PathOwners &owners) {
  for (auto [what, path] :
       {std::pair{"backup_root", config.backup_root}, std::pair{"record", config.record}}) {
    auto [it, fresh] = owners.emplace(path, file);
    if (!fresh && it->second != file)
      return util::Error{
          ErrorKind::config,
          fmt::format("{}: its {} '{}' is also {}'s: the projects' sets and "
                      "records would mix\nhint: give each project its own, e.g. "
                      "{}: /opt/backups/{{project}}/{{environment}}{}",
                      file.string(), what, path.string(), it->second.string(), what,
                      std::string(what) == "record" ? "/.last-deployment-backup" : "")};
  }
  return std::nullopt;
}

ProjectRow run_project(const Command &command, Args args, const fs::path &file, PathOwners &owners,
                       Console &console) {
  ProjectRow row{file.filename().string(), file.stem().string()};
  args.config = file;
  args.config_dir.clear();
  // Read here only for the summary's names; the command reads it again and
  // reports its errors itself.
  auto request = config::requested_environment(args.environment);
  auto config = config::load_pipeline(file, request);
  if (config) {
    if (!config->project.empty()) row.project = config->project;
    row.environment = config->environment;
    if (auto shared = shared_path(*config, file, owners)) {
      row.ran = true;
      row.exit_code = report_error(console, *shared);
      row.verdict = console.last_verdict().value("verdict", "");
      return row;
    }
  } else if (auto plain = request ? config::load_pipeline(file) : config; plain) {
    // A project with one environment of its own, not the one asked for: a
    // pass over every project's staging leaves it to its own pass.
    if (!plain->project.empty()) row.project = plain->project;
    row.environment = plain->environment;
    row.skipped = true;
    row.verdict = fmt::format("skipped: it defines no environments, and its environment is "
                              "'{}', not '{}'",
                              plain->environment, request->name);
    console.print(fmt::format("## project {}: {}", row.project, row.verdict));
    return row;
  }
  console.print(console.bold(fmt::format("## project {}{}: gate {} --config {}", row.project,
                                         row.environment.empty() ? "" : "/" + row.environment,
                                         command.name, file.string())));
  auto start = std::chrono::steady_clock::now();
  try {
    row.exit_code = command.run(args, console);
  } catch (const std::exception &e) { // one project's bug must not end the others' backups
    row.exit_code =
        report_error(console, {ErrorKind::failed, "internal error: " + std::string(e.what())});
  }
  row.ran = true;
  row.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  row.verdict = console.last_verdict().value("verdict", "");
  row.set_id = set_of(console.last_verdict());
  return row;
}

void print_table(Console &console, const std::vector<ProjectRow> &rows) {
  std::vector<std::array<std::string, 5>> cells{
      {"project", "environment", "verdict", "set", "duration"}};
  for (const auto &r : rows)
    cells.push_back({r.project, r.environment.empty() ? "-" : r.environment,
                     outcome_word(r.exit_code, r.ran, r.skipped), r.set_id.empty() ? "-" : r.set_id,
                     r.ran ? util::human_duration_ms(r.duration_ms) : "-"});
  std::array<size_t, 5> width{};
  for (const auto &line : cells)
    for (size_t i = 0; i < 5; ++i)
      width[i] = std::max(width[i], line[i].size());
  console.print("");
  for (const auto &line : cells)
    console.print(fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}", line[0], width[0], line[1],
                              width[1], line[2], width[2], line[3], width[3], line[4]));
  for (const auto &r : rows)
    if (r.ran && r.exit_code != 0) console.print(fmt::format("{}: {}", r.project, r.verdict));
}

nlohmann::json rows_json(const std::vector<ProjectRow> &rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto &r : rows)
    out.push_back({{"file", r.file},
                   {"project", r.project},
                   {"environment", r.environment},
                   {"ran", r.ran},
                   {"skipped", r.skipped},
                   {"exit_code", r.ran ? nlohmann::json(r.exit_code) : nlohmann::json()},
                   {"verdict", r.verdict},
                   {"set_id", r.set_id},
                   {"duration_ms", r.duration_ms}});
  return out;
}

} // namespace

int more_severe(int a, int b) {
  return severity(b) > severity(a) ? b : a;
}

bool wants_each_project(const Command &command, const Args &args) {
  return !args.config_dir.empty() || (std::string(command.name) == "backup" && args.all);
}

int run_each_project(const Command &command, Args &args, Console &console) {
  if (auto ok = check_request(command, args); !ok) return report_error(console, ok.error());
  auto files = pipelines_in(args.config_dir);
  if (!files) return report_error(console, files.error());
  std::vector<ProjectRow> rows;
  PathOwners owners;
  int worst = 0;
  for (const auto &file : *files) {
    if (util::cancel_requested()) { // the rest are listed as not run
      rows.push_back({file.filename().string(), file.stem().string()});
      continue;
    }
    rows.push_back(run_project(command, args, file, owners, console));
    worst = more_severe(worst, rows.back().exit_code);
  }
  if (util::cancel_requested() &&
      severity(worst) < severity(util::exit_code_for(ErrorKind::interrupted)))
    worst = util::exit_code_for(ErrorKind::interrupted);
  print_table(console, rows);
  size_t failed = std::count_if(rows.begin(), rows.end(), [](const ProjectRow &r) {
    return !r.skipped && (!r.ran || r.exit_code != 0);
  });
  std::string line = failed == 0 ? fmt::format("OK: gate {} passed for every project ({})",
                                               command.name, rows.size())
                                 : fmt::format("FAILED: gate {} failed for {} of {} projects",
                                               command.name, failed, rows.size());
  console.verdict(worst == 0, line, {{"projects", rows_json(rows)}, {"exit_code", worst}});
  return worst;
}

} // namespace gate::cli

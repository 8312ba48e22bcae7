#include "cli/commands.hpp"

#include "cli/multi_project.hpp"
#include "cli/signals.hpp"
#include "util/expected.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <optional>

namespace gate::cli {

const std::vector<Command> &commands() {
  static const std::vector<Command> k_commands = {
      {"run", "run the pipeline: back up, verify, record (a deploy runs this first)", run_options,
       run_command},
      {"backup", "back up and verify outside a deploy (cron): a scheduled-* set, record untouched",
       backup_options, backup_command},
      {"verify", "re-verify a stored set (quick | default full read | deep test restore)",
       verify_options, verify_command},
      {"list", "the backup sets, newest first", list_options, list_command},
      {"show", "one set in detail, with the exact rollback commands", show_options, show_command},
      {"rollback", "restore databases and volumes from a set, then check them", rollback_options,
       rollback_command},
      {"fetch", "bring a set home from a remote into backup_root, verified", fetch_options,
       fetch_command},
      {"prune", "apply the retention policy", prune_options, prune_command},
      {"status",
       "for monitoring: the newest verified set's age, the last run's verdict, the predicted "
       "rollback time",
       status_options, status_command},
      {"check", "validate pipeline.yml and reach every target; changes nothing", check_options,
       check_command},
      {"version", "versions of gate and the libraries and tools it uses", version_options,
       version_command},
  };
  return k_commands;
}

namespace {

// CLI11 answers a mistyped command ("gate rollbak") with "A subcommand is
// required"; name the word and the closest command instead.
std::optional<std::string> unknown_command(int argc, char **argv) {
  std::vector<std::string> names;
  for (const auto &command : commands())
    names.push_back(command.name);
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "-c" || word == "--config" || word == "--config-dir" || word == "--env") {
      ++i; // its value
      continue;
    }
    if (word.empty() || word[0] == '-') continue;
    if (std::find(names.begin(), names.end(), word) != names.end()) return std::nullopt;
    std::string message = "unknown command '" + word + "'";
    if (auto guess = util::closest_match(word, names))
      message += "; did you mean '" + *guess + "'?";
    std::string all;
    for (const auto &n : names)
      all += (all.empty() ? "" : ", ") + n;
    return message + "\ncommands: " + all + " (gate --help tells more)";
  }
  return std::nullopt;
}

} // namespace

int main(int argc, char **argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // Before any thread starts, so that every thread inherits the mask.
  start_signal_thread();
  struct StopSignals {
    ~StopSignals() { stop_signal_thread(); }
  } stop_signals;

  CLI::App app{"gate: a pre-flight gate that backs up, proves the backup restorable, and records "
               "it before a "
               "deploy changes anything"};
  app.require_subcommand(1);
  Args args;
  for (int i = 0; i < argc; ++i)
    args.command_line += (i ? " " : "") + std::string(argv[i]);
  auto config = app.add_option("-c,--config", args.config, "the pipeline file");
  config->capture_default_str();
  app.add_option("--config-dir", args.config_dir,
                 "run, backup, verify or status every project: each *.yml in DIR in name order")
      ->excludes(config);
  app.add_option("--env", args.environment,
                 "the environment of the pipeline's environments: to use (else $GATE_ENV)");
  app.add_flag("--json", args.output.json, "machine-readable JSON on stdout");
  app.add_flag("-q,--quiet", args.output.quiet, "only failures and the verdict");
  app.add_flag("-v,--verbose", args.output.verbose, "log every detail on stderr");
  app.add_flag("--no-color", args.output.no_color, "no colours");
  const Command *chosen = nullptr;
  for (const auto &command : commands()) {
    CLI::App *sub = app.add_subcommand(command.name, command.help);
    sub->fallthrough();
    command.options(*sub, args);
    sub->callback([&chosen, &command] { chosen = &command; });
  }
  if (auto unknown = unknown_command(argc, argv)) {
    std::fprintf(stderr, "gate: %s\n", unknown->c_str());
    return util::exit_code_for(util::ErrorKind::usage);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  Console console(args.output);
  if (wants_each_project(*chosen, args)) return run_each_project(*chosen, args, console);
  return chosen->run(args, console);
}

} // namespace gate::cli

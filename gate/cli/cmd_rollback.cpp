// gate rollback [ID|--last] [--remote NAME] [--only db|volumes] [--target NAME=DEST]... [--dry-run]
// [--yes] [--no-standby] | gate rollback --undo [--dry-run] [--yes]
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/identity_option.hpp"
#include "cli/outputs.hpp"
#include "ops/rollback.hpp"
#include "ops/swaps.hpp"

#include <iostream>
#include <unistd.h>

namespace gate::cli {

void rollback_options(CLI::App &sub, Args &args) {
  sub.add_option("id", args.id, "the set to restore (default: --last)");
  sub.add_flag("--last", args.last,
               "the set .last-deployment-backup names (else the newest usable set)");
  sub.add_option("--remote", args.remote,
                 "restore the copy on this remote, fetched into backup_root first; --last is "
                 "then the newest complete set of this project there");
  sub.add_option("--only", args.only, "restore only databases or only volumes")
      ->check(CLI::IsMember({"db", "volumes"}));
  sub.add_option("--target", args.redirects,
                 "restore volume NAME into DEST instead (NAME=DEST, repeatable)");
  sub.add_flag("--dry-run", args.dry_run, "show the plan and change nothing");
  sub.add_flag("--yes", args.yes, "do not ask for confirmation (required without a terminal)");
  sub.add_flag("--no-safety-backup", args.no_safety_backup,
               "skip the pre-rollback snapshot of the current data");
  sub.add_flag("--no-standby", args.no_standby,
               "restore from the dump even where a verified standby could be swapped in");
  sub.add_flag("--undo", args.undo,
               "swap back what the last rollback through standbys swapped in (again: redo it)");
  add_identity_option(sub, args);
  sub.add_option("--junit", args.junit, "write a JUnit XML report (one testcase per target)");
  sub.add_option("--dotenv", args.dotenv, "write GATE_BACKUP_ID=... for GitLab's dotenv reports");
}

namespace {

// Asked before a rollback or an undo changes anything.
std::function<bool()> confirmation(const Args &args, Console &console, const std::string &what) {
  return [&args, &console, what]() {
    if (args.yes) return true;
    if (!::isatty(STDIN_FILENO)) {
      console.print("refusing to " + what +
                    " without confirmation: not a terminal; re-run with "
                    "--yes");
      return false;
    }
    console.print("Type 'yes' to " + what + " (anything else cancels): ");
    std::string answer;
    std::getline(std::cin, answer);
    return answer == "yes";
  };
}

int undo_command(Args &args, Console &console, const config::PipelineConfig &config) {
  if (!args.id.empty() || args.last || !args.only.empty() || !args.redirects.empty())
    return report_error(console, {util::ErrorKind::usage,
                                  "--undo swaps back the last rollback through standbys: give no "
                                  "set id, --last, --only or --target with it"});
  ops::UndoRequest request;
  request.dry_run = args.dry_run;
  request.command_line = args.command_line;
  request.confirm = confirmation(args, console, "swap back");
  ops::RunOutcome outcome = ops::undo_rollback(config, request, console);
  console.verdict(outcome.ok, outcome.verdict, outcome_json(outcome));
  return outcome.exit_code;
}

} // namespace

int rollback_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  if (args.undo) return undo_command(args, console, *config);
  if (!args.id.empty() && args.last)
    return report_error(console, {util::ErrorKind::usage, "give an ID or --last, not both"});
  ops::RollbackRequest request;
  request.set_id = args.id;
  request.remote = args.remote;
  request.only = args.only == "db"        ? ops::RollbackOnly::databases
                 : args.only == "volumes" ? ops::RollbackOnly::volumes
                                          : ops::RollbackOnly::all;
  for (const auto &r : args.redirects) {
    auto eq = r.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == r.size())
      return report_error(console,
                          {util::ErrorKind::usage, "--target takes NAME=DEST, got '" + r + "'"});
    request.redirect[r.substr(0, eq)] = r.substr(eq + 1);
  }
  request.dry_run = args.dry_run;
  request.safety_backup = !args.no_safety_backup;
  request.identity_file = identity_file(args);
  request.command_line = args.command_line;
  request.use_standby = !args.no_standby;
  request.confirm = confirmation(args, console, "roll back");
  ops::RunOutcome outcome = ops::rollback(*config, request, console);
  if (!args.dry_run) publish_outcome(*config, args, outcome, "rollback", console);
  console.verdict(outcome.ok, outcome.verdict, outcome_json(outcome));
  return outcome.exit_code;
}

} // namespace gate::cli

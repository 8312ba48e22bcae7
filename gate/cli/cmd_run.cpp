// gate run and gate backup.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/outputs.hpp"
#include "steps/alerts/healthcheck.hpp"

namespace gate::cli {

void run_options(CLI::App &sub, Args &args) {
  sub.add_option("--stage", args.stages, "run only this stage (repeatable)");
  sub.add_flag("--dry-run", args.dry_run, "print the plan and change nothing");
  sub.add_flag("--yes", args.yes, "do not ask (reserved: run never asks)");
  sub.add_option("--junit", args.junit, "write a JUnit XML report (one testcase per step)");
  sub.add_option("--dotenv", args.dotenv, "write GATE_BACKUP_ID=... for GitLab's dotenv reports");
  sub.add_option("--allow-shrink", args.allow_shrink,
                 "accept that this database shrank more than its max_shrink (repeatable; logged)");
}

void backup_options(CLI::App &sub, Args &args) {
  sub.add_option("targets", args.targets, "databases and volumes to back up (default: all)");
  sub.add_flag("--all", args.all, "with --config-dir DIR: every project's pipeline in DIR");
  sub.add_flag("--dry-run", args.dry_run, "print the plan and change nothing");
  sub.add_option("--junit", args.junit, "write a JUnit XML report (one testcase per step)");
  sub.add_option("--dotenv", args.dotenv, "write GATE_BACKUP_ID=... for GitLab's dotenv reports");
  sub.add_option("--allow-shrink", args.allow_shrink,
                 "accept that this database shrank more than its max_shrink (repeatable; logged)");
}

namespace {
int run_mode(Args &args, Console &console, ops::RunMode mode) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  ops::RunRequest request;
  request.mode = mode;
  request.only_stages = args.stages;
  request.targets = args.targets;
  request.dry_run = args.dry_run;
  request.allow_shrink = args.allow_shrink;
  request.command_line = args.command_line;
  std::string run_id = steps::new_run_id();
  if (!args.dry_run) steps::ping_start(*config, run_id);
  ops::RunOutcome outcome = ops::run_pipeline(*config, request, console);
  if (!args.dry_run) {
    publish_outcome(*config, args, outcome, mode == ops::RunMode::deploy ? "run" : "backup",
                    console);
    steps::ping_end(*config, run_id,
                    {outcome.ok, outcome.verdict, outcome.duration_ms, outcome.set_dir});
  }
  console.verdict(outcome.ok, outcome.verdict, outcome_json(outcome));
  return outcome.exit_code;
}
} // namespace

int run_command(Args &args, Console &console) {
  return run_mode(args, console, ops::RunMode::deploy);
}
int backup_command(Args &args, Console &console) {
  return run_mode(args, console, ops::RunMode::scheduled);
}

} // namespace gate::cli

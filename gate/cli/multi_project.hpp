// gate backup --all --config-dir DIR, and run, verify and status with
// --config-dir DIR: every project's pipeline on a host that serves many
// (seed 003), for cron and systemd timers.
#pragma once

#include "cli/commands.hpp"

namespace gate::cli {

// True when the command line asks for every project: --config-dir DIR, or
// `backup --all`.
bool wants_each_project(const Command &command, const Args &args);

// Runs `command` once for each *.yml in --config-dir, in name order, each
// with its own configuration (and so its own lock); a failing or broken
// project does not stop the others, an interrupt does. Ends with one summary
// table (project, environment, verdict, set, duration) and returns the most
// severe exit code of all (more_severe); a usage error or a directory
// without pipelines is exit 2 before any project runs.
int run_each_project(const Command &command, Args &args, Console &console);

// The more severe of two exit codes, least to most: 0, lock busy (3), failed
// (1), usage/config (2), rollback failed (4), interrupted (130); a code outside
// the ErrorKind table counts as failed.
int more_severe(int a, int b);

} // namespace gate::cli

// gate's commands: one file each, listed in one table (app.cpp), like ninja's
// kTools. Every command returns the process exit code.
#pragma once

#include "cli/console.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace gate::cli {

// Every option any command takes; each command binds the ones it uses.
struct Args {
  std::filesystem::path config = "pipeline.yml";
  std::filesystem::path config_dir; // --config-dir: every project's pipeline (cli/multi_project)
  std::string environment;          // --env NAME (else GATE_ENV)
  OutputOptions output;
  std::string id;
  bool last = false;
  bool all = false;
  std::string remote; // --remote NAME: the sets on that remote
  bool quick = false;
  bool deep = false;
  bool content = false; // verify --deep --content
  bool dry_run = false;
  bool yes = false;
  bool env = false;
  bool no_safety_backup = false;
  bool undo = false;       // gate rollback --undo
  bool no_standby = false; // gate rollback --no-standby
  std::string only;
  std::vector<std::string> stages;
  std::vector<std::string> targets;
  std::vector<std::string> allow_shrink;
  std::vector<std::string> redirects; // NAME=DEST
  std::string max_age;                // gate status --max-age
  std::string junit;
  std::string dotenv;
  std::string identity; // --identity FILE: the age identity of an encrypted set
  std::string command_line;
};

struct Command {
  const char *name;
  const char *help;
  void (*options)(CLI::App &sub, Args &args);
  int (*run)(Args &args, Console &console);
};

// The table of commands.
const std::vector<Command> &commands();

// gate's main(): parses the command line and runs a command.
int main(int argc, char **argv);

void run_options(CLI::App &sub, Args &args);
int run_command(Args &args, Console &console);
void backup_options(CLI::App &sub, Args &args);
int backup_command(Args &args, Console &console);
void verify_options(CLI::App &sub, Args &args);
int verify_command(Args &args, Console &console);
void list_options(CLI::App &sub, Args &args);
int list_command(Args &args, Console &console);
void show_options(CLI::App &sub, Args &args);
int show_command(Args &args, Console &console);
void rollback_options(CLI::App &sub, Args &args);
int rollback_command(Args &args, Console &console);
void fetch_options(CLI::App &sub, Args &args);
int fetch_command(Args &args, Console &console);
void prune_options(CLI::App &sub, Args &args);
int prune_command(Args &args, Console &console);
void check_options(CLI::App &sub, Args &args);
int check_command(Args &args, Console &console);
void status_options(CLI::App &sub, Args &args);
int status_command(Args &args, Console &console);
void version_options(CLI::App &sub, Args &args);
int version_command(Args &args, Console &console);

} // namespace gate::cli

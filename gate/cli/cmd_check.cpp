// gate check
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace gate::cli {

void check_options(CLI::App &, Args &) {}

int check_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  ops::RunOutcome outcome = ops::check_pipeline(*config, console);
  console.verdict(outcome.ok, outcome.verdict, outcome_json(outcome));
  return outcome.exit_code;
}

} // namespace gate::cli

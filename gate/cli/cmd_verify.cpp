// gate verify [--remote NAME] [ID|--last] [--quick|--deep [--content]]
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/identity_option.hpp"
#include "ops/remote_verify.hpp"
#include "ops/rollback.hpp"
#include "ops/verify.hpp"

#include <fmt/format.h>

namespace gate::cli {

void verify_options(CLI::App &sub, Args &args) {
  sub.add_option("id", args.id, "the set to verify (default: --last)");
  sub.add_flag("--last", args.last,
               "the set .last-deployment-backup names (else the newest usable set)");
  auto quick = sub.add_flag("--quick", args.quick, "structure, sizes and checksums only");
  auto deep = sub.add_flag("--deep", args.deep,
                           "also restore databases into a scratch database and compare row counts")
                  ->excludes(quick);
  sub.add_flag(
         "--content", args.content,
         "with --deep: also compare every table's content with the fingerprint the backup recorded")
      ->needs(deep);
  sub.add_option("--remote", args.remote,
                 "verify the copy on this remote (remotes: in pipeline.yml) without fetching it; "
                 "--last is then the newest complete set of this project there");
  add_identity_option(sub, args);
}

namespace {

model::VerifyLevel chosen_level(const Args &args) {
  return args.deep    ? model::VerifyLevel::deep
         : args.quick ? model::VerifyLevel::quick
                      : model::VerifyLevel::full;
}

int verify_remote_command(Args &args, Console &console, const config::PipelineConfig &config) {
  if (!args.id.empty() && args.last)
    return report_error(console, {util::ErrorKind::usage, "give an ID or --last, not both"});
  ops::RemoteVerifyRequest request{args.remote,         args.id,
                                   chosen_level(args),  args.content,
                                   identity_file(args), args.command_line};
  auto out = ops::verify_remote_set(config, request, console);
  console.verdict(out.ok, out.verdict,
                  {{"set_id", out.set_id},
                   {"remote", args.remote},
                   {"level", model::to_string(request.level)},
                   {"exit_code", out.exit_code}});
  return out.exit_code;
}

} // namespace

int verify_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  if (!args.remote.empty()) return verify_remote_command(args, console, *config);
  auto chosen = chosen_set(args, *config);
  if (!chosen) return report_error(console, chosen.error());
  ops::VerifyRequest request;
  request.set_id = *chosen;
  request.level = chosen_level(args);
  request.content = args.content;
  request.identity_file = identity_file(args);
  request.command_line = args.command_line;
  auto out = ops::verify_stored_set(*config, request, console);
  console.verdict(out.ok, out.verdict,
                  {{"set_id", out.set_id},
                   {"level", model::to_string(request.level)},
                   {"exit_code", out.exit_code}});
  return out.exit_code;
}

} // namespace gate::cli

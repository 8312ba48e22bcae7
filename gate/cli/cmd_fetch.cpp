// gate fetch --remote NAME [ID|--last]
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/identity_option.hpp"
#include "ops/remote_sets.hpp"

#include <fmt/format.h>

namespace gate::cli {

void fetch_options(CLI::App &sub, Args &args) {
  sub.add_option("id", args.id, "the set to fetch (default: --last)");
  sub.add_flag("--last", args.last,
               "the newest complete set of this project and environment on the remote");
  sub.add_option("--remote", args.remote, "the remote to fetch from (remotes: in pipeline.yml)")
      ->required();
  add_identity_option(sub, args);
}

int fetch_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  if (!args.id.empty() && args.last)
    return report_error(console, {util::ErrorKind::usage, "give an ID or --last, not both"});
  ops::FetchRequest request{args.remote, args.id, false, args.command_line, identity_file(args)};
  auto fetched = ops::fetch_set(*config, request, console);
  if (!fetched) return report_error(console, fetched.error());
  std::string verdict =
      fetched->already_here
          ? fmt::format("OK: set {} is already in {}; nothing was fetched (`gate verify {}` "
                        "checks that copy)",
                        fetched->info.id, config->backup_root.string(), fetched->info.id)
          : fmt::format("OK: set {} fetched from remote {} into {}, checksums and a full verify "
                        "passed",
                        fetched->info.id, args.remote, fetched->info.dir.string());
  console.verdict(true, verdict,
                  {{"set_id", fetched->info.id},
                   {"set_path", fetched->info.dir.string()},
                   {"already_here", fetched->already_here},
                   {"exit_code", 0}});
  return 0;
}

} // namespace gate::cli

// gate prune [--dry-run]
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "model/lock.hpp"
#include "ops/prune.hpp"

#include <fmt/format.h>

namespace gate::cli {

void prune_options(CLI::App &sub, Args &args) {
  sub.add_flag("--dry-run", args.dry_run, "list what would be removed and remove nothing");
}

int prune_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  auto lock = model::RootLock::acquire(config->backup_root, config->lock_wait, args.command_line);
  if (!lock) return report_error(console, lock.error());
  auto result = ops::prune_sets(
      *config, args.dry_run ? ops::PruneMode::dry_run : ops::PruneMode::apply, console);
  if (!result) return report_error(console, result.error());
  for (const auto &[id, why] : result->kept)
    console.print(fmt::format("keep {} ({})", id, why));
  nlohmann::json j{
      {"kept", nlohmann::json::array()}, {"removed", result->removed}, {"dry_run", args.dry_run}};
  for (const auto &[id, why] : result->kept)
    j["kept"].push_back({{"id", id}, {"reason", why}});
  console.verdict(true,
                  fmt::format("{}: {} set(s) kept, {} {}", args.dry_run ? "dry run" : "OK",
                              result->kept.size(), result->removed.size(),
                              args.dry_run ? "would be removed" : "removed"),
                  j);
  return 0;
}

} // namespace gate::cli

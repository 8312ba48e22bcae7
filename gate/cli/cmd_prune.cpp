// gate prune [--remote NAME] [--dry-run]
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "model/lock.hpp"
#include "ops/offsite.hpp"
#include "ops/prune.hpp"
#include "util/cancel.hpp"

#include <fmt/format.h>

namespace gate::cli {

void prune_options(CLI::App &sub, Args &args) {
  sub.add_flag("--dry-run", args.dry_run, "list what would be removed and remove nothing");
  sub.add_option("--remote", args.remote,
                 "prune the sets of this host on this remote (remotes: in pipeline.yml)");
}

namespace {

nlohmann::json prune_json(const ops::PruneResult &result, const Args &args) {
  nlohmann::json j{
      {"kept", nlohmann::json::array()}, {"removed", result.removed}, {"dry_run", args.dry_run}};
  for (const auto &[id, why] : result.kept)
    j["kept"].push_back({{"id", id}, {"reason", why}});
  if (!args.remote.empty()) {
    j["remote"] = args.remote;
    j["incomplete"] = result.incomplete;
    j["aborted_uploads"] = result.aborted;
    j["warning"] = result.warning.empty() ? nlohmann::json() : nlohmann::json(result.warning);
  }
  return j;
}

std::string prune_verdict(const ops::PruneResult &result, const Args &args) {
  const char *removed = args.dry_run ? "would be removed" : "removed";
  std::string text = fmt::format("{}: {} set(s) kept, {} {}", args.dry_run ? "dry run" : "OK",
                                 result.kept.size(), result.removed.size(), removed);
  if (args.remote.empty()) return text;
  text = fmt::format("{} on remote '{}'; {} incomplete set(s) and {} unfinished upload(s) {}", text,
                     args.remote, result.incomplete.size(), result.aborted.size(),
                     args.dry_run ? "would be cleaned up" : "cleaned up");
  if (!result.warning.empty()) text += " (WARNING: deletes were refused, see above)";
  return text;
}

} // namespace

int prune_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  if (!args.remote.empty() && !config->find_remote(args.remote)) {
    auto unknown = ops::open_set_store(*config, args.remote); // names the remotes there are
    return report_error(console, unknown.error());
  }
  auto lock = model::RootLock::acquire(config->backup_root, config->lock_wait, args.command_line);
  if (!lock) return report_error(console, lock.error());
  auto mode = args.dry_run ? ops::PruneMode::dry_run : ops::PruneMode::apply;
  auto result = args.remote.empty() ? ops::prune_sets(*config, mode, console)
                                    : ops::prune_remote(*config, args.remote, mode, console);
  if (!result && util::cancel_requested()) // a signal cut a request short: still an interrupt
    return report_error(
        console, {util::ErrorKind::interrupted, result.error().message + "; stopped by a signal"});
  if (!result) return report_error(console, result.error());
  for (const auto &[id, why] : result->kept)
    console.print(fmt::format("keep {} ({})", id, why));
  if (util::cancel_requested()) { // the removal under way was finished, nothing after it
    int code = util::exit_code_for(util::ErrorKind::interrupted);
    auto j = prune_json(*result, args);
    j["exit_code"] = code;
    std::string done = prune_verdict(*result, args);
    if (done.starts_with("OK: ")) done = done.substr(4);
    console.verdict(false, "INTERRUPTED: " + done, j);
    return code;
  }
  console.verdict(true, prune_verdict(*result, args), prune_json(*result, args));
  return 0;
}

} // namespace gate::cli

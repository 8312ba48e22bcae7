// gate verify [ID|--last] [--quick|--deep [--content]]
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "model/backup_set.hpp"
#include "model/lock.hpp"
#include "ops/rollback.hpp"
#include "steps/verify/verify.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"

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
}

int verify_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  auto lock = model::RootLock::acquire(config->backup_root, config->lock_wait, args.command_line);
  if (!lock) return report_error(console, lock.error());
  auto chosen = chosen_set(args, *config);
  if (!chosen) return report_error(console, chosen.error());
  std::string id = *chosen;
  model::LocalSetStore store(config->backup_root);
  auto info = store.find(id);
  if (!info) return report_error(console, info.error());
  if (!info->manifest)
    return report_error(console, {util::ErrorKind::failed, "set '" + id + "': " + info->problem});
  model::StoredSet set(*info);
  steps::RunContext ctx{*config, store};
  ctx.set = &set;
  ctx.progress = [&](const std::string &step, uint64_t done, uint64_t total) {
    console.step_progress(step, done, total);
  };
  auto level = args.deep    ? model::VerifyLevel::deep
               : args.quick ? model::VerifyLevel::quick
                            : model::VerifyLevel::full;
  steps::VerifyStep verify("all", level, false, args.content);
  console.step_started("verify", verify.label());
  auto start = std::chrono::steady_clock::now();
  auto result = verify.verify_set(ctx, set, false);
  ops::StepReport report{"verify", verify.label() + " of " + id};
  report.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  if (util::cancel_requested()) {
    console.verdict(false,
                    "INTERRUPTED: verification of set " + id + " stopped; the set is unchanged",
                    {{"set_id", id}, {"exit_code", 130}});
    return 130;
  }
  if (auto saved = set.save(); !saved)
    util::log_warn("unable to record the results in the manifest: {}", saved.error().message);
  nlohmann::json result_json{{"set_id", id}, {"level", model::to_string(level)}};
  if (!result) {
    report.ok = false;
    report.summary = result.error().message;
    console.step_finished(report);
    result_json["exit_code"] = util::exit_code_for(result.error().kind);
    console.verdict(false, "FAILED: could not verify set " + id + ": " + result.error().message,
                    result_json);
    return util::exit_code_for(result.error().kind);
  }
  report.ok = result->outcome == steps::Outcome::passed;
  report.summary = report.ok ? result->summary : result->reason;
  report.bytes = result->bytes;
  console.step_finished(report);
  if (!report.ok) {
    if (auto marked = set.mark_failed("verification failed: " + result->reason); !marked)
      util::log_warn("{}", marked.error().message);
    result_json["exit_code"] = 1;
    console.verdict(false,
                    fmt::format("FAILED: set {} is not restorable: {} (kept as .failed-{})", id,
                                result->reason, id),
                    result_json);
    return 1;
  }
  result_json["exit_code"] = 0;
  console.verdict(
      true,
      fmt::format("OK: set {} verified ({}): {}", id, model::to_string(level), result->summary),
      result_json);
  return 0;
}

} // namespace gate::cli

#include "ops/run.hpp"

#include "model/backup_set.hpp"
#include "model/git_info.hpp"
#include "model/lock.hpp"
#include "model/record.hpp"
#include "model/version.hpp"
#include "ops/plan.hpp"
#include "ops/prune.hpp"
#include "ops/rollback.hpp"
#include "ops/runner.hpp"
#include "steps/verify/verify.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

namespace gate::ops {

namespace {

// Fills the outcome for a failure and picks its exit code.
void set_failure(RunOutcome &out, const std::string &stage, const std::string &step,
                 const util::Error &error) {
  out.ok = false;
  out.failed_stage = stage;
  out.failed_step = step;
  out.reason = error.message;
  out.exit_code = util::exit_code_for(error.kind);
  out.event = error.kind == util::ErrorKind::interrupted ? "interrupted" : "failure";
}

// The outcome of a command that failed before it started (bad plan, lock).
RunOutcome failed_before_start(const util::Error &error) {
  RunOutcome out;
  set_failure(out, "", "", error);
  out.verdict = "FAILED: " + error.message;
  return out;
}

// A failure's verdict: "— the deploy must not proceed" only where a deploy
// waits on it (gate run), and on the first line, before any hint or command
// output the reason carries on the lines below.
std::string failed_verdict(RunMode mode, const std::string &stage, const std::string &reason) {
  std::string head = stage.empty() ? "FAILED: " : "FAILED in stage '" + stage + "': ";
  if (mode != RunMode::deploy) return head + reason;
  size_t eol = reason.find('\n');
  if (eol == std::string::npos) return head + reason + " — the deploy must not proceed";
  return head + reason.substr(0, eol) + " — the deploy must not proceed" + reason.substr(eol);
}

std::filesystem::path git_dir_of(const config::PipelineConfig &config) {
  return config.git_dir;
}

model::Manifest manifest_without_git(const config::PipelineConfig &config) {
  model::Manifest m;
  m.project = config.project;
  m.environment = config.environment;
  m.gate_version = model::k_gate_version;
  m.host = util::host_name();
  return m;
}

// The sets max_shrink compares with: verified sets that backed up the data
// as the deploy found it. A pre-rollback snapshot holds the damaged state a
// rollback undid, so it is never a baseline.
std::vector<model::Manifest> shrink_baselines(const model::SetStore &store) {
  std::vector<model::Manifest> out;
  auto sets = store.list(model::IncludeFailed::no);
  if (!sets) return out;
  for (const auto &s : *sets)
    if (s.manifest && !s.failed && s.manifest->kind != "pre-rollback" &&
        s.manifest->verified_level() && !s.manifest->has_failed_verification())
      out.push_back(*s.manifest);
  return out;
}

// What an interrupt left, as it is: the set may already have been sealed
// and recorded when a later stage (a migration) was interrupted.
std::string interrupted_verdict(const RunOutcome &out, const model::PendingSet *pending,
                                bool recorded, const config::PipelineConfig &config) {
  std::string where = out.failed_stage.empty() ? "" : " in stage '" + out.failed_stage + "'";
  if (pending && pending->sealed())
    return fmt::format(
        "INTERRUPTED{}: set {} had been verified and sealed{}; what ran after it was stopped",
        where, pending->id(), recorded ? " and " + config.record.string() + " points at it" : "");
  if (pending)
    return fmt::format("INTERRUPTED{}: the unfinished set was removed; the record is untouched",
                       where);
  return fmt::format("INTERRUPTED{}: no set was written; the record is untouched", where);
}

} // namespace

model::Manifest base_manifest(const config::PipelineConfig &config) {
  model::Manifest m = manifest_without_git(config);
  m.git = model::read_git_info(git_dir_of(config));
  return m;
}

RunOutcome run_pipeline(const config::PipelineConfig &config, const RunRequest &request,
                        Reporter &reporter) {
  RunOutcome out;
  auto run_start = std::chrono::steady_clock::now();
  auto plan = request.mode == RunMode::deploy ? build_pipeline_plan(config, request.only_stages)
                                              : build_backup_plan(config, request.targets);
  if (!plan) return failed_before_start(plan.error());
  for (const auto &name : request.allow_shrink)
    if (!config.find_database(name))
      return failed_before_start(util::Error{
          util::ErrorKind::usage, fmt::format("--allow-shrink {}: no database of that name in {}",
                                              name, config.file.string())});
  model::LocalSetStore store(config.backup_root);
  steps::RunContext ctx{config, store};
  ctx.dry_run = request.dry_run;
  for (const auto &stage : *plan)
    for (const auto &step : stage.steps)
      if (step->wants_content_fingerprints()) ctx.content_fingerprints = true;

  if (request.dry_run) {
    for (const auto &stage : *plan) {
      reporter.plan_line(
          fmt::format("stage {}{}:", stage.name, stage.parallel ? " (parallel)" : ""));
      for (const auto &step : stage.steps)
        reporter.plan_line(fmt::format("  {}: {}", step->label(), step->plan(ctx)));
    }
    bool has_record = request.mode == RunMode::deploy;
    reporter.plan_line(fmt::format("then: seal the verified set under {}{}",
                                   config.backup_root.string(),
                                   has_record ? " and write " + config.record.string() : ""));
    out.verdict = "dry run: nothing was changed";
    return out;
  }

  // A migration that cannot even start must stop the run before any backup work.
  for (const auto &stage : *plan)
    for (const auto &step : stage.steps)
      if (step->category() == steps::StepCategory::exec)
        if (auto r = step->check(ctx); !r) {
          set_failure(out, stage.name, step->label(), r.error());
          out.verdict = failed_verdict(request.mode, stage.name, r.error().message);
          return out;
        }

  auto lock = model::RootLock::acquire(config.backup_root, config.lock_wait, request.command_line);
  if (!lock) return failed_before_start(lock.error());
  if (auto recovered = store.recover_leftovers(); recovered)
    for (const auto &id : *recovered)
      util::log_warn(
          "set '{}' was left unfinished by a gate that died; kept as .failed-{} for forensics", id,
          id);

  ctx.baselines = shrink_baselines(store);
  ctx.allow_shrink = request.allow_shrink;

  // git is asked while the preflight checks run; the set needs it only once created.
  model::Manifest base = manifest_without_git(config);
  auto git_asked = std::async(std::launch::async,
                              [dir = git_dir_of(config)] { return model::read_git_info(dir); });
  std::optional<nlohmann::json> git;
  auto git_info = [&]() -> const nlohmann::json & {
    if (!git) git = git_asked.get();
    return *git;
  };
  std::string kind = request.mode == RunMode::deploy ? "pre-deployment" : "scheduled";
  std::unique_ptr<model::PendingSet> pending;
  std::mutex set_mutex;
  ctx.open_set = [&]() -> util::Result<model::SetHandle *> {
    std::lock_guard guard(set_mutex);
    if (!pending) {
      base.git = git_info();
      TRY_ASSIGN(pending, model::PendingSet::create(store, kind, base));
      util::log_info("writing backup set '{}' in {}", pending->id(), pending->dir().string());
      reporter.event("set_started", pending->id());
    }
    ctx.set = pending.get();
    return pending.get();
  };
  bool recorded = false;
  auto seal = [&]() -> util::Result<void> {
    if (!pending) return util::fail("no backup set was written before the record step");
    if (!pending->sealed()) {
      // Nothing leaves unverified: whatever no verify step covered is read back now.
      steps::VerifyStep verify("all", model::VerifyLevel::full);
      TRY_ASSIGN(auto r, verify.verify_set(ctx, *pending, true));
      if (r.outcome == steps::Outcome::failed)
        return util::fail("verification failed: " + r.reason);
      pending->set_timing("backup_and_verify_ms", util::elapsed_ms(run_start));
      TRY_ASSIGN(auto dir, pending->seal());
      out.set_dir = dir;
      out.set_id = pending->id();
      reporter.event("set_sealed",
                     fmt::format("backup set {} sealed at {}", pending->id(), dir.string()));
    }
    if (request.mode == RunMode::deploy && !recorded) {
      TRY(model::write_record(config.record, pending->manifest(), pending->dir()));
      recorded = true;
      util::log_info("recorded set '{}' in {}", pending->id(), config.record.string());
      reporter.event("recorded",
                     fmt::format("{} now points at {}", config.record.string(), pending->id()));
    }
    return {};
  };
  ctx.seal_and_record = seal;
  ctx.progress = [&](const std::string &step, uint64_t done, uint64_t total) {
    reporter.step_progress(step, done, total);
  };

  // A migration must never run before the set protecting it is sealed and recorded.
  auto seal_before_exec = [&](const PlannedStage &stage) -> util::Result<void> {
    bool has_exec = std::any_of(stage.steps.begin(), stage.steps.end(), [](const auto &s) {
      return s->category() == steps::StepCategory::exec;
    });
    if (has_exec && pending && !pending->sealed()) return seal();
    return {};
  };
  StagesResult stages = run_stages(*plan, ctx, reporter, seal_before_exec);
  out.git = git_info();
  out.steps = stages.reports;
  out.bytes = stages.bytes;
  std::optional<util::Error> failure = stages.failure;
  bool rollback_requested = stages.rollback_requested;
  if (failure) set_failure(out, stages.failed_stage, stages.failed_step, *failure);

  if (!failure && pending &&
      !(pending->sealed() && (recorded || request.mode != RunMode::deploy))) {
    if (auto r = seal(); !r) {
      failure = r.error();
      set_failure(out, "record", "record", r.error());
    }
  }
  if (!failure && !pending && request.only_stages.empty())
    util::log_warn(
        "this pipeline backed nothing up: no set was written and the record was left alone");

  if (failure && pending && !pending->sealed()) {
    if (failure->kind == util::ErrorKind::interrupted || util::cancel_requested()) {
      util::log_warn("interrupted: removing the unfinished set '{}'; the record is untouched",
                     pending->id());
      pending->discard();
    } else {
      pending->mark_failed(failure->message);
    }
  }
  if (pending && pending->sealed()) {
    out.set_id = pending->id();
    out.set_dir = pending->dir();
  }

  if (failure && rollback_requested && pending && pending->sealed()) {
    // The migration failed (or was interrupted): put the data back as this run saved it.
    util::CancelShield shield;
    util::reset_cancel();
    util::log_warn("{}: rolling back to set '{}'", out.reason, pending->id());
    RollbackRequest rb;
    rb.set_id = pending->id();
    rb.lock_held = true;
    rb.confirm = [] { return true; };
    RunOutcome rolled = rollback(config, rb, reporter);
    out.rollback = {{"set", pending->id()}, {"ok", rolled.ok}, {"verdict", rolled.verdict}};
    out.event = "rollback";
    out.exit_code = rolled.ok ? 1 : 4;
    out.verdict = rolled.ok
                      ? fmt::format("FAILED: {}; data rolled back to set {} and checked",
                                    out.reason, pending->id())
                      : fmt::format("FAILED: {}; ROLLBACK FAILED: {}", out.reason, rolled.reason);
    out.duration_ms = util::elapsed_ms(run_start);
    return out;
  }

  if (util::cancel_requested() && failure) {
    out.exit_code = 130;
    out.event = "interrupted";
  }

  if (!failure && config.retention && pending && pending->sealed()) {
    auto pruned = prune_sets(config, PruneMode::apply, reporter);
    if (!pruned) util::log_warn("retention: {}", pruned.error().message);
  }

  out.duration_ms = util::elapsed_ms(run_start);
  if (!failure) {
    out.ok = true;
    out.event = "success";
    out.exit_code = 0;
    if (pending)
      out.verdict = fmt::format("OK: set {} verified ({}){} in {}; the deploy may proceed",
                                pending->id(), util::human_bytes(pending->manifest().total_bytes()),
                                request.mode == RunMode::deploy ? " and recorded" : "",
                                util::human_duration_ms(out.duration_ms));
    else
      out.verdict =
          fmt::format("OK: all checks passed in {}", util::human_duration_ms(out.duration_ms));
    if (request.mode == RunMode::scheduled && pending)
      out.verdict = fmt::format("OK: set {} verified ({}) in {}", pending->id(),
                                util::human_bytes(pending->manifest().total_bytes()),
                                util::human_duration_ms(out.duration_ms));
  } else if (out.event == "interrupted") {
    out.verdict = interrupted_verdict(out, pending.get(), recorded, config);
  } else {
    out.verdict = failed_verdict(request.mode, out.failed_stage, out.reason);
  }
  return out;
}

RunOutcome check_pipeline(const config::PipelineConfig &config, Reporter &reporter) {
  RunOutcome out;
  auto start = std::chrono::steady_clock::now();
  auto plan = build_pipeline_plan(config, {});
  if (!plan) return failed_before_start(plan.error());
  model::LocalSetStore store(config.backup_root);
  steps::RunContext ctx{config, store};
  ctx.dry_run = true;
  // Steps on one unreachable target fail with one error: say it once, then refer to it.
  std::map<std::string, std::string> reported; // error message -> the step that reported it
  for (auto &stage : *plan) {
    for (auto &step : stage.steps) {
      reporter.step_started(stage.name, step->label());
      auto step_start = std::chrono::steady_clock::now();
      StepReport report{stage.name, step->label()};
      util::Result<steps::StepResult> r = steps::StepResult{};
      if (auto pre = step->check(ctx); !pre)
        r = std::unexpected(pre.error());
      else if (step->category() == steps::StepCategory::check)
        r = step->run(ctx);
      else
        r = steps::passed("ready: " + step->plan(ctx));
      report.duration_ms = util::elapsed_ms(step_start);
      if (!r || r->outcome == steps::Outcome::failed) {
        report.ok = false;
        report.summary = r ? r->reason : r.error().message;
        if (auto [it, first] = reported.emplace(report.summary, step->label()); !first)
          report.summary = "the same error as '" + it->second + "' above";
        if (out.ok) {
          out.ok = false;
          // A step that could not decide keeps its kind: an unset ${VAR} is a config error (2).
          out.exit_code = r ? 1 : util::exit_code_for(r.error().kind);
          out.event = "failure";
          out.failed_stage = stage.name;
          out.failed_step = step->label();
          out.reason = report.summary;
        }
      } else {
        report.summary = r->summary;
      }
      out.steps.push_back(report);
      reporter.step_finished(report);
    }
  }
  out.duration_ms = util::elapsed_ms(start);
  out.verdict = out.ok ? fmt::format("OK: configuration valid and every target reachable ({})",
                                     util::human_duration_ms(out.duration_ms))
                       : fmt::format("FAILED: {}", out.reason);
  if (out.ok) out.event = "success";
  return out;
}

} // namespace gate::ops

#include "ops/run.hpp"

#include "ops/swaps.hpp"

#include "model/backup_set.hpp"
#include "model/git_info.hpp"
#include "model/lock.hpp"
#include "model/record.hpp"
#include "model/set_id.hpp"
#include "model/version.hpp"
#include "ops/offsite.hpp"
#include "ops/offsite_encryption.hpp"
#include "ops/plan.hpp"
#include "ops/prune.hpp"
#include "ops/rollback.hpp"
#include "ops/runner.hpp"
#include "ops/swaps.hpp"
#include "steps/check/check.hpp"
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

namespace {

// What a run carries from phase to phase.
struct PipelineRun {
  const config::PipelineConfig &config;
  const RunRequest &request;
  Reporter &reporter;
  model::LocalSetStore store;
  steps::RunContext ctx;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  RunOutcome out;
  std::unique_ptr<model::PendingSet> pending;
  std::mutex set_mutex;
  bool recorded = false;
  std::vector<model::RemoteCopy> remote_copies; // confirmed off-site copies of the set
  model::Manifest base;
  std::future<nlohmann::json> git_asked;
  std::optional<nlohmann::json> git;
  std::optional<model::RootLock> lock;

  PipelineRun(const config::PipelineConfig &c, const RunRequest &r, Reporter &rep)
      : config(c), request(r), reporter(rep), store(c.backup_root), ctx{c, store} {}
  bool sealed() const { return pending && pending->sealed(); }
  const nlohmann::json &git_info() {
    if (!git) git = git_asked.get();
    return *git;
  }
};

// Phase 1: the plan of the command, and its arguments checked against it.
util::Result<Plan> make_plan(PipelineRun &r) {
  TRY_ASSIGN(auto plan, r.request.mode == RunMode::deploy
                            ? build_pipeline_plan(r.config, r.request.only_stages)
                            : build_backup_plan(r.config, r.request.targets));
  for (const auto &name : r.request.allow_shrink)
    if (!r.config.find_database(name))
      return util::fail(util::ErrorKind::usage,
                        fmt::format("--allow-shrink {}: no database of that name in {}", name,
                                    r.config.file.string()));
  r.ctx.dry_run = r.request.dry_run;
  r.ctx.build_standbys = r.request.mode == RunMode::deploy;
  for (const auto &stage : plan)
    for (const auto &step : stage.steps)
      if (step->wants_content_fingerprints()) r.ctx.content_fingerprints = true;
  return plan;
}

// --dry-run: what would run, changing nothing.
void print_dry_run(PipelineRun &r, const Plan &plan) {
  for (const auto &stage : plan) {
    r.reporter.plan_line(
        fmt::format("stage {}{}:", stage.name, stage.parallel ? " (parallel)" : ""));
    for (const auto &step : stage.steps)
      r.reporter.plan_line(fmt::format("  {}: {}", step->label(), step->plan(r.ctx)));
  }
  bool has_record = r.request.mode == RunMode::deploy;
  r.reporter.plan_line(fmt::format("then: seal the verified set under {}{}",
                                   r.config.backup_root.string(),
                                   has_record ? " and write " + r.config.record.string() : ""));
  r.out.verdict = "dry run: nothing was changed";
}

bool checks_connections(const Plan &plan) {
  for (const auto &stage : plan)
    for (const auto &step : stage.steps)
      if (const auto *check = dynamic_cast<const steps::CheckStep *>(step.get()))
        if (check->kind() == steps::CheckKind::connections) return true;
  return false;
}

// Phase 2: a migration that cannot even start stops the run before any
// backup work. So does a backup refused by its pre-flight (a standby that
// cannot be kept, a role that could not restore the dump) in a pipeline
// without `check: connections`, the step that refuses them otherwise.
bool steps_can_start(PipelineRun &r, const Plan &plan) {
  bool backups_too = !checks_connections(plan);
  for (const auto &stage : plan)
    for (const auto &step : stage.steps)
      if (step->category() == steps::StepCategory::exec ||
          (backups_too && step->category() == steps::StepCategory::backup))
        if (auto ok = step->check(r.ctx); !ok) {
          set_failure(r.out, stage.name, step->label(), ok.error());
          r.out.verdict = failed_verdict(r.request.mode, stage.name, ok.error().message);
          return false;
        }
  return true;
}

// Phase 3: the backup root's lock; what a gate that died left is put aside.
util::Result<void> lock_root(PipelineRun &r) {
  TRY_ASSIGN(auto lock, model::RootLock::acquire(r.config.backup_root, r.config.lock_wait,
                                                 r.request.command_line));
  r.lock.emplace(std::move(lock));
  if (auto recovered = r.store.recover_leftovers(); recovered)
    for (const auto &id : *recovered)
      util::log_warn(
          "set '{}' was left unfinished by a gate that died; kept as .failed-{} for forensics", id,
          id);
  for (const auto &repaired : repair_swaps(r.config)) // a rollback's swap a kill cut short
    util::log_warn("{}", repaired);
  return {};
}

// The set is created by the first step that writes into it.
util::Result<model::SetHandle *> open_set(PipelineRun &r) {
  std::lock_guard guard(r.set_mutex);
  if (!r.pending) {
    r.base.git = r.git_info();
    std::string kind = r.request.mode == RunMode::deploy ? "pre-deployment" : "scheduled";
    // Sets that go to a shared bucket prefix carry this host's tag (model/set_id.hpp).
    std::string tag = r.config.remotes.empty() ? "" : model::host_tag(util::host_name());
    TRY_ASSIGN(r.pending, model::PendingSet::create(r.store, kind, r.base, tag));
    TRY(encrypt_local_set(r.config, *r.pending));
    util::log_info("writing backup set '{}' in {}", r.pending->id(), r.pending->dir().string());
    r.reporter.event("set_started", r.pending->id());
    // Written once, under the lock: every step that reads ctx.set took this
    // lock first (through open_set), so none reads it while it is written.
    r.ctx.set = r.pending.get();
  }
  return r.pending.get();
}

// Seals the set (verifying whatever no verify step covered: nothing leaves
// unverified) and, for a deploy, writes the record.
util::Result<void> seal_and_record(PipelineRun &r) {
  auto &pending = r.pending;
  if (!pending) return util::fail("no backup set was written before the record step");
  if (!pending->sealed()) {
    steps::VerifyStep verify("all", model::VerifyLevel::full);
    TRY_ASSIGN(auto v, verify.verify_set(r.ctx, *pending, true));
    if (v.outcome == steps::Outcome::failed) return util::fail("verification failed: " + v.reason);
    pending->set_timing("backup_and_verify_ms", util::elapsed_ms(r.start));
    TRY_ASSIGN(auto dir, pending->seal());
    r.out.set_dir = dir;
    r.out.set_id = pending->id();
    r.reporter.event("set_sealed",
                     fmt::format("backup set {} sealed at {}", pending->id(), dir.string()));
    // Off-site before the record: a deploy goes on only with the copies it requires.
    TRY_ASSIGN(r.remote_copies, copy_off_site(r.config, pending->manifest(), dir, r.reporter));
  }
  if (r.request.mode == RunMode::deploy && !r.recorded) {
    TRY(model::write_record(r.config.record, pending->manifest(), pending->dir(), r.remote_copies));
    r.recorded = true;
    util::log_info("recorded set '{}' in {}", pending->id(), r.config.record.string());
    r.reporter.event("recorded",
                     fmt::format("{} now points at {}", r.config.record.string(), pending->id()));
  }
  return {};
}

// Phase 4: what the steps reach through their context. git is asked while
// the preflight checks run; the set needs it only once created.
void wire_context(PipelineRun &r) {
  r.ctx.baselines = shrink_baselines(r.store);
  r.ctx.allow_shrink = r.request.allow_shrink;
  r.base = manifest_without_git(r.config);
  r.git_asked = std::async(std::launch::async,
                           [dir = git_dir_of(r.config)] { return model::read_git_info(dir); });
  r.ctx.open_set = [&r] { return open_set(r); };
  r.ctx.seal_and_record = [&r] { return seal_and_record(r); };
  r.ctx.progress = [&r](const std::string &step, uint64_t done, uint64_t total) {
    r.reporter.step_progress(step, done, total);
  };
}

// Phase 5: the stages. A migration never runs before the set protecting it
// is sealed and recorded.
std::optional<util::Error> run_plan(PipelineRun &r, Plan &plan, bool &rollback_requested) {
  auto seal_before_exec = [&](const PlannedStage &stage) -> util::Result<void> {
    bool has_exec = std::any_of(stage.steps.begin(), stage.steps.end(), [](const auto &s) {
      return s->category() == steps::StepCategory::exec;
    });
    if (has_exec && r.pending && !r.pending->sealed()) return seal_and_record(r);
    return {};
  };
  StagesResult stages = run_stages(plan, r.ctx, r.reporter, seal_before_exec);
  r.out.git = r.git_info();
  r.out.steps = stages.reports;
  r.out.bytes = stages.bytes;
  rollback_requested = stages.rollback_requested;
  if (stages.failure) set_failure(r.out, stages.failed_stage, stages.failed_step, *stages.failure);
  return stages.failure;
}

// Phase 6: the set ends sealed (and recorded), failed, or (interrupted) gone.
void finish_set(PipelineRun &r, std::optional<util::Error> &failure) {
  bool done = r.sealed() && (r.recorded || r.request.mode != RunMode::deploy);
  if (!failure && r.pending && !done)
    if (auto sealed = seal_and_record(r); !sealed) {
      failure = sealed.error();
      set_failure(r.out, "record", "record", sealed.error());
    }
  if (!failure && !r.pending && r.request.only_stages.empty())
    util::log_warn(
        "this pipeline backed nothing up: no set was written and the record was left alone");
  if (failure && r.pending && !r.pending->sealed()) {
    if (failure->kind == util::ErrorKind::interrupted || util::cancel_requested()) {
      util::log_warn("interrupted: removing the unfinished set '{}'; the record is untouched",
                     r.pending->id());
      r.pending->discard();
    } else {
      r.pending->mark_failed(failure->message);
    }
  }
  if (r.sealed()) {
    r.out.set_id = r.pending->id();
    r.out.set_dir = r.pending->dir();
  }
}

// Phase 7 (a migration failed or was interrupted): the data put back as
// this run saved it.
void roll_back_failed_migration(PipelineRun &r) {
  util::CancelShield shield;
  util::reset_cancel();
  util::log_warn("{}: rolling back to set '{}'", r.out.reason, r.pending->id());
  RollbackRequest rb;
  rb.set_id = r.pending->id();
  rb.lock_held = true;
  rb.confirm = [] { return true; };
  RunOutcome rolled = rollback(r.config, rb, r.reporter);
  auto &out = r.out;
  out.rollback = {{"set", r.pending->id()}, {"ok", rolled.ok}, {"verdict", rolled.verdict}};
  out.event = "rollback";
  out.exit_code =
      util::exit_code_for(rolled.ok ? util::ErrorKind::failed : util::ErrorKind::rollback_failed);
  out.verdict = rolled.ok
                    ? fmt::format("FAILED: {}; data rolled back to set {} and checked", out.reason,
                                  r.pending->id())
                    : fmt::format("FAILED: {}; ROLLBACK FAILED: {}", out.reason, rolled.reason);
  out.duration_ms = util::elapsed_ms(r.start);
}

// The last phase: the verdict of a run that got to its end.
void conclude(PipelineRun &r, const std::optional<util::Error> &failure) {
  auto &out = r.out;
  out.duration_ms = util::elapsed_ms(r.start);
  if (failure && out.event == "interrupted") {
    out.verdict = interrupted_verdict(out, r.pending.get(), r.recorded, r.config);
    return;
  }
  if (failure) {
    out.verdict = failed_verdict(r.request.mode, out.failed_stage, out.reason);
    return;
  }
  out.ok = true;
  out.event = "success";
  out.exit_code = 0;
  std::string took = util::human_duration_ms(out.duration_ms);
  if (!r.pending) {
    out.verdict = fmt::format("OK: all checks passed in {}", took);
    return;
  }
  std::string size = util::human_bytes(r.pending->manifest().total_bytes());
  out.verdict = r.request.mode == RunMode::scheduled
                    ? fmt::format("OK: set {} verified ({}) in {}", r.pending->id(), size, took)
                    : fmt::format("OK: set {} verified ({}) and recorded in {}; the deploy may "
                                  "proceed",
                                  r.pending->id(), size, took);
}

} // namespace

RunOutcome run_pipeline(const config::PipelineConfig &config, const RunRequest &request,
                        Reporter &reporter) {
  PipelineRun r(config, request, reporter);
  auto plan = make_plan(r);
  if (!plan) return failed_before_start(plan.error());
  if (request.dry_run) {
    print_dry_run(r, *plan);
    return r.out;
  }
  if (!steps_can_start(r, *plan)) return r.out;
  if (auto locked = lock_root(r); !locked) return failed_before_start(locked.error());
  wire_context(r);
  bool rollback_requested = false;
  auto failure = run_plan(r, *plan, rollback_requested);
  finish_set(r, failure);
  if (failure && rollback_requested && r.sealed()) {
    roll_back_failed_migration(r);
    return r.out;
  }
  if (util::cancel_requested() && failure) {
    r.out.exit_code = util::exit_code_for(util::ErrorKind::interrupted);
    r.out.event = "interrupted";
  }
  if (!failure && config.retention && r.sealed())
    if (auto pruned = prune_sets(config, PruneMode::apply, reporter); !pruned)
      util::log_warn("retention: {}", pruned.error().message);
  if (!failure && r.sealed()) prune_remotes_after_run(config, reporter);
  if (!failure && r.sealed() && request.mode == RunMode::deploy && !util::cancel_requested())
    for (const auto &dropped : age_replaced_copies(config)) // keep_replaced counts runs
      util::log_info("{}", dropped);
  if (!failure && util::cancel_requested()) // during retention: the set was already recorded
    set_failure(r.out, "retention", "retention",
                *(failure = util::Error{util::ErrorKind::interrupted, "interrupted by a signal"}));
  conclude(r, failure);
  return r.out;
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

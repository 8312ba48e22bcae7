#include "ops/rollback.hpp"

#include "model/backup_set.hpp"
#include "model/lock.hpp"
#include "model/manifest.hpp"
#include "model/record.hpp"
#include "model/restore_doc.hpp"
#include "ops/remote_sets.hpp"
#include "ops/safety_snapshot.hpp"
#include "ops/swaps.hpp"
#include "ops/work.hpp"
#include "steps/registry.hpp"
#include "steps/restore_plan.hpp"
#include "steps/verify/verify.hpp"
#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace gate::ops {

namespace fs = std::filesystem;

util::Result<std::string> resolve_last_set(const config::PipelineConfig &config) {
  model::LocalSetStore store(config.backup_root);
  TRY_ASSIGN(auto sets, store.list(model::IncludeFailed::yes));
  TRY_ASSIGN(auto record_id, model::read_record_id(config.record));
  if (record_id) {
    TRY(model::check_record_root(config.record, config.backup_root));
    for (const auto &s : sets)
      if (s.id == *record_id && s.manifest && !s.failed) return s.id;
    // Never fall back silently: the newest set may hold the very data being rolled back from.
    return util::fail(config.record.string() + " names set '" + *record_id +
                      "', which is missing or failed verification\nhint: pick a set from `gate "
                      "list` and pass its id");
  }
  // No record: the newest set made before a deploy or by a schedule; a
  // pre-rollback snapshot holds the data a rollback replaced, never the default.
  for (const auto &s : sets)
    if (s.manifest && !s.failed && s.manifest->kind != "pre-rollback") {
      util::log_warn("there is no {}: using the newest set, '{}'", config.record.string(), s.id);
      return s.id;
    }
  return util::fail("no usable backup set in '" + config.backup_root.string() + "'");
}

namespace {

using Jobs = std::vector<std::unique_ptr<steps::RestoreJob>>;

// A timestamp to the millisecond: the journal tells rollbacks apart by it,
// and the newest is the greatest.
std::string new_rollback_id() {
  auto now = util::Clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return fmt::format("{}_{:03}", util::compact_timestamp(now), ms % 1000);
}

// What a rollback carries from phase to phase.
struct Rollback {
  const config::PipelineConfig &config;
  const RollbackRequest &request;
  Reporter &reporter;
  model::LocalSetStore store;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string rollback_id = new_rollback_id(); // names the swaps of this rollback
  model::SetInfo info;
  Jobs jobs;
  std::vector<std::string> not_restored;
  std::optional<model::RootLock> lock;
  std::string safety_id;
  std::unique_ptr<model::S3SetStore> remote; // set: the set comes from this remote
  std::string remote_name;

  const model::Manifest &manifest() const { return *info.manifest; }
  const std::string &id() const { return info.id; }
};

// The error of a phase that changed nothing.
std::unexpected<util::Error> unchanged(util::ErrorKind kind, const std::string &message) {
  return util::fail(kind, message);
}

util::Result<void> find_local_set(Rollback &r) {
  std::string id = r.request.set_id;
  if (id.empty()) TRY_ASSIGN(id, resolve_last_set(r.config));
  TRY_ASSIGN(r.info, r.store.find(id));
  if (r.info.failed || !r.info.manifest)
    return unchanged(util::ErrorKind::failed,
                     "set '" + id + "' is not usable (" +
                         (r.info.manifest ? r.info.manifest->failure : r.info.problem) + ")");
  return {};
}

// The set `id` (empty: the newest of this project there) on remote `name`.
util::Result<void> find_remote_copy(Rollback &r, const std::string &name, const std::string &id) {
  TRY_ASSIGN(auto remote, open_remote(r.config, name));
  TRY_ASSIGN(auto info, find_remote_set(r.config, *remote, id));
  // The jobs refer to the manifest's artifacts: once resolved, it stays put.
  if (r.info.manifest && r.info.id == info.id)
    r.info.dir.clear();
  else
    r.info = std::move(info);
  r.remote = std::move(remote);
  r.remote_name = name;
  return {};
}

// The set a rollback without an id looks for on a remote: the one the record
// names, else (no record) the newest there.
std::string wanted_on_remote(const Rollback &r) {
  if (!r.request.set_id.empty()) return r.request.set_id;
  auto recorded = model::read_record_id(r.config.record);
  return recorded && *recorded ? **recorded : std::string();
}

// The first remote that holds a usable copy of what the local store lacks.
util::Result<void> fall_back_to_remote(Rollback &r, const util::Error &local,
                                       const std::string &id) {
  for (const auto &remote : r.config.remotes)
    if (auto found = find_remote_copy(r, remote.name, id); found) {
      util::log_warn("{}; using the copy on remote '{}'", local.message, remote.name);
      return {};
    }
  return std::unexpected(local);
}

// Phase 1: the set exists and is usable: the local one, else (or with
// --remote) a remote's copy, which is fetched only after the confirmation.
util::Result<void> find_set(Rollback &r) {
  if (!r.request.remote.empty()) return find_remote_copy(r, r.request.remote, r.request.set_id);
  auto local = find_local_set(r);
  if (local || r.config.remotes.empty()) return local;
  return fall_back_to_remote(r, local.error(), wanted_on_remote(r));
}

bool selected(const RollbackRequest &request, const std::string &group) {
  if (request.only == RollbackOnly::databases) return group == "db";
  if (request.only == RollbackOnly::volumes) return group == "volumes";
  return true;
}

// Phase 2: one job per target the set holds and the request selects,
// resolved against the configuration through the artifact kinds' table.
util::Result<void> resolve_jobs(Rollback &r) {
  std::set<std::string> seen;
  for (const auto &a : r.manifest().artifacts) {
    if (seen.count(a.target)) continue;
    steps::RestoreDestination destination;
    if (auto it = r.request.redirect.find(a.target); it != r.request.redirect.end())
      destination.redirect = it->second;
    destination.set_dir = r.info.dir;
    destination.identity_file = r.request.identity_file;
    destination.backup_root = r.config.backup_root;
    destination.rollback_id = r.rollback_id;
    destination.use_standby = r.request.use_standby;
    TRY_ASSIGN(auto choice, steps::make_restore_job(r.config, r.manifest(), a, destination));
    if (!selected(r.request, choice.group)) continue;
    if (!choice.not_restored.empty()) r.not_restored.push_back(a.path + ": " + choice.not_restored);
    if (!choice.job) continue;
    seen.insert(a.target);
    r.jobs.push_back(std::move(choice.job));
  }
  for (const auto &[name, dest] : r.request.redirect)
    if (!seen.count(name))
      return unchanged(util::ErrorKind::usage,
                       "--target " + name + ": the set holds no volume named '" + name + "'");
  if (r.jobs.empty())
    return unchanged(util::ErrorKind::failed,
                     "set '" + r.id() + "' holds nothing to restore with these options");
  return {};
}

// A set the rollback refused is marked failed as `gate verify` marks it, so
// `gate list` stops offering it. Renaming a set needs the root's lock.
void mark_refused_set(const Rollback &r, model::StoredSet &set, const std::string &reason) {
  std::optional<model::RootLock> lock;
  if (!r.request.lock_held) {
    auto l =
        model::RootLock::acquire(r.config.backup_root, r.config.lock_wait, r.request.command_line);
    if (!l) {
      util::log_warn("set '{}' failed verification but could not be marked failed: {}", set.id(),
                     l.error().message);
      return;
    }
    lock.emplace(std::move(*l));
  }
  (void)set.save();
  if (auto marked = set.mark_failed("verification failed: " + reason); !marked)
    util::log_warn("{}", marked.error().message);
}

util::Result<void> check_local_set(Rollback &r) {
  steps::RunContext ctx{r.config, r.store};
  model::StoredSet stored(r.info);
  ctx.set = &stored;
  steps::VerifyStep verify("all", model::VerifyLevel::quick);
  std::vector<Work> work{{"check set", "verify " + r.id() + " (quick)",
                          [&] { return verify.verify_set(ctx, stored, false); }}};
  auto done = run_work(work, Concurrency::in_order, r.reporter);
  if (util::cancel_requested())
    return unchanged(util::ErrorKind::interrupted,
                     "interrupted while checking set '" + r.id() + "'; nothing was changed");
  if (done[0].ok()) return {};
  if (done[0].result) mark_refused_set(r, stored, done[0].report.summary);
  return unchanged(util::ErrorKind::failed,
                   "set '" + r.id() +
                       "' failed verification, nothing was changed: " + done[0].report.summary);
}

// A remote's copy: every object there with its size (the fetch checks every
// checksum and verifies it fully before anything is restored).
util::Result<void> check_remote_copy(Rollback &r) {
  std::vector<Work> work{{"check set", "objects of " + r.id() + " on remote " + r.remote_name,
                          [&] { return remote_objects_present(*r.remote, r.manifest()); }}};
  auto done = run_work(work, Concurrency::in_order, r.reporter);
  if (done[0].ok()) return {};
  return unchanged(util::ErrorKind::failed,
                   "set '" + r.id() + "' on remote '" + r.remote_name +
                       "' cannot be used, nothing was changed: " + done[0].report.summary);
}

// Phase 3: the set is still what was verified (checksums at least); a local
// set that fails gives way to a remote's copy of it.
util::Result<void> check_set(Rollback &r) {
  if (r.remote) return check_remote_copy(r);
  // Through standbys no file of the set is read: what is checked is each
  // standby's identity (its job did, when it chose the swap), and hashing the
  // whole set would make the rollback's time grow with the data.
  if (!r.jobs.empty() && std::all_of(r.jobs.begin(), r.jobs.end(),
                                     [](const auto &job) { return job->swaps_in_standby(); })) {
    util::log_info("rollback: every target swaps in its standby; the set's files are not read");
    return {};
  }
  auto checked = check_local_set(r);
  if (checked || checked.error().kind == util::ErrorKind::interrupted ||
      !r.request.remote.empty() || r.config.remotes.empty())
    return checked;
  TRY(fall_back_to_remote(r, checked.error(), r.id()));
  return check_remote_copy(r);
}

std::string short_commit(const model::Manifest &m) {
  return m.git.is_object() && m.git.value("commit", nlohmann::json()).is_string()
             ? m.git["commit"].get<std::string>().substr(0, 12)
             : "none";
}

// Phase 4: the plan. Per target what changes, the safety snapshot, and the
// time predicted from what this set measured (targets restore in parallel).
void show_plan(const Rollback &r) {
  const auto &m = r.manifest();
  auto line = [&](const std::string &text) { r.reporter.plan_line(text); };
  line(fmt::format("rollback from set {} (created {}, git commit {}{})", r.id(), m.created_at,
                   short_commit(m),
                   m.git.is_object() && m.git.value("branch", nlohmann::json()).is_string()
                       ? " on " + m.git["branch"].get<std::string>()
                       : ""));
  line(r.remote ? fmt::format("  source: the copy on {}: it is fetched into {} first (download, "
                              "checksums, full verify), then restored",
                              r.remote->location(), r.config.backup_root.string())
                : "  source: the local set " + r.info.dir.string());
  long long restore_ms = 0, snapshot_ms = 0;
  bool known = true, anything_replaced = false, anything_snapshotted = false;
  for (const auto &job : r.jobs) {
    job->plan(m, line);
    bool swap = job->swaps_in_standby();
    anything_snapshotted = anything_snapshotted || (job->replaces_live_data() && !swap);
    auto p = steps::predicted_restore(m, job->artifact(), swap);
    known = known && p.has_value();
    restore_ms = std::max(restore_ms, p ? p->ms : 0);
    anything_replaced = anything_replaced || job->replaces_live_data();
    if (r.request.safety_backup && job->replaces_live_data() && !swap) {
      auto s = steps::predicted_snapshot_ms(job->artifact());
      known = known && s.has_value();
      snapshot_ms = std::max(snapshot_ms, s.value_or(0));
    }
  }
  if (!anything_replaced)
    line("  nothing is replaced: every destination is new");
  else if (!anything_snapshotted)
    line("  no safety snapshot: every target swaps in its standby, and the data it replaces is "
         "kept (`gate rollback --undo` swaps it back)");
  else if (r.request.safety_backup)
    line(fmt::format("  first: a safety snapshot (pre-rollback set) of everything replaced, about "
                     "{} (as long as this set's backup took)",
                     util::human_duration_ms(snapshot_ms)));
  else
    line("  no safety snapshot (--no-safety-backup): the current data will be lost");
  line(known ? fmt::format("predicted rollback time: about {}",
                           util::human_duration_ms(snapshot_ms + restore_ms))
             : fmt::format("predicted rollback time: at least {}; not every step was measured (a "
                           "deep verify measures a database's restore)",
                           util::human_duration_ms(snapshot_ms + restore_ms)));
  for (const auto &note : r.not_restored)
    line("  not restored: " + note);
}

// Phase 5: the confirmation, then the lock. The lock is taken only now, so a
// prompt left open blocks nobody; the set must still be there (a prune may
// have run meanwhile), and every restore checks its file's SHA-256 again
// while it reads it.
util::Result<void> confirm_and_lock(Rollback &r) {
  if (r.request.confirm && !r.request.confirm())
    return unchanged(util::ErrorKind::failed, "cancelled; nothing was changed");
  if (r.request.lock_held) return {};
  TRY_ASSIGN(auto lock, model::RootLock::acquire(r.config.backup_root, r.config.lock_wait,
                                                 r.request.command_line));
  r.lock.emplace(std::move(lock));
  for (const auto &repaired : repair_swaps(r.config)) // a swap a kill cut short, under the lock
    util::log_warn("{}", repaired);
  if (r.remote) return {}; // fetched next, under this lock
  if (auto again = r.store.find(r.id()); !again || again->failed)
    return unchanged(util::ErrorKind::failed,
                     "set '" + r.id() +
                         "' disappeared or failed while waiting for confirmation; nothing was "
                         "changed");
  return {};
}

// Phase 5b: a remote's copy is brought home (verified fully) before
// anything changes; the restore then reads the local copy.
util::Result<void> fetch_remote_copy(Rollback &r) {
  if (!r.remote) return {};
  FetchRequest request{r.remote_name, r.id(), true, r.request.command_line,
                       r.request.identity_file};
  auto fetched = fetch_set(r.config, request, r.reporter);
  if (!fetched)
    return unchanged(fetched.error().kind, fetched.error().message + "; nothing was changed");
  if (fetched->already_here)
    util::log_info("set '{}' is already in {}: restoring that copy", r.id(),
                   r.config.backup_root.string());
  r.info.dir = fetched->info.dir; // the manifest stays: the jobs refer to it
  // The jobs were made before the set had a directory here (an encrypted
  // set's jobs decrypt from it): made again against the fetched copy.
  r.jobs.clear();
  r.not_restored.clear();
  return resolve_jobs(r);
}

// Phase 6: what every restore needs holds or exists (privileges, dropped
// databases and removed named volumes created again), else nothing changes.
util::Result<void> prepare_targets(Rollback &r) {
  for (auto &job : r.jobs)
    if (auto ready = job->prepare(); !ready)
      return unchanged(util::ErrorKind::failed, ready.error().message + "; nothing was changed");
  return {};
}

// Phase 7: the safety snapshot, before anything changes.
util::Result<void> safety_snapshot(Rollback &r) {
  if (!r.request.safety_backup) {
    util::log_warn(
        "rollback without a safety snapshot (--no-safety-backup): the data replaced is not kept");
    return {};
  }
  auto snap = take_safety_snapshot(r.config, r.jobs, r.reporter);
  if (!snap) return unchanged(snap.error().kind, snap.error().message + "; nothing was changed");
  r.safety_id = *snap;
  if (!r.safety_id.empty())
    r.reporter.event("safety_snapshot", fmt::format("safety snapshot {} holds the data as it was "
                                                    "before",
                                                    r.safety_id));
  return {};
}

// The report of one target's restore, with how to finish it by hand.
StepReport restore_report(const Rollback &r, const steps::RestoreJob &job,
                          const Timed<steps::RestoreOutcome> &done) {
  StepReport report{"restore", "restore " + job.target()};
  report.ok = done.value.ok();
  report.duration_ms = done.ms;
  report.summary = done.value.state_text + ": " + done.value.detail;
  if (report.ok) return report;
  // The set's own artifact: an encrypted one's commands go through `age -d`.
  const auto *stored = r.manifest().find_artifact(job.artifact().path);
  auto commands = model::plain_restore_commands(stored ? *stored : job.artifact(), r.info.dir);
  report.summary +=
      fmt::format("\n  to finish by hand: gate rollback {} --only {} --yes{}", r.id(),
                  job.only_flag(), r.request.safety_backup ? "" : " --no-safety-backup");
  if (!commands.empty()) {
    report.summary += "\n  or with plain tools (RESTORE.md in the set):";
    for (const auto &c : commands)
      report.summary += "\n    " + c;
  }
  return report;
}

// Phase 8: every target restored at once; each ends in a typed outcome.
std::vector<Timed<steps::RestoreOutcome>> restore_targets(Rollback &r, RunOutcome &out) {
  for (const auto &job : r.jobs)
    r.reporter.step_started("restore", "restore " + job->target());
  auto done = run_concurrently<steps::RestoreOutcome>(r.jobs.size(), [&](size_t i) {
    auto &job = *r.jobs[i];
    std::string label = "restore " + job.target();
    auto progress = [&](uint64_t bytes) {
      util::fault_point("rollback.mid-restore"); // inert unless a test set it (util/fault.hpp)
      r.reporter.step_progress(label, bytes, job.artifact().bytes());
    };
    return job.restore(r.manifest(), r.info.dir, progress);
  });
  nlohmann::json targets = nlohmann::json::array();
  for (size_t i = 0; i < r.jobs.size(); ++i) {
    auto report = restore_report(r, *r.jobs[i], done[i]);
    r.reporter.step_finished(report);
    out.steps.push_back(report);
    targets.push_back({{"target", r.jobs[i]->target()},
                       {"ok", done[i].value.ok()},
                       {"state", done[i].value.state_text},
                       {"detail", done[i].value.detail}});
  }
  out.rollback = {{"set", r.id()}, {"safety_snapshot", r.safety_id}, {"targets", targets}};
  return done;
}

// Phase 9: the verdict. Any target not restored, or restored but different,
// fails the rollback (ErrorKind::rollback_failed): a human must look.
void conclude(const Rollback &r, const std::vector<Timed<steps::RestoreOutcome>> &done,
              RunOutcome &out) {
  out.duration_ms = util::elapsed_ms(r.start);
  std::string before =
      r.safety_id.empty() ? std::string() : "; the data before is in set " + r.safety_id;
  std::vector<std::string> failed;
  for (size_t i = 0; i < done.size(); ++i)
    if (!done[i].value.ok()) failed.push_back(r.jobs[i]->target());
  bool swapped = std::any_of(r.jobs.begin(), r.jobs.end(),
                             [](const auto &job) { return job->swaps_in_standby(); });
  std::string undo_swaps = swapped ? "; undo the standby swaps with: gate rollback --undo" : "";
  if (util::cancel_requested() || !failed.empty()) {
    out.ok = false;
    out.exit_code = util::exit_code_for(util::ErrorKind::rollback_failed);
    out.reason = util::cancel_requested() ? "interrupted during the rollback"
                                          : "could not restore " + util::join(failed, ", ");
    if (!failed.empty())
      out.verdict = (util::cancel_requested()
                         ? "ROLLBACK INTERRUPTED: " + util::join(failed, ", ") + " not restored"
                         : "ROLLBACK FAILED for " + util::join(failed, ", ")) +
                    " — see each target's state above" + before;
    else // a restore or swap that had begun was let finish, and every one did
      out.verdict = fmt::format("ROLLBACK INTERRUPTED after every target was restored and "
                                "checked: set {} is in place{}{}",
                                r.id(), before, undo_swaps);
    return;
  }
  out.ok = true;
  out.exit_code = 0;
  if (!r.request.redirect.empty() && r.request.redirect.size() == r.jobs.size()) {
    std::vector<std::string> where;
    for (const auto &[name, dest] : r.request.redirect)
      where.push_back(name + " -> " + dest.string());
    out.verdict = fmt::format(
        "OK: restored set {} elsewhere ({}) and checked it; the live data was not touched", r.id(),
        util::join(where, ", "));
    return;
  }
  out.verdict =
      fmt::format("OK: rolled back to set {} (git commit {}) in {}; every target checked "
                  "against the manifest{}",
                  r.id(), short_commit(r.manifest()), util::human_duration_ms(out.duration_ms),
                  r.safety_id.empty() ? "" : "; undo with: gate rollback " + r.safety_id);
  out.verdict += undo_swaps;
}

// A rollback that stopped before it changed anything (or, for
// rollback_failed, part-way).
RunOutcome not_done(const Rollback &r, RunOutcome out, const util::Error &error) {
  out.ok = false;
  out.exit_code = util::exit_code_for(error.kind);
  out.reason = error.message;
  out.verdict = (error.kind == util::ErrorKind::rollback_failed ? "ROLLBACK FAILED: "
                                                                : "ROLLBACK NOT DONE: ") +
                error.message;
  out.duration_ms = util::elapsed_ms(r.start);
  return out;
}

} // namespace

RunOutcome rollback(const config::PipelineConfig &config, const RollbackRequest &request,
                    Reporter &reporter) {
  Rollback r{config, request, reporter, model::LocalSetStore(config.backup_root)};
  RunOutcome out;
  out.event = "rollback";
  if (auto found = find_set(r); !found) return not_done(r, out, found.error());
  out.set_id = r.id();
  out.set_dir = r.info.dir;
  out.git = r.manifest().git;
  for (auto phase : {resolve_jobs, check_set})
    if (auto ok = phase(r); !ok) return not_done(r, out, ok.error());
  show_plan(r);
  if (request.dry_run) {
    out.verdict = "dry run: nothing was changed";
    out.duration_ms = util::elapsed_ms(r.start);
    return out;
  }
  for (auto phase : {confirm_and_lock, fetch_remote_copy, prepare_targets, safety_snapshot})
    if (auto ok = phase(r); !ok) return not_done(r, out, ok.error());
  out.set_dir = r.info.dir;
  auto done = restore_targets(r, out);
  conclude(r, done, out);
  return out;
}

} // namespace gate::ops

#include "ops/rollback.hpp"

#include "model/backup_set.hpp"
#include "model/lock.hpp"
#include "model/manifest.hpp"
#include "model/record.hpp"
#include "model/restore_doc.hpp"
#include "ops/restore_plan.hpp"
#include "steps/postgres/backup.hpp"
#include "steps/postgres/restore.hpp"
#include "steps/verify/verify.hpp"
#include "steps/volume/backup.hpp"
#include "steps/volume/quiesce.hpp"
#include "steps/volume/restore.hpp"
#include "steps/volume/source.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <mutex>
#include <thread>

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

// One thing a rollback puts back.
struct RestoreItem {
  std::string target;
  bool database = false;
  const model::Artifact *artifact = nullptr;
  const config::DatabaseTarget *db = nullptr;
  const config::VolumeTarget *volume = nullptr;
  fs::path dest;              // volumes
  steps::VolumeSource source; // a named volume's engine, to stop and restart its users
  bool db_missing =
      false; // the database was dropped: nothing to snapshot, created before the restore
  std::string state = "untouched";
  std::string detail;
  std::string by_hand; // the command to finish by hand
  bool ok = false;
};

// Backs up the current state of everything the rollback will overwrite.
util::Result<std::string> safety_snapshot(const config::PipelineConfig &config,
                                          std::vector<RestoreItem> &items, Reporter &reporter) {
  model::LocalSetStore store(config.backup_root);
  model::Manifest base = base_manifest(config);
  TRY_ASSIGN(auto pending, model::PendingSet::create(store, "pre-rollback", base));
  steps::RunContext ctx{config, store};
  ctx.set = pending.get();
  ctx.open_set = [&]() -> util::Result<model::SetHandle *> { return pending.get(); };
  std::vector<config::DatabaseTarget> dbs;
  std::vector<config::VolumeTarget> vols;
  dbs.reserve(items.size());
  vols.reserve(items.size());
  std::vector<std::unique_ptr<steps::Step>> snapshot_steps;
  std::vector<std::string> names;
  for (auto &item : items) {
    if (item.database) {
      if (item.db_missing) continue; // nothing there to lose
      config::DatabaseTarget t = *item.db;
      t.formats = {config::DumpFormat::custom};
      t.globals = false;
      t.schema_only = false;
      t.min_size = 0;
      t.max_shrink.reset();
      dbs.push_back(t);
      snapshot_steps.push_back(
          std::make_unique<steps::PostgresBackupStep>(dbs.back(), steps::ReadBack::while_writing));
    } else {
      std::error_code ec;
      if (!fs::exists(item.dest, ec)) continue; // nothing there to lose
      config::VolumeTarget t = item.volume ? *item.volume : config::VolumeTarget{};
      t.name = item.target;
      t.volume.clear();
      t.path = item.dest;
      t.allow_empty = true;
      t.exclude.clear();
      t.quiesce = config::Quiesce::none;
      vols.push_back(t);
      snapshot_steps.push_back(
          std::make_unique<steps::VolumeBackupStep>(vols.back(), steps::ReadBack::while_writing));
    }
    names.push_back(item.target);
  }
  // Every target at once, as a backup stage would.
  std::vector<util::Result<steps::StepResult>> results(snapshot_steps.size(), steps::StepResult{});
  std::vector<long long> ms(snapshot_steps.size());
  ctx.compression_threads =
      static_cast<int>(std::max<size_t>(1, std::max(1u, std::thread::hardware_concurrency()) /
                                               std::max<size_t>(1, snapshot_steps.size())));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < snapshot_steps.size(); ++i) {
    reporter.step_started("safety snapshot", snapshot_steps[i]->label());
    threads.emplace_back([&, i] {
      auto start = std::chrono::steady_clock::now();
      results[i] = snapshot_steps[i]->run(ctx);
      ms[i] = util::elapsed_ms(start);
    });
  }
  for (auto &t : threads)
    t.join();
  if (util::cancel_requested()) {
    pending->discard();
    return util::fail(util::ErrorKind::interrupted, "interrupted during the safety snapshot");
  }
  std::optional<std::string> problem;
  for (size_t i = 0; i < snapshot_steps.size(); ++i) {
    auto &r = results[i];
    StepReport report{"safety snapshot", snapshot_steps[i]->label()};
    report.duration_ms = ms[i];
    report.ok = r && r->outcome == steps::Outcome::passed;
    report.summary = !r ? r.error().message : report.ok ? r->summary : r->reason;
    report.bytes = r && report.ok ? r->bytes : 0;
    reporter.step_finished(report);
    if (!report.ok && !problem)
      problem = "the safety snapshot of '" + names[i] + "' failed: " + report.summary;
  }
  if (problem) {
    pending->mark_failed(*problem);
    return util::fail(*problem);
  }
  steps::VerifyStep verify("all", model::VerifyLevel::quick);
  if (pending->manifest().artifacts.empty()) {
    pending->discard();
    return std::string();
  }
  TRY_ASSIGN(auto v,
             verify.verify_set(ctx, *pending, true)); // what was not read back while written
  if (v.outcome == steps::Outcome::failed) {
    pending->mark_failed(v.reason);
    return util::fail("the safety snapshot failed verification: " + v.reason);
  }
  TRY(pending->seal());
  return pending->id();
}

void restore_item(const config::PipelineConfig &config, const model::Manifest &m,
                  const fs::path &set_dir, RestoreItem &item, Reporter &reporter) {
  std::string label = "restore " + item.target;
  auto progress = [&](uint64_t done) {
    reporter.step_progress(label, done, item.artifact->bytes());
  };
  if (item.database) {
    auto r = steps::restore_database(config, *item.db, m, set_dir, progress);
    if (r) {
      item.ok = true;
      item.state = "restored";
      item.detail = fmt::format("from {}; tables and row counts match the manifest{}", r->used,
                                r->note.empty() ? "" : " (" + r->note + ")");
    } else {
      item.state = item.db->mode == config::RestoreMode::recreate
                       ? "unchanged (the new copy was dropped)"
                       : "unchanged (the restore transaction rolled back)";
      if (r.error().message.find("but table") != std::string::npos ||
          r.error().message.find("restored from") == 0)
        item.state = "RESTORED BUT DIFFERENT from the manifest";
      item.detail = r.error().message;
    }
  } else {
    // A named volume's users are stopped for the swap and started again afterwards.
    std::unique_ptr<steps::Quiescer> quiet;
    if (item.source.engine) {
      auto q = steps::Quiescer::begin(item.source.engine, item.source.volume, config::Quiesce::stop,
                                      item.volume ? item.volume->stop_timeout
                                                  : std::chrono::seconds(30));
      if (!q) {
        item.state = "unchanged (wholly old)";
        item.detail = q.error().message;
        return;
      }
      quiet = std::move(*q);
    }
    auto r = steps::restore_volume(*item.artifact, set_dir, item.dest, m.id, progress);
    if (quiet)
      if (auto resumed = quiet->resume(); !resumed) {
        item.state = r ? "restored, but its containers did not start" : "unchanged (wholly old)";
        item.detail = resumed.error().message;
        return;
      }
    if (r) {
      item.ok = true;
      item.state = "restored";
      item.detail =
          fmt::format("{} entries, {}; matches the manifest{}", r->entries,
                      util::human_bytes(r->bytes), r->note.empty() ? "" : " (" + r->note + ")");
    } else {
      item.state = "unchanged (wholly old)";
      item.detail = r.error().message;
    }
  }
}

std::string list_of(const std::vector<std::string> &names) {
  constexpr size_t k_shown = 8;
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), k_shown));
  std::string out = util::join(shown, ", ");
  if (names.size() > k_shown) out += fmt::format(" and {} more", names.size() - k_shown);
  return out;
}

// The plan lines of one database: what its tables become, and how long.
void plan_database(const config::PipelineConfig &config, const model::Manifest &m,
                   const RestoreItem &item, Reporter &reporter) {
  if (item.db_missing)
    reporter.plan_line("  database " + item.target +
                       " does not exist (dropped?): it will be created empty and restored");
  auto prediction = ops::predicted_restore(m, *item.artifact);
  reporter.plan_line(fmt::format(
      "  replace database {} ({}) with {} ({}, {} mode); restore {}", item.target,
      util::sanitize_url(item.db->url.value_or_empty()), item.artifact->path,
      util::human_bytes(item.artifact->bytes()),
      item.db->mode == config::RestoreMode::recreate ? "recreate" : "clean",
      prediction
          ? fmt::format("about {} ({})", util::human_duration_ms(prediction->ms), prediction->basis)
          : "time cannot be predicted: no deep verify measured it (`gate verify " + m.id +
                " --deep` does)"));
  if (item.db_missing) return;
  auto changes = ops::database_changes(config, *item.db, *item.artifact);
  if (!changes) {
    reporter.plan_line("    (the live tables could not be read: " + changes.error().message + ")");
    return;
  }
  reporter.plan_line(fmt::format("    {} table(s) get their rows from the set", changes->replaced));
  if (!changes->created.empty())
    reporter.plan_line("    tables dropped since the backup will be created again: " +
                       list_of(changes->created));
  if (!changes->dropped.empty() && item.db->mode == config::RestoreMode::clean)
    reporter.plan_line("  tables created since the backup will be dropped from " + item.target +
                       ": " + list_of(changes->dropped));
  else if (!changes->dropped.empty())
    reporter.plan_line("  tables created since the backup are not in the new database " +
                       item.target + ": " + list_of(changes->dropped));
}

// The plan lines of one directory: what happens to its entries, and how long.
void plan_directory(const model::Manifest &m, const RestoreItem &item, Reporter &reporter) {
  auto prediction = ops::predicted_restore(m, *item.artifact);
  reporter.plan_line(fmt::format(
      "  replace directory {} with {} ({} entries, {}); restore {}", item.dest.string(),
      item.artifact->path, item.artifact->details.value("entries", uint64_t{0}),
      util::human_bytes(item.artifact->details.value("content_bytes", uint64_t{0})),
      prediction
          ? fmt::format("about {} ({})", util::human_duration_ms(prediction->ms), prediction->basis)
          : std::string("time cannot be predicted: nothing measured it")));
  auto changes = ops::directory_changes(item.dest, *item.artifact);
  if (!changes.exists) {
    reporter.plan_line("    the directory does not exist: it will be created");
    return;
  }
  reporter.plan_line(
      fmt::format("    its {} entries now are replaced by the set's; entries the set does not hold "
                  "are removed",
                  changes.live_entries - changes.kept));
  auto patterns = item.artifact->details.value("exclude", std::vector<std::string>{});
  if (!patterns.empty())
    reporter.plan_line(
        fmt::format("    kept as they are (the set does not hold them): {} path(s) matching {}",
                    changes.kept, util::join(patterns, ", ")));
}

// The whole plan: per target what changes, the safety snapshot, and the
// time predicted from what this set measured (targets restore in parallel).
void print_plan(const config::PipelineConfig &config, const model::Manifest &m,
                const std::vector<RestoreItem> &items, bool safety_backup, Reporter &reporter) {
  long long restore_ms = 0, snapshot_ms = 0;
  bool known = true;
  for (const auto &item : items) {
    if (item.database)
      plan_database(config, m, item, reporter);
    else
      plan_directory(m, item, reporter);
    auto p = ops::predicted_restore(m, *item.artifact);
    known = known && p.has_value();
    restore_ms = std::max(restore_ms, p ? p->ms : 0);
    std::error_code ec;
    bool replaced = item.database ? !item.db_missing : fs::exists(item.dest, ec);
    if (safety_backup && replaced) {
      auto s = ops::predicted_snapshot_ms(*item.artifact);
      known = known && s.has_value();
      snapshot_ms = std::max(snapshot_ms, s.value_or(0));
    }
  }
  bool anything_to_snapshot = std::any_of(items.begin(), items.end(), [](const RestoreItem &i) {
    std::error_code ec;
    return i.database ? !i.db_missing : fs::exists(i.dest, ec);
  });
  if (!anything_to_snapshot)
    reporter.plan_line("  nothing is replaced: every destination is new");
  else if (safety_backup)
    reporter.plan_line(fmt::format(
        "  first: a safety snapshot (pre-rollback set) of everything replaced, about {} "
        "(as long as this set's backup took)",
        util::human_duration_ms(snapshot_ms)));
  else
    reporter.plan_line("  no safety snapshot (--no-safety-backup): the current data will be lost");
  if (known)
    reporter.plan_line(fmt::format("predicted rollback time: about {}",
                                   util::human_duration_ms(snapshot_ms + restore_ms)));
  else
    reporter.plan_line(fmt::format(
        "predicted rollback time: at least {}; not every step was measured (a deep verify "
        "measures a database's restore)",
        util::human_duration_ms(snapshot_ms + restore_ms)));
}

// A set the rollback refused is marked failed as `gate verify` marks it, so
// `gate list` stops offering it. Renaming a set needs the root's lock.
void mark_refused_set(const config::PipelineConfig &config, const RollbackRequest &request,
                      model::StoredSet &set, const std::string &reason) {
  std::optional<model::RootLock> lock;
  if (!request.lock_held) {
    auto l = model::RootLock::acquire(config.backup_root, config.lock_wait, request.command_line);
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

} // namespace

RunOutcome rollback(const config::PipelineConfig &config, const RollbackRequest &request,
                    Reporter &reporter) {
  RunOutcome out;
  out.event = "rollback";
  auto start = std::chrono::steady_clock::now();
  auto fail_with = [&](int code, const std::string &reason) {
    out.ok = false;
    out.exit_code = code;
    out.reason = reason;
    out.verdict = (code == 4 ? "ROLLBACK FAILED: " : "ROLLBACK NOT DONE: ") + reason;
    out.duration_ms = util::elapsed_ms(start);
    return out;
  };

  std::string id = request.set_id;
  if (id.empty()) {
    auto last = resolve_last_set(config);
    if (!last) return fail_with(1, last.error().message);
    id = *last;
  }
  model::LocalSetStore store(config.backup_root);
  auto info = store.find(id);
  if (!info) return fail_with(1, info.error().message);
  if (info->failed || !info->manifest)
    return fail_with(1, "set '" + id + "' is not usable (" +
                            (info->manifest ? info->manifest->failure : info->problem) + ")");
  const model::Manifest &m = *info->manifest;
  out.set_id = id;
  out.set_dir = info->dir;
  out.git = m.git;

  // Build the list of what is put back.
  std::vector<RestoreItem> items;
  std::vector<std::string> not_restored;
  std::set<std::string> seen;
  for (const auto &a : m.artifacts) {
    if (a.kind == "globals") {
      if (request.only == RollbackOnly::volumes) continue;
      not_restored.push_back(fmt::format(
          "{}: roles and tablespaces are not restored automatically; see RESTORE.md", a.path));
      continue;
    }
    if (seen.count(a.target)) continue;
    RestoreItem item;
    item.target = a.target;
    if (a.kind == "database") {
      if (request.only == RollbackOnly::volumes) continue;
      auto candidates = steps::restore_candidates(m, a.target);
      if (candidates.empty()) continue;
      item.database = true;
      item.artifact = candidates.front();
      item.db = config.find_database(a.target);
      if (!item.db)
        return fail_with(1, "database '" + a.target + "' is in the set but not in " +
                                config.file.string() + ": gate needs its url to restore it");
    } else if (a.kind == "volume") {
      if (request.only == RollbackOnly::databases) continue;
      item.artifact = &a;
      item.volume = config.find_volume(a.target);
      if (auto it = request.redirect.find(a.target); it != request.redirect.end()) {
        item.dest = fs::absolute(it->second);
      } else if (item.volume) {
        // A removed named volume is created only once the rollback is confirmed and verified.
        auto source = steps::resolve_volume_for_restore(
            config, *item.volume, a.details.value("source_facts", nlohmann::json::object()), false);
        if (!source) return fail_with(1, source.error().message + "; nothing was changed");
        item.source = *source;
        item.dest = source->missing
                        ? fs::path("(named volume " + item.volume->volume + ", to be created)")
                        : source->path;
      } else {
        return fail_with(1, "volume '" + a.target + "' is in the set but not in " +
                                config.file.string() + "; restore it elsewhere with --target " +
                                a.target + "=DIR");
      }
    } else {
      continue;
    }
    seen.insert(a.target);
    items.push_back(std::move(item));
  }
  for (const auto &[name, dest] : request.redirect)
    if (!seen.count(name))
      return fail_with(2, "--target " + name + ": the set holds no volume named '" + name + "'");
  if (items.empty())
    return fail_with(1, "set '" + id + "' holds nothing to restore with these options");

  // 1. The set must still be what was verified (checksums at least).
  {
    steps::RunContext ctx{config, store};
    model::StoredSet stored(*info);
    ctx.set = &stored;
    reporter.step_started("check set", "verify " + id + " (quick)");
    auto vstart = std::chrono::steady_clock::now();
    steps::VerifyStep verify("all", model::VerifyLevel::quick);
    auto v = verify.verify_set(ctx, stored, false);
    StepReport report{"check set", "verify " + id + " (quick)"};
    report.duration_ms = util::elapsed_ms(vstart);
    report.ok = v && v->outcome == steps::Outcome::passed;
    report.summary = !v ? v.error().message : report.ok ? v->summary : v->reason;
    reporter.step_finished(report);
    if (util::cancel_requested())
      return fail_with(util::exit_code_for(util::ErrorKind::interrupted),
                       "interrupted while checking set '" + id + "'; nothing was changed");
    if (!report.ok) {
      if (v) mark_refused_set(config, request, stored, report.summary);
      return fail_with(1, "set '" + id +
                              "' failed verification, nothing was changed: " + report.summary);
    }
  }

  // 2. The plan.
  std::string commit = m.git.is_object() && m.git.value("commit", nlohmann::json()).is_string()
                           ? m.git["commit"].get<std::string>().substr(0, 12)
                           : "none";
  reporter.plan_line(
      fmt::format("rollback from set {} (created {}, git commit {}{})", id, m.created_at, commit,
                  m.git.is_object() && m.git.value("branch", nlohmann::json()).is_string()
                      ? " on " + m.git["branch"].get<std::string>()
                      : ""));
  for (auto &item : items)
    if (item.database)
      if (auto exists = steps::database_exists(config, *item.db); exists && !*exists)
        item.db_missing = true;
  print_plan(config, m, items, request.safety_backup, reporter);
  for (const auto &line : not_restored)
    reporter.plan_line("  not restored: " + line);
  if (request.dry_run) {
    out.verdict = "dry run: nothing was changed";
    out.duration_ms = util::elapsed_ms(start);
    return out;
  }
  if (request.confirm && !request.confirm()) return fail_with(1, "cancelled; nothing was changed");

  // The lock is taken only now, so a prompt left open blocks nobody; the set
  // must still be there (a prune may have run meanwhile), and every restore
  // checks its file's SHA-256 again while it reads it.
  std::optional<model::RootLock> lock;
  if (!request.lock_held) {
    auto l = model::RootLock::acquire(config.backup_root, config.lock_wait, request.command_line);
    if (!l) return fail_with(util::exit_code_for(l.error().kind), l.error().message);
    lock.emplace(std::move(*l));
    if (auto again = store.find(id); !again || again->failed)
      return fail_with(
          1, "set '" + id +
                 "' disappeared or failed while waiting for confirmation; nothing was changed");
  }

  // A recreate the role may not do is refused before anything changes.
  for (auto &item : items)
    if (item.database)
      if (auto allowed = steps::check_rollback_privileges(config, *item.db); !allowed)
        return fail_with(1, allowed.error().message + "\nnothing was changed");
  // Dropped databases (clean mode; recreate makes its own) and removed named
  // volumes come back empty to restore into.
  for (auto &item : items)
    if (item.db_missing && item.db->mode == config::RestoreMode::clean)
      if (auto created = steps::create_missing_database(config, *item.db, *item.artifact); !created)
        return fail_with(1, created.error().message + "; nothing was changed");
  for (auto &item : items)
    if (item.source.missing) {
      auto created = steps::resolve_volume_for_restore(
          config, *item.volume,
          item.artifact->details.value("source_facts", nlohmann::json::object()), true);
      if (!created) return fail_with(1, created.error().message + "; nothing was changed");
      item.source = *created;
      item.dest = created->path;
    }

  // 3. The safety snapshot, before anything changes.
  std::string safety_id;
  if (request.safety_backup) {
    auto snap = safety_snapshot(config, items, reporter);
    if (!snap)
      return fail_with(util::exit_code_for(snap.error().kind),
                       snap.error().message + "; nothing was changed");
    safety_id = *snap;
    if (!safety_id.empty())
      reporter.event("safety_snapshot",
                     fmt::format("safety snapshot {} holds the data as it was before", safety_id));
  } else {
    util::log_warn(
        "rollback without a safety snapshot (--no-safety-backup): the data replaced is not kept");
  }

  // 4. Restore every target, concurrently.
  for (const auto &item : items)
    reporter.step_started("restore", "restore " + item.target);
  std::vector<std::thread> threads;
  std::vector<long long> ms(items.size());
  for (size_t i = 0; i < items.size(); ++i)
    threads.emplace_back([&, i] {
      auto s = std::chrono::steady_clock::now();
      restore_item(config, m, info->dir, items[i], reporter);
      ms[i] = util::elapsed_ms(s);
    });
  for (auto &t : threads)
    t.join();

  bool all_ok = true;
  nlohmann::json targets = nlohmann::json::array();
  for (size_t i = 0; i < items.size(); ++i) {
    auto &item = items[i];
    StepReport report{"restore", "restore " + item.target};
    report.ok = item.ok;
    report.duration_ms = ms[i];
    report.summary = item.state + ": " + item.detail;
    if (!item.ok) {
      all_ok = false;
      auto commands = model::plain_restore_commands(*item.artifact, info->dir);
      std::string hint =
          fmt::format("gate rollback {} --only {} --yes{}", id, item.database ? "db" : "volumes",
                      request.safety_backup ? "" : " --no-safety-backup");
      report.summary += "\n  to finish by hand: " + hint;
      if (!commands.empty()) {
        report.summary += "\n  or with plain tools (RESTORE.md in the set):";
        for (const auto &c : commands)
          report.summary += "\n    " + c;
      }
    }
    reporter.step_finished(report);
    out.steps.push_back(report);
    targets.push_back(
        {{"target", item.target}, {"ok", item.ok}, {"state", item.state}, {"detail", item.detail}});
  }
  out.rollback = {{"set", id}, {"safety_snapshot", safety_id}, {"targets", targets}};
  out.duration_ms = util::elapsed_ms(start);
  if (util::cancel_requested()) {
    out.ok = false;
    out.exit_code = 4;
    out.reason = "interrupted during the rollback";
    out.verdict = "ROLLBACK INTERRUPTED: see each target's state above" +
                  (safety_id.empty() ? std::string() : "; the data before is in set " + safety_id);
    return out;
  }
  if (!all_ok) {
    out.ok = false;
    out.exit_code = 4;
    std::string failed;
    for (const auto &item : items)
      if (!item.ok) failed += (failed.empty() ? "" : ", ") + item.target;
    out.reason = "could not restore " + failed;
    out.verdict = "ROLLBACK FAILED for " + failed + " — see each target's state above" +
                  (safety_id.empty() ? std::string() : "; the data before is in set " + safety_id);
    return out;
  }
  out.ok = true;
  out.exit_code = 0;
  if (!request.redirect.empty() && request.redirect.size() == items.size()) {
    std::string where;
    for (const auto &[name, dest] : request.redirect)
      where += (where.empty() ? "" : ", ") + name + " -> " + dest.string();
    out.verdict = fmt::format(
        "OK: restored set {} elsewhere ({}) and checked it; the live data was not touched", id,
        where);
    return out;
  }
  out.verdict = fmt::format("OK: rolled back to set {} (git commit {}) in {}; every target checked "
                            "against the manifest{}",
                            id, commit, util::human_duration_ms(out.duration_ms),
                            safety_id.empty() ? "" : "; undo with: gate rollback " + safety_id);
  return out;
}

} // namespace gate::ops

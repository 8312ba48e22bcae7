#include "ops/plan.hpp"

#include "steps/check/check.hpp"
#include "steps/record/record.hpp"
#include "steps/registry.hpp"
#include "steps/verify/rto_budget.hpp"
#include "steps/verify/verify.hpp"
#include "util/text.hpp"

namespace gate::ops {

namespace {

PlannedStage default_preflight() {
  PlannedStage s{"preflight", false, {}};
  s.steps.push_back(std::make_unique<steps::CheckStep>(steps::CheckKind::connections, "", "", ""));
  s.steps.push_back(std::make_unique<steps::CheckStep>(steps::CheckKind::disk_space, "", "", ""));
  return s;
}

// Every target at once, each read back as soon as it is written.
util::Result<PlannedStage> backup_stage(const config::PipelineConfig &config,
                                        const std::vector<std::string> &targets) {
  PlannedStage s{"backup", true, {}};
  for (const auto &t : targets) {
    TRY_ASSIGN(auto step, steps::make_backup_step(t, config, steps::ReadBack::while_writing));
    s.steps.push_back(
        std::make_unique<steps::VerifiedBackupStep>(std::move(step), model::VerifyLevel::full));
  }
  return s;
}

// Whatever is not verified yet (nothing, normally) is read back here.
PlannedStage verify_stage() {
  PlannedStage s{"verify", false, {}};
  s.steps.push_back(std::make_unique<steps::VerifyStep>("all", model::VerifyLevel::full, true));
  return s;
}

// Backups and verifications come before the set is sealed (at a record step
// or before the first exec step); a rolling-back exec step needs a backup
// before it.
util::Result<void> validate_order(const Plan &plan, const config::PipelineConfig &config) {
  bool sealed = false, backed_up = false;
  for (const auto &stage : plan) {
    std::string where =
        stage.where.line ? stage.where.to_string() + ": " : config.file.string() + ": ";
    for (const auto &step : stage.steps) {
      auto category = step->category();
      if ((category == steps::StepCategory::backup || category == steps::StepCategory::verify) &&
          sealed)
        return util::fail(
            util::ErrorKind::config,
            where + "stage '" + stage.name + "': '" + step->label() +
                "' comes after the set was sealed by a record or exec step; move it before them");
      if (category == steps::StepCategory::backup) backed_up = true;
      if (step->needs_earlier_backup() && !backed_up)
        return util::fail(util::ErrorKind::config,
                          where + "stage '" + stage.name + "': '" + step->label() +
                              "' rolls back on failure, but no backup step comes before it");
    }
    for (const auto &step : stage.steps)
      if (backed_up && (step->category() == steps::StepCategory::exec ||
                        step->category() == steps::StepCategory::record))
        sealed = true; // an exec step before any backup (a pre-check) seals nothing
  }
  return {};
}

// With an rto_budget, its check comes right after the last backup or
// verification (before the set is sealed): appended to that stage, or in a
// stage of its own after it when that one runs its steps side by side.
void add_rto_budget_check(Plan &plan, const config::PipelineConfig &config) {
  if (!steps::has_rto_budget(config)) return;
  size_t last = plan.size();
  for (size_t i = 0; i < plan.size(); ++i)
    for (const auto &step : plan[i].steps)
      if (step->category() == steps::StepCategory::backup ||
          step->category() == steps::StepCategory::verify)
        last = i;
  if (last == plan.size()) return; // no backup: no set to predict
  if (!plan[last].parallel) {
    plan[last].steps.push_back(std::make_unique<steps::RtoBudgetStep>());
    return;
  }
  PlannedStage budget{"rto_budget", false, {}, plan[last].where};
  budget.steps.push_back(std::make_unique<steps::RtoBudgetStep>());
  plan.insert(plan.begin() + static_cast<long>(last) + 1, std::move(budget));
}

} // namespace

util::Result<Plan> build_pipeline_plan(const config::PipelineConfig &config,
                                       const std::vector<std::string> &only) {
  Plan plan;
  if (config.stages.empty()) {
    plan.push_back(default_preflight());
    TRY_ASSIGN(auto backup, backup_stage(config, config.target_names()));
    plan.push_back(std::move(backup));
    plan.push_back(verify_stage());
    PlannedStage record{"record", false, {}};
    record.steps.push_back(std::make_unique<steps::RecordStep>());
    plan.push_back(std::move(record));
  } else {
    for (const auto &stage : config.stages) {
      PlannedStage s{stage.name, stage.parallel, {}, stage.where};
      for (const auto &spec : stage.steps) {
        TRY_ASSIGN(auto made, steps::make_steps(spec, config));
        for (auto &step : made)
          s.steps.push_back(std::move(step));
      }
      plan.push_back(std::move(s));
    }
  }
  TRY(validate_order(plan, config));
  if (only.empty()) {
    add_rto_budget_check(plan, config);
    return plan;
  }
  std::vector<std::string> names;
  for (const auto &s : plan)
    names.push_back(s.name);
  for (const auto &wanted : only) {
    if (std::find(names.begin(), names.end(), wanted) != names.end()) continue;
    std::string message = "no stage '" + wanted + "' in " + config.file.string() + " (stages:";
    for (const auto &n : names)
      message += " " + n;
    message += ")";
    if (auto guess = util::closest_match(wanted, names))
      message += "; did you mean '" + *guess + "'?";
    return util::fail(util::ErrorKind::usage, message);
  }
  Plan kept;
  for (auto &s : plan)
    if (std::find(only.begin(), only.end(), s.name) != only.end()) kept.push_back(std::move(s));
  // A migration that rolls back needs this run's own backup.
  bool backed_up = false;
  for (const auto &s : kept)
    for (const auto &step : s.steps) {
      if (step->category() == steps::StepCategory::backup) backed_up = true;
      if (step->needs_earlier_backup() && !backed_up)
        return util::fail(util::ErrorKind::usage, "stage '" + s.name + "': '" + step->label() +
                                                      "' rolls back on failure, but the stages "
                                                      "selected with --stage make no backup first");
    }
  add_rto_budget_check(kept, config);
  return kept;
}

util::Result<Plan> build_backup_plan(const config::PipelineConfig &config,
                                     const std::vector<std::string> &targets) {
  Plan plan;
  auto names = targets.empty() ? config.target_names() : targets;
  auto backup = backup_stage(config, names);
  if (!backup) return util::fail(util::ErrorKind::usage, backup.error().message);
  plan.push_back(std::move(*backup));
  plan.push_back(verify_stage());
  add_rto_budget_check(plan, config);
  return plan;
}

std::vector<std::string> planned_targets(const Plan &plan) {
  std::vector<std::string> out;
  for (const auto &stage : plan)
    for (const auto &step : stage.steps)
      for (const auto &t : step->targets())
        out.push_back(t);
  return out;
}

} // namespace gate::ops

#include "steps/verify/rto_budget.hpp"

#include "steps/registry.hpp"
#include "steps/restore_plan.hpp"
#include "steps/verify/findings.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::steps {

namespace {

using Budget = std::optional<std::chrono::milliseconds>;

// A target's own budget, and where pipeline.yml sets it.
struct TargetBudget {
  Budget budget;
  std::string where;
};

TargetBudget budget_of(const config::PipelineConfig &config, const std::string &target) {
  if (const auto *db = config.find_database(target)) return {db->rto_budget, db->where.to_string()};
  if (const auto *v = config.find_volume(target)) return {v->rto_budget, v->where.to_string()};
  return {};
}

std::string human(std::chrono::milliseconds d) {
  return util::human_duration_ms(d.count());
}

// The artifacts a budget applies to whose restore time is not measured yet.
std::vector<const model::Artifact *> unmeasured(const config::PipelineConfig &config,
                                                const model::Manifest &m) {
  std::vector<const model::Artifact *> out;
  for (const auto *a : restored_artifacts(m)) {
    if (!config.rto_budget && !budget_of(config, a->target).budget) continue;
    auto p = predicted_restore(m, *a);
    if (!p || !p->measured) out.push_back(a);
  }
  return out;
}

// Deep-verifies each artifact in `todo` so that its restore time is measured;
// a failed test restore fails the step as a verify would.
util::Result<std::optional<std::string>> measure(RunContext &ctx,
                                                 const std::vector<const model::Artifact *> &todo) {
  for (const auto *a : todo) {
    util::log_info("rto_budget: {}'s restore time was never measured; a deep verify measures it",
                   a->target);
    auto start = std::chrono::steady_clock::now();
    TRY_ASSIGN(Finding f, verify_artifact(*a, ctx.set->dir(), model::VerifyLevel::deep, ctx, {}));
    ctx.set->add_verification(
        verification_of(a->path, model::VerifyLevel::deep, f, util::elapsed_ms(start)));
    if (!f.ok) return std::optional<std::string>(a->path + " (deep): " + f.reason);
  }
  return std::optional<std::string>();
}

std::string standby_hint(const TargetPrediction &t) {
  if (t.restore && t.restore->swap) return "";
  return fmt::format("\nhint: set standby: true on {} {}: its rollback becomes a rename of a "
                     "verified copy, seconds whatever its size",
                     t.kind, t.target);
}

// The first budget the prediction exceeds, said for people; empty when all hold.
std::string over_budget(const config::PipelineConfig &config, const RollbackPrediction &p) {
  for (const auto &t : p.targets) {
    auto [budget, where] = budget_of(config, t.target);
    if (budget && t.ms() > budget->count())
      return fmt::format("the predicted rollback of {} {} takes longer than its rto_budget of "
                         "{} ({}): {}{}",
                         t.kind, t.target, human(*budget), where, describe(t), standby_hint(t));
  }
  if (config.rto_budget && p.ms > config.rto_budget->count()) {
    const TargetPrediction *dominant = nullptr;
    for (const auto &t : p.targets)
      if (t.target == p.dominant) dominant = &t;
    return fmt::format("the predicted rollback time, about {}, is longer than rto_budget {} "
                       "({}); it is dominated by {}{}",
                       util::human_duration_ms(p.ms), human(*config.rto_budget),
                       config.file.string(), dominant ? describe(*dominant) : p.dominant,
                       dominant ? standby_hint(*dominant) : "");
  }
  return {};
}

} // namespace

bool has_rto_budget(const config::PipelineConfig &config) {
  if (config.rto_budget) return true;
  for (const auto &d : config.databases)
    if (d.rto_budget) return true;
  for (const auto &v : config.volumes)
    if (v.rto_budget) return true;
  return false;
}

std::string RtoBudgetStep::plan(const RunContext &ctx) const {
  std::string out = "predict the rollback time from what the set measured (a deep verify measures "
                    "what was not) and fail when it is longer than";
  if (ctx.config.rto_budget) out += " rto_budget " + human(*ctx.config.rto_budget);
  for (const auto &name : ctx.config.target_names())
    if (auto b = budget_of(ctx.config, name).budget) out += fmt::format(" {}: {}", name, human(*b));
  return out;
}

util::Result<StepResult> RtoBudgetStep::run(RunContext &ctx) {
  if (!ctx.set) return failed("there is no backup set whose rollback time could be predicted");
  TRY_ASSIGN(auto failed_restore, measure(ctx, unmeasured(ctx.config, ctx.set->manifest())));
  if (failed_restore) return failed(*failed_restore);
  auto prediction = predict_rollback(ctx.set->manifest());
  for (const auto &t : prediction.targets)
    if (!t.measured() && (ctx.config.rto_budget || budget_of(ctx.config, t.target).budget))
      return failed(fmt::format("the rollback time of {} {} cannot be predicted from a "
                                "measurement, so rto_budget cannot be checked: {}",
                                t.kind, t.target, describe(t)));
  if (std::string over = over_budget(ctx.config, prediction); !over.empty()) return failed(over);
  return passed(fmt::format("predicted rollback time about {}, within the budget",
                            util::human_duration_ms(prediction.ms)));
}

} // namespace gate::steps

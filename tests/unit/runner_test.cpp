// The stage loop with stand-in steps: order, stop on the first failure,
// parallel stages, and the hook before each stage.
#include "ops/runner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

using namespace gate;

namespace {

struct Journal {
  std::mutex mutex;
  std::vector<std::string> entries;
  void add(const std::string &e) {
    std::lock_guard lock(mutex);
    entries.push_back(e);
  }
};

class FakeStep : public steps::Step {
public:
  FakeStep(std::string name, Journal &journal, steps::Outcome outcome = steps::Outcome::passed,
           bool error = false)
      : m_name(std::move(name)), m_journal(journal), m_outcome(outcome), m_error(error) {}
  std::string label() const override { return m_name; }
  steps::StepCategory category() const override { return steps::StepCategory::check; }
  util::Result<void> check(const steps::RunContext &) const override { return {}; }
  util::Result<steps::StepResult> run(steps::RunContext &) override {
    m_journal.add(m_name);
    if (m_error) return util::fail("could not decide");
    if (m_outcome == steps::Outcome::failed) return steps::failed(m_name + " said no");
    return steps::passed(m_name + " done", 10);
  }
  std::string plan(const steps::RunContext &) const override { return m_name; }

private:
  std::string m_name;
  Journal &m_journal;
  steps::Outcome m_outcome;
  bool m_error;
};

struct Fixture {
  config::PipelineConfig config;
  model::LocalSetStore store{"/nonexistent"};
  steps::RunContext ctx{config, store};
  ops::Reporter reporter;
  Journal journal;

  ops::PlannedStage stage(const std::string &name, bool parallel,
                          std::vector<std::unique_ptr<steps::Step>> steps) {
    ops::PlannedStage s;
    s.name = name;
    s.parallel = parallel;
    s.steps = std::move(steps);
    return s;
  }
  std::unique_ptr<steps::Step> step(const std::string &name,
                                    steps::Outcome o = steps::Outcome::passed, bool error = false) {
    return std::make_unique<FakeStep>(name, journal, o, error);
  }
};

template <typename... S> std::vector<std::unique_ptr<steps::Step>> list(S... s) {
  std::vector<std::unique_ptr<steps::Step>> v;
  (v.push_back(std::move(s)), ...);
  return v;
}

} // namespace

TEST(Runner, RunsStagesAndStepsInOrder) {
  Fixture f;
  ops::Plan plan;
  plan.push_back(f.stage("one", false, list(f.step("a"), f.step("b"))));
  plan.push_back(f.stage("two", false, list(f.step("c"))));
  std::vector<std::string> hooks;
  auto r = ops::run_stages(plan, f.ctx, f.reporter,
                           [&](const ops::PlannedStage &s) -> util::Result<void> {
                             hooks.push_back(s.name);
                             return {};
                           });
  EXPECT_FALSE(r.failure);
  EXPECT_EQ(f.journal.entries, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(hooks, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(r.bytes, 30u);
  EXPECT_EQ(r.reports.size(), 3u);
}

TEST(Runner, TheFirstFailureStopsTheStageAndLaterStages) {
  Fixture f;
  ops::Plan plan;
  plan.push_back(
      f.stage("one", false, list(f.step("a"), f.step("b", steps::Outcome::failed), f.step("c"))));
  plan.push_back(f.stage("two", false, list(f.step("d"))));
  auto r = ops::run_stages(plan, f.ctx, f.reporter, nullptr);
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->kind, util::ErrorKind::failed);
  EXPECT_EQ(r.failed_stage, "one");
  EXPECT_EQ(r.failed_step, "b");
  EXPECT_EQ(f.journal.entries, (std::vector<std::string>{"a", "b"}));
}

TEST(Runner, AnErrorIsAFailureToo) {
  Fixture f;
  ops::Plan plan;
  plan.push_back(
      f.stage("one", false, list(f.step("a", steps::Outcome::passed, true), f.step("b"))));
  auto r = ops::run_stages(plan, f.ctx, f.reporter, nullptr);
  ASSERT_TRUE(r.failure);
  EXPECT_THAT(r.failure->message, ::testing::HasSubstr("could not decide"));
  EXPECT_EQ(f.journal.entries, (std::vector<std::string>{"a"}));
}

TEST(Runner, AParallelStageRunsEveryStepThenStops) {
  Fixture f;
  ops::Plan plan;
  plan.push_back(
      f.stage("backup", true, list(f.step("x", steps::Outcome::failed), f.step("y"), f.step("z"))));
  plan.push_back(f.stage("after", false, list(f.step("never"))));
  auto r = ops::run_stages(plan, f.ctx, f.reporter, nullptr);
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failed_step, "x");
  std::sort(f.journal.entries.begin(), f.journal.entries.end());
  EXPECT_EQ(f.journal.entries, (std::vector<std::string>{"x", "y", "z"}));
}

TEST(Runner, AFailingHookStopsBeforeTheStage) {
  Fixture f;
  ops::Plan plan;
  plan.push_back(f.stage("one", false, list(f.step("a"))));
  plan.push_back(f.stage("two", false, list(f.step("b"))));
  auto r = ops::run_stages(plan, f.ctx, f.reporter,
                           [](const ops::PlannedStage &s) -> util::Result<void> {
                             if (s.name == "two") return util::fail("not sealed");
                             return {};
                           });
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failed_stage, "two");
  EXPECT_EQ(f.journal.entries, (std::vector<std::string>{"a"}));
}

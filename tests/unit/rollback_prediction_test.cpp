// The rollback time predicted from a set: snapshots first, then restores,
// each side by side; a standby built from the set itself is a swap with no
// snapshot; a volume's backup time is an estimate, never a measurement.
#include "steps/restore_plan.hpp"

#include <gtest/gtest.h>

using namespace gate;

namespace {

model::Artifact artifact(const std::string &target, const std::string &kind,
                         const std::string &format, long long backup_ms) {
  model::Artifact a;
  a.target = target;
  a.kind = kind;
  a.format = format;
  a.path = (kind == "volume" ? "volumes/" : "databases/") + target + "." + format;
  a.details["duration_ms"] = backup_ms;
  return a;
}

model::Verification deep(const std::string &path, long long restore_ms) {
  model::Verification v;
  v.artifact = path;
  v.level = model::VerifyLevel::deep;
  v.ok = true;
  v.metrics["restore_ms"] = restore_ms;
  return v;
}

model::Manifest two_targets() {
  model::Manifest m;
  m.id = "pre-deployment-20261201_100000";
  m.artifacts.push_back(artifact("app", "database", "custom", 2000));
  m.artifacts.push_back(artifact("app", "database", "sql", 2500));
  m.artifacts.push_back(artifact("files", "volume", "tar", 3000));
  m.verifications.push_back(deep("databases/app.custom", 9000));
  return m;
}

} // namespace

TEST(RollbackPrediction, TheLongestSnapshotPlusTheLongestRestore) {
  auto p = steps::predict_rollback(two_targets());
  ASSERT_EQ(p.targets.size(), 2u); // the sql dump is not a second restore of app
  EXPECT_TRUE(p.known);
  EXPECT_FALSE(p.measured); // the volume's restore is only estimated from its backup
  EXPECT_EQ(p.ms, 3000 + 9000);
  EXPECT_EQ(p.dominant, "app");
  EXPECT_TRUE(p.targets[0].measured());
  EXPECT_EQ(p.targets[0].ms(), 2000 + 9000);
}

TEST(RollbackPrediction, AStandbyOfThisSetIsASwapWithoutASnapshot) {
  auto m = two_targets();
  m.artifacts[0].details["standby"] = {{"set_id", m.id}, {"swap_ms", 40}};
  auto p = steps::predict_rollback(m);
  EXPECT_TRUE(p.targets[0].restore->swap);
  EXPECT_EQ(p.targets[0].ms(), 40);
  EXPECT_EQ(p.ms, 3000 + 3000); // the volume's snapshot and restore now dominate
  EXPECT_EQ(p.dominant, "files");
  // A standby built from another set says nothing about this one.
  m.artifacts[0].details["standby"]["set_id"] = "pre-deployment-20261130_100000";
  EXPECT_FALSE(steps::predict_rollback(m).targets[0].restore->swap);
  // And the cold path can still be asked for.
  m.artifacts[0].details["standby"]["set_id"] = m.id;
  EXPECT_FALSE(steps::predicted_restore(m, m.artifacts[0], false)->swap);
}

TEST(RollbackPrediction, NothingMeasuredIsUnknown) {
  model::Manifest m;
  m.id = "x";
  m.artifacts.push_back(artifact("app", "database", "custom", 2000));
  auto p = steps::predict_rollback(m);
  EXPECT_FALSE(p.known);
  EXPECT_FALSE(p.measured);
  EXPECT_NE(steps::describe(p.targets[0]).find("never measured"), std::string::npos);
}

// rto_budget: the run predicts the rollback time to its own set from what
// the set measured, measures (by a deep verify) what was never measured, and
// fails at the verify stage, before anything is recorded, when a budget is
// exceeded; `gate show` and `gate status` print the prediction.
#include "integration/harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::string pipeline(const std::string &db, const std::string &top, const std::string &per_db) {
  return "project: shop\n" + top +
         "databases:\n  - name: app\n    url: " + PgServer::get().url(db) + "\n" + per_db;
}

nlohmann::json newest_manifest(const fs::path &root) {
  return nlohmann::json::parse(read_file(root / newest_set(root) / "manifest.json"));
}

bool has_measured_restore(const nlohmann::json &manifest) {
  for (const auto &v : manifest["verifications"])
    if (v.value("result", "") == "ok" && v["metrics"].contains("restore_ms")) return true;
  return false;
}

} // namespace

TEST(RtoBudget, AWithinBudgetRunMeasuresTheRestoreItNeverMeasuredAndShowsThePrediction) {
  PgServer::get().create_database("rto_ok");
  fill_sample_database("rto_ok", 200);
  TempDir t;
  // The default pipeline verifies fully, not deeply: without a budget nothing measures a restore.
  write_pipeline(t.path(), pipeline("rto_ok", "", ""));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  EXPECT_FALSE(has_measured_restore(newest_manifest(t / "backups")));

  write_pipeline(t.path(), pipeline("rto_ok", "rto_budget: 1h\n", "    rto_budget: 30m\n"));
  auto dry = run_gate({"run", "--dry-run"}, t.path());
  EXPECT_THAT(dry.all(), HasSubstr("check the rollback time budget"));
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("within the budget"));
  EXPECT_TRUE(has_measured_restore(newest_manifest(t / "backups")));

  auto show = run_gate({"show", "--last"}, t.path());
  EXPECT_THAT(show.out, HasSubstr("predicted rollback time: about"));
  EXPECT_THAT(show.out, HasSubstr("database app: about"));
  EXPECT_THAT(show.out, HasSubstr("measured by deep verify"));
  auto status = run_gate({"status"}, t.path());
  EXPECT_THAT(status.out, HasSubstr("predicted rollback time: about"));
}

TEST(RtoBudget, AnExceededBudgetFailsTheRunNamingTheTargetAndLeavesTheRecordAlone) {
  PgServer::get().create_database("rto_over");
  fill_sample_database("rto_over", 200);
  TempDir t;
  write_pipeline(t.path(), pipeline("rto_over", "", ""));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string record = read_file(t / ".last-deployment-backup");

  // A budget no restore can meet: the database's own...
  write_pipeline(t.path(), pipeline("rto_over", "", "    rto_budget: 1ms\n"));
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("rto_budget of 1 ms"));
  EXPECT_THAT(r.all(), HasSubstr("database app"));
  EXPECT_THAT(r.all(), HasSubstr("measured by deep verify"));
  EXPECT_THAT(r.all(), HasSubstr("hint: set standby: true on database app"));
  EXPECT_EQ(read_file(t / ".last-deployment-backup"), record);

  // ... and the whole rollback's, at the top level.
  write_pipeline(t.path(), pipeline("rto_over", "rto_budget: 1ms\n", ""));
  r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("is longer than rto_budget 1 ms"));
  EXPECT_THAT(r.all(), HasSubstr("dominated by database app"));
  EXPECT_EQ(read_file(t / ".last-deployment-backup"), record);
}

TEST(RtoBudget, ABadBudgetIsAnErrorNamingTheLine) {
  TempDir t;
  write_pipeline(t.path(), pipeline("postgres", "", "    rto_budget: soon\n"));
  auto r = run_gate({"check"}, t.path());
  EXPECT_EQ(r.exit_code, 2) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("pipeline.yml:6:"));
  EXPECT_THAT(r.all(), HasSubstr("soon"));
}

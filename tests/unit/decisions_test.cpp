// The decisions gate makes from what is on disk, without PostgreSQL: which
// set --last means, which sets max_shrink compares with, which sets prune
// removes, and what a rollback of a directory plans from a manifest and the
// live directory.
#include "model/local_store.hpp"
#include "model/record.hpp"
#include "ops/prune.hpp"
#include "ops/rollback.hpp"
#include "ops/run.hpp"
#include "steps/registry.hpp"
#include "util/fs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

using namespace gate;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

struct DecisionsRoot {
  fs::path path = fs::temp_directory_path() / ("gate-unit-decide-" + std::to_string(::getpid()));
  DecisionsRoot() { fs::create_directories(path / "backups"); }
  ~DecisionsRoot() { fs::remove_all(path); }
};

// A committed set with one volume artifact, verified at `level`.
void add_set(const fs::path &root, const std::string &id, const std::string &kind,
             const std::string &created, bool verified = true) {
  model::Manifest m;
  m.id = id;
  m.kind = kind;
  m.status = "complete";
  m.created_at = created;
  model::Artifact a;
  a.target = "files";
  a.kind = "volume";
  a.path = "volumes/files.tar";
  a.files.push_back({"volumes/files.tar", 3, "ab"});
  a.details = {{"entries", 2}, {"content_bytes", 3}, {"duration_ms", 1500}};
  m.artifacts.push_back(a);
  if (verified) m.verifications.push_back({"volumes/files.tar", model::VerifyLevel::full, true});
  fs::create_directories(root / id);
  ASSERT_TRUE(model::save_manifest(root / id, m));
}

config::PipelineConfig config_in(const DecisionsRoot &t) {
  config::PipelineConfig c;
  c.file = t.path / "pipeline.yml";
  c.base_dir = t.path;
  c.backup_root = t.path / "backups";
  c.record = t.path / ".last-deployment-backup";
  return c;
}

std::vector<std::string> ids_of(const std::vector<model::Manifest> &ms) {
  std::vector<std::string> out;
  for (const auto &m : ms)
    out.push_back(m.id);
  return out;
}

} // namespace

TEST(Decisions, LastMeansTheNewestSetButNeverASafetySnapshot) {
  DecisionsRoot t;
  auto config = config_in(t);
  EXPECT_FALSE(ops::resolve_last_set(config).has_value()); // no set at all
  add_set(config.backup_root, "pre-deployment-20261201_010000", "pre-deployment",
          "2026-12-01T01:00:00Z");
  add_set(config.backup_root, "pre-rollback-20261201_020000", "pre-rollback",
          "2026-12-01T02:00:00Z");
  auto last = ops::resolve_last_set(config);
  ASSERT_TRUE(last.has_value()) << last.error().message;
  EXPECT_EQ(*last, "pre-deployment-20261201_010000");
}

TEST(Decisions, ARecordNamingAMissingSetIsRefusedNotReplacedByTheNewest) {
  DecisionsRoot t;
  auto config = config_in(t);
  add_set(config.backup_root, "pre-deployment-20261201_010000", "pre-deployment",
          "2026-12-01T01:00:00Z");
  model::Manifest gone;
  gone.id = "pre-deployment-20261130_000000";
  ASSERT_TRUE(model::write_record(config.record, gone, config.backup_root / gone.id));
  auto last = ops::resolve_last_set(config);
  ASSERT_FALSE(last.has_value());
  EXPECT_THAT(last.error().message, HasSubstr("pre-deployment-20261130_000000"));
}

TEST(Decisions, ShrinkBaselinesAreVerifiedDeploySetsNeverSafetySnapshots) {
  DecisionsRoot t;
  auto config = config_in(t);
  add_set(config.backup_root, "pre-deployment-20261201_010000", "pre-deployment",
          "2026-12-01T01:00:00Z");
  add_set(config.backup_root, "scheduled-20261201_020000", "scheduled", "2026-12-01T02:00:00Z",
          false);
  add_set(config.backup_root, "pre-rollback-20261201_030000", "pre-rollback",
          "2026-12-01T03:00:00Z");
  model::LocalSetStore store(config.backup_root);
  EXPECT_EQ(ids_of(ops::shrink_baselines(store)),
            std::vector<std::string>{"pre-deployment-20261201_010000"});
}

TEST(Decisions, PruneKeepsTheRecordedTheNewestVerifiedAndYoungSafetySnapshots) {
  DecisionsRoot t;
  auto config = config_in(t);
  for (int h = 1; h <= 5; ++h)
    add_set(config.backup_root, "scheduled-2026120" + std::to_string(h) + "_000000", "scheduled",
            "2026-12-0" + std::to_string(h) + "T00:00:00Z");
  add_set(config.backup_root, "pre-rollback-20261205_120000", "pre-rollback",
          "2026-12-05T12:00:00Z");
  model::LocalSetStore store(config.backup_root);
  auto sets = store.list(model::IncludeFailed::yes);
  ASSERT_TRUE(sets.has_value());
  config::Retention keep_one;
  keep_one.keep_last = 1;
  auto now = *util::parse_iso8601_utc("2026-12-06T00:00:00Z");
  auto r = ops::select_for_pruning(*sets, std::string("scheduled-20261201_000000"), keep_one, now);
  std::set<std::string> removed(r.removed.begin(), r.removed.end());
  EXPECT_EQ(removed,
            (std::set<std::string>{"scheduled-20261202_000000", "scheduled-20261203_000000",
                                   "scheduled-20261204_000000"}));
  // Without the record its set goes too; retention counts per kind, so the
  // newest scheduled set and the snapshot (also the newest verified) stay.
  r = ops::select_for_pruning(*sets, std::nullopt, keep_one, now);
  removed = std::set<std::string>(r.removed.begin(), r.removed.end());
  EXPECT_EQ(removed.size(), 4u);
  EXPECT_TRUE(removed.count("scheduled-20261201_000000"));
}

TEST(Decisions, ADirectoryRollbackPlansFromTheManifestAndTheLiveDirectory) {
  DecisionsRoot t;
  auto config = config_in(t);
  add_set(config.backup_root, "scheduled-20261201_000000", "scheduled", "2026-12-01T00:00:00Z");
  auto m = model::load_manifest(config.backup_root / "scheduled-20261201_000000");
  ASSERT_TRUE(m.has_value());
  steps::RestoreDestination to_new{t.path / "elsewhere"};
  auto choice = steps::make_restore_job(config, *m, m->artifacts[0], to_new);
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  ASSERT_NE(choice->job, nullptr);
  EXPECT_EQ(choice->group, "volumes");
  EXPECT_FALSE(choice->job->replaces_live_data());
  EXPECT_EQ(choice->job->snapshot_step(), nullptr); // nothing there to lose
  std::vector<std::string> lines;
  choice->job->plan(*m, [&](const std::string &l) { lines.push_back(l); });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("about 1.5 s (as long as its backup took"));
  EXPECT_THAT(lines[1], HasSubstr("does not exist: it will be created"));

  fs::create_directories(t.path / "live" / "sub");
  ASSERT_TRUE(util::write_file_atomic(t.path / "live" / "a", "x", 0600));
  auto live = steps::make_restore_job(config, *m, m->artifacts[0], {t.path / "live"});
  ASSERT_TRUE(live.has_value());
  EXPECT_TRUE(live->job->replaces_live_data());
  EXPECT_NE(live->job->snapshot_step(), nullptr);
  lines.clear();
  live->job->plan(*m, [&](const std::string &l) { lines.push_back(l); });
  EXPECT_THAT(lines.back(), HasSubstr("its 2 entries now are replaced"));
  // A volume neither configured nor redirected is refused, naming the flag.
  auto nowhere = steps::make_restore_job(config, *m, m->artifacts[0], {});
  ASSERT_FALSE(nowhere.has_value());
  EXPECT_THAT(nowhere.error().message, HasSubstr("--target files=DIR"));
}

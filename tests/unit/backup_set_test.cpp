// Set ids and the lifecycle of a set on disk.
#include "model/backup_set.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

using namespace gate;
namespace fs = std::filesystem;

namespace {
struct SetsRoot {
  fs::path path = fs::temp_directory_path() / ("gate-unit-sets-" + std::to_string(::getpid()));
  SetsRoot() { fs::create_directories(path); }
  ~SetsRoot() { fs::remove_all(path); }
};
} // namespace

TEST(BackupSet, IdsAreUniqueWithinOneSecond) {
  SetsRoot root;
  model::LocalSetStore store(root.path);
  auto now = *util::parse_iso8601_utc("2026-11-22T01:45:00Z");
  std::string first = store.reserve_id("pre-deployment", now);
  EXPECT_EQ(first, "pre-deployment-20261122_014500");
  fs::create_directories(root.path / first);
  EXPECT_EQ(store.reserve_id("pre-deployment", now), "pre-deployment-20261122_014500-2");
  fs::create_directories(root.path / ".partial-pre-deployment-20261122_014500-2");
  fs::create_directories(root.path / ".failed-pre-deployment-20261122_014500-3");
  EXPECT_EQ(store.reserve_id("pre-deployment", now), "pre-deployment-20261122_014500-4");
}

TEST(BackupSet, AnUnverifiedSetCannotBeSealedAndIsKeptAsFailed) {
  SetsRoot root;
  model::LocalSetStore store(root.path);
  auto set = model::PendingSet::create(store, "scheduled", {});
  ASSERT_TRUE(set.has_value()) << set.error().message;
  std::string id = (*set)->id();
  EXPECT_TRUE(fs::exists(root.path / (".partial-" + id)));
  EXPECT_FALSE((*set)->seal().has_value()); // nothing in it
  model::Artifact a;
  a.target = "t";
  a.kind = "volume";
  a.path = "volumes/t.tar";
  a.files.push_back({"volumes/t.tar", 1, "00"});
  (*set)->add_artifact(a);
  auto sealed = (*set)->seal();
  ASSERT_FALSE(sealed.has_value());
  EXPECT_NE(sealed.error().message.find("did not pass verification"), std::string::npos);
  (*set)->mark_failed("test");
  EXPECT_TRUE(fs::exists(root.path / (".failed-" + id)));
  auto listed = store.list(model::IncludeFailed::no);
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->empty());
  auto all = store.list(model::IncludeFailed::yes);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE(all->front().failed);
}

TEST(BackupSet, APartialSetOfADeadProcessIsRecoveredAsFailed) {
  SetsRoot root;
  fs::create_directories(root.path / ".partial-pre-deployment-20260101_000000");
  std::ofstream(root.path / ".partial-pre-deployment-20260101_000000" / ".owner") << "999999\n";
  model::LocalSetStore store(root.path);
  auto recovered = store.recover_leftovers();
  ASSERT_TRUE(recovered.has_value());
  EXPECT_EQ(recovered->size(), 1u);
  EXPECT_TRUE(fs::exists(root.path / ".failed-pre-deployment-20260101_000000" / "manifest.json"));
}

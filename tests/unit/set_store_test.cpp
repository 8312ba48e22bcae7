// The set store contract (model/set_store.hpp), checked through the interface
// on the local directory store: nothing is listed before its commit, an
// unverified set is never committed, a delete takes the set out of the
// listing first.
#include "model/local_store.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace gate;
namespace fs = std::filesystem;

namespace {

struct TempRoot {
  fs::path path = fs::temp_directory_path() / ("gate-unit-store-" + std::to_string(::getpid()));
  TempRoot() { fs::create_directories(path); }
  ~TempRoot() { fs::remove_all(path); }
};

model::Manifest verified_manifest(const std::string &sha) {
  model::Manifest m;
  m.kind = "scheduled";
  model::Artifact a;
  a.target = "files";
  a.kind = "volume";
  a.path = "volumes/files.tar";
  a.files.push_back({"volumes/files.tar", 5, sha});
  m.artifacts.push_back(a);
  m.verifications.push_back({"volumes/files.tar", model::VerifyLevel::full, true});
  return m;
}

std::vector<std::string> listed_ids(const model::SetStore &store, model::IncludeFailed f) {
  std::vector<std::string> ids;
  auto sets = store.list(f);
  EXPECT_TRUE(sets.has_value());
  for (const auto &s : sets.value_or(std::vector<model::SetInfo>{}))
    ids.push_back(s.id);
  return ids;
}

} // namespace

TEST(SetStore, ASetIsListedOnlyAfterItsCommitAndItsFilesReadBack) {
  TempRoot root;
  model::LocalSetStore local(root.path);
  model::SetStore &store = local;
  fs::path source = root.path / "source.tar";
  ASSERT_TRUE(util::write_file_atomic(source, "hello", 0600));
  auto writer = store.begin("scheduled-20261201_000000");
  ASSERT_TRUE(writer.has_value()) << writer.error().message;
  ASSERT_TRUE((*writer)->put_file("volumes/files.tar", source));
  EXPECT_TRUE(listed_ids(store, model::IncludeFailed::yes).empty());
  auto committed = (*writer)->commit(verified_manifest("2cf24dba"));
  ASSERT_TRUE(committed.has_value()) << committed.error().message;
  EXPECT_EQ(listed_ids(store, model::IncludeFailed::no),
            std::vector<std::string>{"scheduled-20261201_000000"});
  fs::path back = root.path / "back.tar";
  ASSERT_TRUE(store.read_file("scheduled-20261201_000000", "volumes/files.tar", back));
  EXPECT_EQ(*util::read_file(back), "hello");
  EXPECT_FALSE(store.read_file("scheduled-20261201_000000", "../source.tar", back).has_value());
  EXPECT_FALSE(store.begin("scheduled-20261201_000000").has_value()); // the id is taken
}

TEST(SetStore, AnUnverifiedSetIsNeverCommittedAndIsKeptAsFailed) {
  TempRoot root;
  model::LocalSetStore local(root.path);
  model::SetStore &store = local;
  auto writer = store.begin("scheduled-20261201_000001");
  ASSERT_TRUE(writer.has_value());
  auto m = verified_manifest("00");
  m.verifications.clear();
  EXPECT_FALSE((*writer)->commit(m).has_value());
  EXPECT_TRUE(listed_ids(store, model::IncludeFailed::no).empty());
  (*writer)->abandon("test");
  auto listed = store.list(model::IncludeFailed::yes);
  ASSERT_TRUE(listed.has_value());
  auto all = *listed;
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all.front().failed);
}

TEST(SetStore, ADeleteCutShortIsNeverListedAndIsFinishedLater) {
  TempRoot root;
  model::LocalSetStore store(root.path);
  auto writer = store.begin("scheduled-20261201_000002");
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE((*writer)->commit(verified_manifest("00")));
  ASSERT_TRUE(store.remove("scheduled-20261201_000002"));
  EXPECT_TRUE(listed_ids(store, model::IncludeFailed::yes).empty());
  EXPECT_FALSE(fs::exists(root.path / "scheduled-20261201_000002"));
  // What a delete killed between its rename and the removal leaves behind.
  fs::create_directories(root.path / ".removing-scheduled-20261201_000003" / "volumes");
  EXPECT_TRUE(listed_ids(store, model::IncludeFailed::yes).empty());
  EXPECT_TRUE(store.id_taken("scheduled-20261201_000003"));
  ASSERT_TRUE(store.recover_leftovers());
  EXPECT_FALSE(fs::exists(root.path / ".removing-scheduled-20261201_000003"));
  EXPECT_FALSE(store.remove("no-such-set").has_value());
}

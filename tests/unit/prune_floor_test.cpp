// The last retention floor: a removal list that would take every usable set
// is refused, in backup_root as on a remote (prune_sets and prune_remote both
// apply refuse_removing_every_set before removing anything). gate run cannot
// reach it while the newest-verified floor holds, hence this test of the
// function alone.
#include "ops/prune.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gate;
using ::testing::HasSubstr;

namespace {

model::SetInfo usable(const std::string &id) {
  model::Manifest m;
  m.id = id;
  return model::SetInfo{id, "/backups/" + id, false, m, ""};
}

model::SetInfo failed(const std::string &id) {
  auto s = usable(id);
  s.failed = true;
  return s;
}

ops::PruneResult removing(std::vector<std::string> ids) {
  ops::PruneResult r;
  r.removed = std::move(ids);
  return r;
}

const std::vector<model::SetInfo> k_sets = {usable("s3"), usable("s2"), usable("s1"), failed("f4"),
                                            failed("f3"), failed("f2"), failed("f1")};

} // namespace

TEST(PruneFloor, RemovingEveryUsableSetIsRefusedInBackupRoot) {
  auto r = ops::refuse_removing_every_set(k_sets, removing({"s3", "s2", "s1", "f1"}), "/backups");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("/backups"));
  EXPECT_THAT(r.error().message, HasSubstr("would remove every set"));
  EXPECT_THAT(r.error().message, HasSubstr("nothing was removed"));
}

TEST(PruneFloor, RemovingEveryUsableSetIsRefusedOnARemote) {
  const std::string remote = "remote 'offsite' (s3://gate-offsite/hosts/app)";
  auto r = ops::refuse_removing_every_set({usable("s1")}, removing({"s1"}), remote);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr(remote));
}

TEST(PruneFloor, OneUsableSetLeftIsEnoughWhateverTheFailedSetsRemoved) {
  EXPECT_TRUE(ops::refuse_removing_every_set(k_sets, removing({"s3", "s2"}), "/backups"));
  // More failed sets removed than usable sets exist: one usable set still stays.
  EXPECT_TRUE(
      ops::refuse_removing_every_set(k_sets, removing({"s2", "s1", "f1", "f2"}), "/backups"));
  EXPECT_TRUE(ops::refuse_removing_every_set({failed("f1")}, removing({"f1"}), "/backups"))
      << "no usable set to protect";
}

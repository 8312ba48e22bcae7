// The standby swap journal: what it records survives a reload, the newest
// rollback's entries are found, and a damaged file is an error, never an
// empty journal (a forgotten swap would strand the replaced data).
#include "model/swap_journal.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

using namespace gate;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string &name) {
  fs::path dir = fs::temp_directory_path() / ("gate-swap-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

model::SwapEntry entry(const std::string &rollback_id, const std::string &target) {
  model::SwapEntry e;
  e.kind = "database";
  e.target = target;
  e.live = target;
  e.standby = target + "_gate_standby";
  e.replaced = target + "_replaced_" + rollback_id;
  e.set_id = "pre-deployment-" + rollback_id;
  e.rollback_id = rollback_id;
  e.at = "2026-12-01T10:00:00Z";
  return e;
}

} // namespace

TEST(SwapJournal, WhatIsRecordedIsReadBackAndTheNewestRollbackIsFound) {
  auto root = fresh_dir("roundtrip");
  {
    auto journal = model::SwapJournal::load(root);
    ASSERT_TRUE(journal) << journal.error().message;
    EXPECT_TRUE(journal->entries().empty());
    ASSERT_TRUE(journal->record(entry("20261201_100000", "app")));
    ASSERT_TRUE(journal->record(entry("20261202_100000", "app")));
    auto second = entry("20261202_100000", "billing");
    second.state = model::SwapState::done;
    ASSERT_TRUE(journal->record(second));
    second.runs_since = 1; // the same rollback and target: replaced, not added
    ASSERT_TRUE(journal->record(second));
  }
  auto journal = model::SwapJournal::load(root);
  ASSERT_TRUE(journal) << journal.error().message;
  ASSERT_EQ(journal->entries().size(), 3u);
  auto last = journal->last_rollback();
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[1].target, "billing");
  EXPECT_EQ(last[1].state, model::SwapState::done);
  EXPECT_EQ(last[1].runs_since, 1);
  EXPECT_EQ(last[1].replaced, "billing_replaced_20261202_100000");
  ASSERT_TRUE(journal->forget("20261201_100000", "app"));
  EXPECT_EQ(model::SwapJournal::load(root)->entries().size(), 2u);
  EXPECT_EQ(fs::status(root / ".gate-swaps.json").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  fs::remove_all(root);
}

TEST(SwapJournal, ADamagedJournalIsAnErrorNamingTheFile) {
  auto root = fresh_dir("damaged");
  ASSERT_TRUE(
      util::write_file_atomic(root / ".gate-swaps.json", "{\"swaps\": [{\"kind\": 1}]", 0600));
  auto journal = model::SwapJournal::load(root);
  ASSERT_FALSE(journal);
  EXPECT_NE(journal.error().message.find(".gate-swaps.json"), std::string::npos);
  ASSERT_TRUE(util::write_file_atomic(
      root / ".gate-swaps.json", R"({"swaps": [{"kind": "database", "target": "app"}]})", 0600));
  journal = model::SwapJournal::load(root);
  ASSERT_FALSE(journal);
  EXPECT_NE(journal.error().message.find("lacks"), std::string::npos);
  fs::remove_all(root);
}

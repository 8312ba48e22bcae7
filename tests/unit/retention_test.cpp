// Retention: which sets keep_last/daily/weekly/monthly keep, per set kind,
// and protected sets.
#include "model/retention.hpp"

#include <gtest/gtest.h>

using namespace gate;

namespace {
util::Clock::time_point at(const std::string &iso) {
  return *util::parse_iso8601_utc(iso);
}

std::vector<model::RetentionCandidate> sets() {
  return {
      {"d1a", "pre-deployment", at("2026-11-22T10:00:00Z")},
      {"d1b", "pre-deployment", at("2026-11-22T08:00:00Z")},
      {"d2", "pre-deployment", at("2026-11-21T09:00:00Z")},
      {"d3", "pre-deployment", at("2026-11-14T09:00:00Z")},
      {"d4", "pre-deployment", at("2026-10-30T09:00:00Z")},
      {"d5", "pre-deployment", at("2026-09-01T09:00:00Z")},
      {"s1", "scheduled", at("2026-11-22T02:00:00Z")},
      {"s2", "scheduled", at("2026-11-21T02:00:00Z")},
  };
}
} // namespace

TEST(Retention, KeepLastCountsEachKindOnItsOwn) {
  auto d = model::apply_retention(sets(), {2, 0, 0, 0}, {});
  EXPECT_TRUE(d.keep.count("d1a"));
  EXPECT_TRUE(d.keep.count("d1b"));
  EXPECT_TRUE(d.keep.count("s1"));
  EXPECT_TRUE(d.keep.count("s2"));
  EXPECT_EQ(d.remove, (std::vector<std::string>{"d2", "d3", "d4", "d5"}));
}

TEST(Retention, DailyWeeklyMonthlyKeepTheNewestOfEachPeriod) {
  auto daily = model::apply_retention(sets(), {0, 2, 0, 0}, {});
  EXPECT_TRUE(daily.keep.count("d1a"));  // newest of 2026-11-22
  EXPECT_FALSE(daily.keep.count("d1b")); // same day, older
  EXPECT_TRUE(daily.keep.count("d2"));
  EXPECT_FALSE(daily.keep.count("d3"));
  auto weekly = model::apply_retention(sets(), {0, 0, 3, 0}, {});
  EXPECT_TRUE(weekly.keep.count("d1a")); // week 47
  EXPECT_TRUE(weekly.keep.count("d3"));  // week 46
  EXPECT_TRUE(weekly.keep.count("d4"));  // week 44
  EXPECT_FALSE(weekly.keep.count("d2")); // week 47, older
  auto monthly = model::apply_retention(sets(), {0, 0, 0, 3}, {});
  EXPECT_TRUE(monthly.keep.count("d1a"));
  EXPECT_TRUE(monthly.keep.count("d4"));
  EXPECT_TRUE(monthly.keep.count("d5"));
  EXPECT_EQ(monthly.keep.size(), 3u + 1u); // + the scheduled kind's newest
}

TEST(Retention, ProtectedSetsAreNeverRemoved) {
  auto d = model::apply_retention(sets(), {1, 0, 0, 0}, {"d5"});
  EXPECT_EQ(d.keep.at("d5"), "protected");
  EXPECT_EQ(std::count(d.remove.begin(), d.remove.end(), "d5"), 0);
}

// What the artifact kinds share without a server: the order of restore
// candidates (deep verify proves the first, rollback tries it first), a
// Finding recorded as a Verification, and reading back while writing.
#include "steps/postgres/restore.hpp"
#include "steps/read_back.hpp"
#include "steps/verify/findings.hpp"

#include <gtest/gtest.h>

#include <atomic>

using namespace gate;

namespace {
model::Artifact artifact(const std::string &target, const std::string &kind,
                         const std::string &format, const std::string &path) {
  model::Artifact a;
  a.target = target;
  a.kind = kind;
  a.format = format;
  a.path = path;
  return a;
}
} // namespace

TEST(RestoreCandidates, CustomThenDirectoryThenSqlOfThatDatabaseOnly) {
  model::Manifest m;
  m.artifacts = {artifact("app", "database", "sql", "databases/app.sql"),
                 artifact("app", "database", "schema", "databases/app.schema.sql"),
                 artifact("other", "database", "custom", "databases/other.dump"),
                 artifact("app", "database", "directory", "databases/app.dir"),
                 artifact("app", "volume", "custom", "volumes/app.tar"),
                 artifact("app", "database", "custom", "databases/app.dump")};
  auto candidates = steps::restore_candidates(m, "app");
  ASSERT_EQ(candidates.size(), 3u);
  EXPECT_EQ(candidates[0]->path, "databases/app.dump");
  EXPECT_EQ(candidates[1]->path, "databases/app.dir");
  EXPECT_EQ(candidates[2]->path, "databases/app.sql");
  EXPECT_TRUE(steps::restore_candidates(m, "missing").empty());
}

TEST(VerificationOf, KeepsTheVerdictWhatWasProvenOrWhyNotAndTheMeasurements) {
  steps::Finding ok = steps::finding_ok("3 tables match");
  ok.metrics["restore_ms"] = 1234;
  auto v = steps::verification_of("databases/app.dump", model::VerifyLevel::deep, ok, 42);
  EXPECT_EQ(v.artifact, "databases/app.dump");
  EXPECT_EQ(v.level, model::VerifyLevel::deep);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.reason, "3 tables match");
  EXPECT_EQ(v.duration_ms, 42);
  EXPECT_EQ(v.metrics["restore_ms"], 1234);
  EXPECT_FALSE(v.at.empty());
  auto bad = steps::verification_of("volumes/data.tar", model::VerifyLevel::full,
                                    steps::finding_failed("checksum differs"), 7);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.reason, "checksum differs");
}

TEST(WriteWhileReadingBack, TheReaderFollowsTheWriteAndSeesItFinish) {
  steps::TimedRead<util::GrowthSignal::State> read;
  auto written = steps::write_while_reading_back(
      true,
      [](util::GrowthSignal *growth) -> util::Result<int> {
        EXPECT_NE(growth, nullptr);
        growth->wrote(10);
        return 10;
      },
      [](util::GrowthSignal &growth) {
        auto s = growth.wait_beyond(0);
        while (!s.finished)
          s = growth.wait_beyond(s.total);
        return s;
      },
      read);
  ASSERT_TRUE(written.has_value());
  ASSERT_TRUE(read.result.has_value());
  EXPECT_TRUE(read.result->finished);
  EXPECT_TRUE(read.result->ok);
  EXPECT_EQ(read.result->total, 10u);
}

TEST(WriteWhileReadingBack, AFailedWriteFinishesTheSignalAsNotOk) {
  steps::TimedRead<util::GrowthSignal::State> read;
  auto written = steps::write_while_reading_back(
      true, [](util::GrowthSignal *) -> util::Result<int> { return util::fail("disk full"); },
      [](util::GrowthSignal &growth) {
        auto s = growth.wait_beyond(0);
        while (!s.finished)
          s = growth.wait_beyond(s.total);
        return s;
      },
      read);
  EXPECT_FALSE(written.has_value());
  ASSERT_TRUE(read.result.has_value());
  EXPECT_FALSE(read.result->ok); // the reader stops instead of waiting for bytes that never come
}

TEST(WriteWhileReadingBack, WithoutFollowingNoReaderRunsAndTheWriterGetsNoSignal) {
  steps::TimedRead<int> read;
  std::atomic<bool> reader_ran{false};
  auto written = steps::write_while_reading_back(
      false,
      [](util::GrowthSignal *growth) -> util::Result<int> {
        EXPECT_EQ(growth, nullptr);
        return 1;
      },
      [&](util::GrowthSignal &) {
        reader_ran = true;
        return 0;
      },
      read);
  EXPECT_TRUE(written.has_value());
  EXPECT_FALSE(reader_ran);
  EXPECT_FALSE(read.result.has_value());
}

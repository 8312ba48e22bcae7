// for_each_bounded: every piece runs once, never more than `workers` at once
// (and that many do run side by side), the first failure stops new pieces
// and is the one reported, an interrupt leaves the rest out.
#include "util/bounded_parallel.hpp"
#include "util/cancel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <vector>

using namespace gate::util;

TEST(BoundedParallel, EveryPieceRunsExactlyOnce) {
  std::vector<std::atomic<int>> runs(57);
  std::mutex mutex;
  std::set<size_t> workers_seen;
  auto done = for_each_bounded(runs.size(), 4, [&](size_t i, size_t worker) -> Result<void> {
    ++runs[i];
    std::lock_guard lock(mutex);
    workers_seen.insert(worker);
    return {};
  });
  ASSERT_TRUE(done) << done.error().message;
  for (size_t i = 0; i < runs.size(); ++i)
    EXPECT_EQ(runs[i], 1) << i;
  for (size_t w : workers_seen)
    EXPECT_LT(w, 4u);
  EXPECT_TRUE(for_each_bounded(0, 4, [](size_t, size_t) -> Result<void> {
                return fail("no piece should run");
              }).has_value());
}

// Each piece waits (with a timeout, never forever) until `workers` pieces run
// at once: that they all get there shows they run side by side; the maximum
// seen shows never more.
TEST(BoundedParallel, RunsAtMostWorkersAtOnceAndThatManySideBySide) {
  constexpr size_t k_workers = 3;
  std::mutex mutex;
  std::condition_variable changed;
  size_t active = 0, most = 0, phase_full = 0;
  auto done = for_each_bounded(12, k_workers, [&](size_t, size_t) -> Result<void> {
    std::unique_lock lock(mutex);
    ++active;
    most = std::max(most, active);
    changed.notify_all();
    bool full = changed.wait_for(lock, std::chrono::seconds(10),
                                 [&] { return active == k_workers || phase_full > 0; });
    if (full && active == k_workers) ++phase_full;
    --active;
    changed.notify_all();
    return {};
  });
  ASSERT_TRUE(done);
  EXPECT_EQ(most, k_workers);
  EXPECT_GT(phase_full, 0u);
}

TEST(BoundedParallel, TheFirstFailureStopsNewPiecesAndIsReported) {
  std::atomic<size_t> started{0};
  auto done = for_each_bounded(1000, 2, [&](size_t i, size_t) -> Result<void> {
    ++started;
    if (i == 5) return fail("piece 5 failed");
    if (i == 7) throw std::runtime_error("piece 7 threw");
    return {};
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().message, "piece 5 failed"); // the lowest index, if 7 ran too
  EXPECT_LE(started.load(), 10u) << "pieces went on starting after the failure";
}

TEST(BoundedParallel, AnInterruptLeavesTheRestOut) {
  std::atomic<size_t> started{0};
  auto done = for_each_bounded(100, 2, [&](size_t i, size_t) -> Result<void> {
    ++started;
    if (i == 3) request_cancel();
    return {};
  });
  reset_cancel();
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind, ErrorKind::interrupted);
  EXPECT_LT(started.load(), 100u);
}

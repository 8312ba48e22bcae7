#include "util/bounded_parallel.hpp"

#include "util/cancel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace gate::util {

namespace {

// Runs fn(i), turning an exception into an error.
Result<void> run_piece(const std::function<Result<void>(size_t, size_t)> &fn, size_t i,
                       size_t worker) {
  try {
    return fn(i, worker);
  } catch (const std::exception &e) {
    return fail(std::string("internal error: ") + e.what());
  }
}

} // namespace

Result<void> for_each_bounded(size_t n, size_t workers,
                              const std::function<Result<void>(size_t, size_t)> &fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<size_t, Error> failures; // by index: the lowest is reported
  bool left_out = false;
  auto worker_loop = [&](size_t worker) {
    for (;;) {
      if (stop || cancel_requested()) {
        std::lock_guard lock(mutex);
        left_out = left_out || next < n;
        return;
      }
      size_t i = next++;
      if (i >= n) return;
      if (auto done = run_piece(fn, i, worker); !done) {
        std::lock_guard lock(mutex);
        failures.emplace(i, done.error());
        stop = true;
      }
    }
  };
  size_t threads = std::min(std::max<size_t>(workers, 1), n);
  std::vector<std::thread> pool;
  for (size_t w = 1; w < threads; ++w)
    pool.emplace_back(worker_loop, w);
  if (threads > 0) worker_loop(0);
  for (auto &t : pool)
    t.join();
  if (!failures.empty()) return std::unexpected(failures.begin()->second);
  if (left_out) return fail(ErrorKind::interrupted, "interrupted");
  return {};
}

} // namespace gate::util

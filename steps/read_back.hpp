// Reading a backup back while it is written: the full verification of a
// custom dump (pg_restore) or a volume archive (libarchive) follows the file
// as it grows, on a second thread, so it costs no extra pass over the data.
#pragma once

#include "util/fault.hpp"
#include "util/growth.hpp"
#include "util/time.hpp"

#include <chrono>
#include <optional>
#include <thread>
#include <type_traits>

namespace gate::steps {

// What the reader came to, and how long it took (empty: no read-back).
template <typename T> struct TimedRead {
  std::optional<T> result;
  long long ms = 0;
};

// Runs `write(GrowthSignal *)` (a null signal when not `follow`ing) and,
// when `follow`, `read(GrowthSignal &)` on a second thread meanwhile, timed
// into `read_back`. The signal is finished with the write's success, also
// when the file was never created, so the reader never waits for more.
// Returns the write's Result once both are done.
template <typename Write, typename Read>
auto write_while_reading_back(
    bool follow, Write &&write, Read &&read,
    TimedRead<std::invoke_result_t<Read &, util::GrowthSignal &>> &read_back) {
  util::GrowthSignal growth;
  std::thread reader;
  if (follow)
    reader = std::thread([&] {
      auto start = std::chrono::steady_clock::now();
      util::fault_point("run.mid-read-back");
      read_back.result = read(growth);
      read_back.ms = util::elapsed_ms(start);
    });
  auto written = write(follow ? &growth : nullptr);
  growth.finish(written.has_value());
  if (reader.joinable()) reader.join();
  return written;
}

} // namespace gate::steps

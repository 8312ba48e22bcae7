// Wall-clock helpers: ISO-8601 UTC timestamps and set-id timestamps.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace gate::util {

using Clock = std::chrono::system_clock;

// "2026-11-22T01:45:00Z"
std::string iso8601_utc(Clock::time_point t);
// Parses what iso8601_utc writes.
std::optional<Clock::time_point> parse_iso8601_utc(const std::string &text);
// "20261122_014500", in UTC, for set ids.
std::string compact_timestamp(Clock::time_point t);

// Milliseconds elapsed since `start` on the steady clock.
inline long long elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

} // namespace gate::util

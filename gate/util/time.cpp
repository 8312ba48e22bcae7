#include "util/time.hpp"

#include <ctime>

namespace gate::util {

namespace {
std::string format_utc(Clock::time_point t, const char *fmt) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}
} // namespace

std::string iso8601_utc(Clock::time_point t) {
  return format_utc(t, "%Y-%m-%dT%H:%M:%SZ");
}

std::string compact_timestamp(Clock::time_point t) {
  return format_utc(t, "%Y%m%d_%H%M%S");
}

std::optional<Clock::time_point> parse_iso8601_utc(const std::string &text) {
  std::tm tm{};
  const char *end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return Clock::from_time_t(::timegm(&tm));
}

} // namespace gate::util

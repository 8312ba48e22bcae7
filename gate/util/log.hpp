// The process-wide log. Every line passes through redact() before it reaches a
// sink, so a registered secret can never be logged. The CLI installs the
// console sink; the engine adds a file sink for a backup set's gate.log.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string>
#include <string_view>

namespace gate::util {

// `output` is a line a child printed for the user to see (an exec step's
// migration output): shown on the console whatever the verbosity.
enum class LogLevel { debug, info, output, warn, error };

using LogSink = std::function<void(LogLevel, std::string_view line)>;

// Adds a sink; returns an id for remove_log_sink.
int add_log_sink(LogSink sink);
void remove_log_sink(int id);

// Writes one message (redacted) to every sink.
void log_message(LogLevel level, std::string_view message);

const char *log_level_name(LogLevel level);

template <typename... Args> void log_debug(fmt::format_string<Args...> f, Args &&...args) {
  log_message(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args> void log_info(fmt::format_string<Args...> f, Args &&...args) {
  log_message(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args> void log_warn(fmt::format_string<Args...> f, Args &&...args) {
  log_message(LogLevel::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args> void log_error(fmt::format_string<Args...> f, Args &&...args) {
  log_message(LogLevel::error, fmt::format(f, std::forward<Args>(args)...));
}

} // namespace gate::util

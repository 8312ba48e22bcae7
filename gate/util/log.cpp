#include "util/log.hpp"

#include "util/redact.hpp"

#include <map>
#include <mutex>

namespace gate::util {

namespace {
std::mutex g_mutex;
std::map<int, LogSink> g_sinks;
int g_next_id = 1;
} // namespace

int add_log_sink(LogSink sink) {
  std::lock_guard lock(g_mutex);
  int id = g_next_id++;
  g_sinks.emplace(id, std::move(sink));
  return id;
}

void remove_log_sink(int id) {
  std::lock_guard lock(g_mutex);
  g_sinks.erase(id);
}

void log_message(LogLevel level, std::string_view message) {
  std::string line = redact(message);
  std::lock_guard lock(g_mutex);
  for (auto &[id, sink] : g_sinks)
    sink(level, line);
}

const char *log_level_name(LogLevel level) {
  switch (level) {
  case LogLevel::debug:
    return "debug";
  case LogLevel::info:
    return "info";
  case LogLevel::output:
    return "output";
  case LogLevel::warn:
    return "warning";
  case LogLevel::error:
    return "error";
  }
  return "info";
}

} // namespace gate::util

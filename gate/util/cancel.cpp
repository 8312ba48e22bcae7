#include "util/cancel.hpp"

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <set>

namespace gate::util {

namespace {
std::atomic<bool> g_cancelled{false};
thread_local int t_shield_depth = 0;
std::mutex g_mutex;
std::set<pid_t> g_groups;
std::set<pid_t> g_shielded_groups;
std::map<int, std::pair<std::function<void()>, bool>> g_hooks; // hook, shielded
int g_next_hook = 1;
} // namespace

bool cancel_requested() {
  return t_shield_depth == 0 && g_cancelled.load();
}

void request_cancel() {
  g_cancelled.store(true);
  std::lock_guard lock(g_mutex);
  for (pid_t pgid : g_groups)
    if (!g_shielded_groups.count(pgid)) ::kill(-pgid, SIGTERM);
  for (auto &[id, hook] : g_hooks)
    if (!hook.second) hook.first();
}

int add_cancel_hook(std::function<void()> hook) {
  std::lock_guard lock(g_mutex);
  int id = g_next_hook++;
  g_hooks.emplace(id, std::pair{std::move(hook), t_shield_depth > 0});
  return id;
}

int add_interrupt_hook(std::function<void()> hook) {
  std::lock_guard lock(g_mutex);
  int id = g_next_hook++;
  g_hooks.emplace(id, std::pair{std::move(hook), false});
  return id;
}

void remove_cancel_hook(int id) {
  std::lock_guard lock(g_mutex);
  g_hooks.erase(id);
}

void reset_cancel() {
  g_cancelled.store(false);
}

void register_process_group(pid_t pgid) {
  std::lock_guard lock(g_mutex);
  g_groups.insert(pgid);
  if (t_shield_depth > 0)
    g_shielded_groups.insert(pgid);
  else if (g_cancelled.load())
    ::kill(-pgid, SIGTERM); // started after the interrupt
}

void unregister_process_group(pid_t pgid) {
  std::lock_guard lock(g_mutex);
  g_groups.erase(pgid);
  g_shielded_groups.erase(pgid);
}

CancelShield::CancelShield() {
  ++t_shield_depth;
}
CancelShield::~CancelShield() {
  --t_shield_depth;
}

} // namespace gate::util

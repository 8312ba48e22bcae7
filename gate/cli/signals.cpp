#include "cli/signals.hpp"

#include "util/cancel.hpp"
#include "util/log.hpp"

#include <csignal>
#include <pthread.h>
#include <thread>

namespace gate::cli {

namespace {
std::thread g_thread;
sigset_t g_set;
} // namespace

void start_signal_thread() {
  sigemptyset(&g_set);
  sigaddset(&g_set, SIGINT);
  sigaddset(&g_set, SIGTERM);
  sigaddset(&g_set, SIGHUP);
  sigaddset(&g_set, SIGUSR2); // used to stop this thread
  pthread_sigmask(SIG_BLOCK, &g_set, nullptr);
  g_thread = std::thread([] {
    while (true) {
      int sig = 0;
      if (sigwait(&g_set, &sig) != 0) continue;
      if (sig == SIGUSR2) return;
      util::log_warn(
          "received {}: stopping; unfinished backups are removed and the record is left alone",
          sig == SIGINT    ? "SIGINT"
          : sig == SIGTERM ? "SIGTERM"
                           : "SIGHUP");
      util::request_cancel();
    }
  });
}

void stop_signal_thread() {
  if (!g_thread.joinable()) return;
  pthread_kill(g_thread.native_handle(), SIGUSR2);
  g_thread.join();
}

} // namespace gate::cli

#include "util/fault.hpp"

#include "util/cancel.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace gate::util {

void fault_point(const char *name) {
  const char *point = std::getenv("GATE_FAULT_POINT");
  const char *fifo = std::getenv("GATE_FAULT_FIFO");
  if (!point || !fifo || std::strcmp(point, name) != 0) return;
  // Once a process: a point on a loop (a progress callback) pauses the first time only.
  static std::atomic<bool> reached{false};
  if (reached.exchange(true)) return;
  // Signals are taken by gate's signal thread, which calls request_cancel();
  // a hook sees that also inside a CancelShield (a restore), where
  // cancel_requested() reads false.
  static std::atomic<bool> signalled{false};
  int hook = add_interrupt_hook([] { signalled.store(true); });
  int fd = ::open(fifo, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    remove_cancel_hook(hook);
    return;
  }
  std::string line = std::string(name) + "\n";
  ssize_t n;
  do
    n = ::write(fd, line.data(), line.size());
  while (n < 0 && errno == EINTR);
  ::close(fd);
  const char *resume = std::getenv("GATE_FAULT_RESUME"); // a file the test creates
  while (!signalled.load() && !cancel_requested() && !(resume && ::access(resume, F_OK) == 0))
    ::usleep(10000);
  remove_cancel_hook(hook);
}

} // namespace gate::util

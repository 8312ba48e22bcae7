#include "util/fault.hpp"

#include "util/cancel.hpp"

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
  int fd = ::open(fifo, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string line = std::string(name) + "\n";
  ssize_t n;
  do
    n = ::write(fd, line.data(), line.size());
  while (n < 0 && errno == EINTR);
  ::close(fd);
  // Signals are taken by gate's signal thread, which sets the cancel flag.
  while (!cancel_requested())
    ::usleep(10000);
}

} // namespace gate::util

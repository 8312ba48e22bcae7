// Cooperative cancellation. A signal thread (cli/signals) calls
// request_cancel(); long loops poll cancel_requested(); child processes
// register their process group so that they are stopped at once.
#pragma once

#include <functional>
#include <sys/types.h>

namespace gate::util {

bool cancel_requested();

// Sets the flag and sends SIGTERM to every registered process group.
void request_cancel();

// Clears the flag (tests, and a rollback that must run after an interrupt).
void reset_cancel();

void register_process_group(pid_t pgid);
void unregister_process_group(pid_t pgid);

// Hooks run by request_cancel() (e.g. PQcancel on a running query).
// Returns an id for remove_cancel_hook.
int add_cancel_hook(std::function<void()> hook);
void remove_cancel_hook(int id);
// A hook run by every later request_cancel(), even inside a CancelShield:
// work that must go on after an interrupt (an alert about it) still stops
// at the next one.
int add_interrupt_hook(std::function<void()> hook);

// Runs cleanup that must finish even after an interrupt (dropping a scratch
// database, restoring a volume): child processes started inside the scope are
// not signalled by request_cancel() and cancel_requested() reads false.
class CancelShield {
public:
  CancelShield();
  ~CancelShield();
  CancelShield(const CancelShield &) = delete;
  CancelShield &operator=(const CancelShield &) = delete;
};

} // namespace gate::util

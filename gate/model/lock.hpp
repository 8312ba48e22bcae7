// One gate per backup root: an flock on backup_root/.gate.lock. The kernel
// drops an flock when its holder dies, so a lock can never go stale; the file
// also names its holder (pid, start time, command) for the "busy" message and
// for the warning when a dead process's lock is taken over.
#pragma once

#include "util/expected.hpp"
#include "util/fd.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace gate::model {

class RootLock {
public:
  // Takes the lock, waiting up to `wait`. Fails with ErrorKind::lock_busy
  // naming the holder when it stays taken.
  static util::Result<RootLock> acquire(const std::filesystem::path &root,
                                        std::chrono::milliseconds wait, const std::string &command);
  RootLock(RootLock &&) noexcept = default;
  RootLock &operator=(RootLock &&) noexcept = default;
  ~RootLock(); // clears the holder line, then releases

private:
  RootLock() = default;
  util::UniqueFd m_fd;
};

} // namespace gate::model

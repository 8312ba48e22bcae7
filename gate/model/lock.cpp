#include "model/lock.hpp"

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace gate::model {

namespace {

std::string read_holder(int fd) {
  std::string text;
  char buf[512];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n > 0) text.assign(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0'))
    text.pop_back();
  return text;
}

// Holder lines look like "pid=123 started=2026-11-22T01:45:00Z command=gate run".
std::string field(const std::string &holder, const std::string &key) {
  size_t pos = holder.find(key + "=");
  if (pos == std::string::npos) return {};
  pos += key.size() + 1;
  size_t end = key == "command" ? std::string::npos : holder.find(' ', pos);
  return holder.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

} // namespace

util::Result<RootLock> RootLock::acquire(const std::filesystem::path &root,
                                         std::chrono::milliseconds wait,
                                         const std::string &command) {
  if (auto made = util::make_dirs(root, 0700); !made)
    return util::fail("backup root '" + root.string() +
                      "' cannot be created: " + made.error().message);
  auto path = root / ".gate.lock";
  util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd)
    return util::fail(
        "unable to open lock file '" + path.string() + "': " + util::errno_text(errno) +
        "\nhint: backup_root must be a directory gate can write to (`gate check` tests it)");

  auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return util::fail("unable to lock '" + path.string() + "': " + util::errno_text(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string holder = read_holder(fd.get());
      std::string pid = field(holder, "pid"), started = field(holder, "started"),
                  cmd = field(holder, "command");
      std::string who = pid.empty() ? "another gate"
                                    : "another gate (pid " + pid + ", started " + started +
                                          (cmd.empty() ? "" : ", running '" + cmd + "'") + ")";
      return util::fail(
          util::ErrorKind::lock_busy,
          who + " holds the lock on backup root '" + root.string() + "'" +
              "\nhint: wait for it to finish, or set lock_wait: in pipeline.yml to wait");
    }
    // Polling keeps the wait bounded without signals; 100 ms is far below any backup's duration.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  std::string previous = read_holder(fd.get());
  if (!previous.empty()) {
    std::string pid = field(previous, "pid");
    util::log_warn(
        "taking over the lock on '{}' left by gate pid {} (started {}), which is no longer running",
        root.string(), pid.empty() ? "?" : pid, field(previous, "started"));
  }
  std::string holder = "pid=" + std::to_string(::getpid()) +
                       " started=" + util::iso8601_utc(util::Clock::now()) + " command=" + command +
                       "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), holder.data(), holder.size(), 0) < 0)
    return util::fail("unable to write lock file '" + path.string() +
                      "': " + util::errno_text(errno));
  ::fsync(fd.get());
  RootLock lock;
  lock.m_fd = std::move(fd);
  return lock;
}

RootLock::~RootLock() {
  if (!m_fd) return;
  // An empty file means "released cleanly"; a dead holder leaves its line behind.
  if (::ftruncate(m_fd.get(), 0) == 0) ::fsync(m_fd.get());
  ::flock(m_fd.get(), LOCK_UN);
}

} // namespace gate::model

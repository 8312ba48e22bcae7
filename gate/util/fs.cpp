#include "util/fs.hpp"

#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace gate::util {

std::string errno_text(int errnum) {
  return std::strerror(errnum);
}

Result<void> write_all(int fd, const void *data, size_t size, const std::string &what) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("unable to write '" + what + "': " + errno_text(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

fs::path resolve_against(const fs::path &base, const std::string &p) {
  fs::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

Result<std::string> read_file(const fs::path &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail("unable to read '" + path.string() + "': " + errno_text(errno));
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("unable to read '" + path.string() + "': " + errno_text(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<void> fsync_path(const fs::path &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail("unable to open '" + path.string() + "': " + errno_text(errno));
  if (::fsync(fd.get()) != 0 && errno != EINVAL)
    return fail("unable to fsync '" + path.string() + "': " + errno_text(errno));
  return {};
}

Result<void> write_file_atomic(const fs::path &path, std::string_view content, mode_t mode,
                               const char *fault) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  int raw = ::mkstemp(tmpl.data());
  if (raw < 0)
    return fail("unable to create a temporary file in '" + dir.string() +
                "': " + errno_text(errno));
  UniqueFd fd(raw);
  auto cleanup = [&] { ::unlink(tmpl.c_str()); };
  if (::fchmod(fd.get(), mode) != 0) {
    cleanup();
    return fail("unable to set mode of '" + tmpl + "': " + errno_text(errno));
  }
  if (auto r = write_all(fd.get(), content.data(), content.size(), tmpl); !r) {
    cleanup();
    return r;
  }
  if (::fsync(fd.get()) != 0) {
    cleanup();
    return fail("unable to fsync '" + tmpl + "': " + errno_text(errno));
  }
  fd.reset();
  if (fault) fault_point(fault);
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int e = errno;
    cleanup();
    return fail("unable to replace '" + path.string() + "': " + errno_text(e));
  }
  return fsync_path(dir);
}

Result<void> make_dirs(const fs::path &path, mode_t mode) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {};
  if (path.has_parent_path() && path.parent_path() != path) {
    auto parent = path.parent_path();
    if (!parent.empty() && !fs::exists(parent, ec)) TRY(make_dirs(parent, 0755));
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    return fail("unable to create directory '" + path.string() + "': " + errno_text(errno));
  ::chmod(path.c_str(), mode); // mkdir applies the umask; the mode asked for is the contract
  return {};
}

Result<void> fsync_tree(const fs::path &root) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    auto st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_regular_file(st) || fs::is_directory(st)) TRY(fsync_path(it->path()));
  }
  if (ec) return fail("unable to walk '" + root.string() + "': " + ec.message());
  return fsync_path(root);
}

Result<void> sync_filesystem(const fs::path &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail("unable to open '" + path.string() + "': " + errno_text(errno));
  // Since Linux 5.8 syncfs reports writeback errors of the filesystem too.
  if (::syncfs(fd.get()) != 0)
    return fail("unable to sync the filesystem of '" + path.string() + "': " + errno_text(errno));
  return {};
}

Result<void> remove_tree(const fs::path &path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return fail("unable to remove '" + path.string() + "': " + ec.message());
  return {};
}

Result<uint64_t> free_bytes(const fs::path &path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0)
    return fail("unable to read free space of '" + path.string() + "': " + errno_text(errno));
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

Result<uint64_t> tree_bytes(const fs::path &root) {
  std::error_code ec;
  uint64_t total = 0;
  size_t seen = 0;
  for (auto it = fs::recursive_directory_iterator(
           root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::end(it); it.increment(ec)) {
    if (++seen % 1024 == 0 && cancel_requested())
      return fail(ErrorKind::interrupted, "interrupted");
    auto st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_regular_file(st)) total += it->file_size(ec);
    ec.clear();
  }
  if (ec) return fail("unable to walk '" + root.string() + "': " + ec.message());
  return total;
}

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

bool is_empty_dir(const fs::path &path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_empty(path, ec);
}

Result<void> probe_writable_dir(const fs::path &dir) {
  std::error_code ec;
  fs::path existing = fs::absolute(dir, ec);
  while (!fs::exists(fs::symlink_status(existing, ec)) && existing.has_parent_path() &&
         existing != existing.parent_path())
    existing = existing.parent_path();
  if (!fs::is_directory(existing, ec))
    return fail("'" + existing.string() + "' is not a directory" +
                (existing == dir ? std::string() : " (it would hold '" + dir.string() + "')"));
  fs::path probe = existing / (".gate-write-probe-" + std::to_string(::getpid()));
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("unable to write in '" + existing.string() + "': " + errno_text(errno));
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

} // namespace gate::util

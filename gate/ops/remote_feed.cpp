#include "ops/remote_feed.hpp"

#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gate::ops {

namespace fs = std::filesystem;

namespace {

// How often a feed looks for a reader: opening a FIFO for writing without
// blocking is the only way to notice one, and a stop must not wait on it.
// An idle feed looks less and less often (a directory dump has a feed per
// table, most of them waiting), a served one starts quick again.
constexpr std::chrono::milliseconds k_first_poll{1};
constexpr std::chrono::milliseconds k_idle_poll{50};

util::Result<void> make_fifo(const fs::path &path) {
  TRY(util::make_dirs(path.parent_path(), 0700));
  if (::mkfifo(path.c_str(), 0600) != 0)
    return util::fail("unable to create the pipe '" + path.string() +
                      "': " + util::errno_text(errno));
  return {};
}

} // namespace

util::Result<std::unique_ptr<RemoteFeed>> RemoteFeed::start(const config::RemoteConfig &remote,
                                                            const std::string &id,
                                                            const std::string &relative,
                                                            const fs::path &fifo) {
  std::unique_ptr<RemoteFeed> feed(new RemoteFeed());
  TRY_ASSIGN(feed->m_store, model::S3SetStore::open(remote));
  feed->m_id = id;
  feed->m_relative = relative;
  feed->m_fifo = fifo;
  TRY(make_fifo(fifo));
  feed->m_thread = std::thread([f = feed.get()] { f->serve(); });
  return feed;
}

RemoteFeed::~RemoteFeed() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

FeedPasses RemoteFeed::passes() const {
  std::lock_guard lock(m_mutex);
  return m_passes;
}

// False when the feed is stopping.
bool RemoteFeed::wait_for_reader(std::chrono::milliseconds &poll) {
  std::unique_lock lock(m_mutex);
  bool stopping = m_wake.wait_for(lock, poll, [this] { return m_stopping; });
  poll = std::min(poll * 2, k_idle_poll);
  return !stopping;
}

void RemoteFeed::serve() {
  std::chrono::milliseconds poll = k_first_poll;
  while (true) {
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) return;
    }
    util::UniqueFd fd(::open(m_fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd && errno == ENXIO) { // nobody reads yet
      if (!wait_for_reader(poll)) return;
      continue;
    }
    if (!fd) {
      std::lock_guard lock(m_mutex);
      m_passes.error =
          "unable to open the pipe '" + m_fifo.string() + "': " + util::errno_text(errno);
      return;
    }
    serve_one(fd.get());
    poll = k_first_poll; // a reader that opened it once may open it again at once
  }
}

// One pass: the whole object into the pipe, then a fresh FIFO takes the
// path before this one closes, so a reader that opens the path again after
// its end of file gets a new pass, never the rest of this one.
void RemoteFeed::serve_one(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  auto got = m_store->stream(m_id, m_relative, fd);
  fs::path next = m_fifo.string() + ".next";
  if (::mkfifo(next.c_str(), 0600) != 0 || ::rename(next.c_str(), m_fifo.c_str()) != 0)
    util::log_warn("unable to renew the pipe '{}': {}", m_fifo.string(), util::errno_text(errno));
  std::lock_guard lock(m_mutex);
  if (got)
    m_passes.complete.push_back(*got);
  else // also a reader that stopped early: it matters only when no pass reached the end
    m_passes.error = got.error().message;
}

namespace {

// Memory where the system has it, else the temporary directory: the pipes
// hold no data, but a directory dump's table of contents is a regular file.
fs::path scratch_parent() {
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path();
}

// pg_restore opens a directory dump only when its toc.dat is a regular file.
bool must_be_regular(const model::Manifest &manifest, const std::string &relative) {
  for (const auto &a : manifest.artifacts)
    if (a.format == "directory" && relative == a.path + "/toc.dat") return true;
  return false;
}

} // namespace

util::Result<std::unique_ptr<RemoteSetFeeds>>
RemoteSetFeeds::start(const config::RemoteConfig &remote, const model::Manifest &manifest) {
  std::unique_ptr<RemoteSetFeeds> feeds(new RemoteSetFeeds());
  std::string pattern = (scratch_parent() / "gate-remote-verify-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    return util::fail("unable to create a temporary directory: " + util::errno_text(errno));
  feeds->m_dir = pattern;
  std::vector<std::string> files{"checksums.sha256"};
  for (const auto &a : manifest.artifacts)
    for (const auto &f : a.files)
      files.push_back(f.path);
  for (const auto &relative : files) {
    if (must_be_regular(manifest, relative)) {
      TRY(feeds->materialize(remote, manifest.id, relative));
      continue;
    }
    TRY_ASSIGN(auto feed,
               RemoteFeed::start(remote, manifest.id, relative, feeds->m_dir / relative));
    feeds->m_feeds.push_back(std::move(feed));
  }
  return feeds;
}

util::Result<void> RemoteSetFeeds::materialize(const config::RemoteConfig &remote,
                                               const std::string &id, const std::string &relative) {
  TRY_ASSIGN(auto store, model::S3SetStore::open(remote));
  fs::path dest = m_dir / relative;
  TRY(util::make_dirs(dest.parent_path(), 0700));
  auto got = store->download(id, relative, dest);
  if (got)
    m_downloaded[relative].complete.push_back(*got);
  else
    m_downloaded[relative].error = got.error().message; // the verification finds it absent
  return {};
}

RemoteSetFeeds::~RemoteSetFeeds() {
  m_feeds.clear(); // every thread joined before the pipes go
  if (!m_dir.empty()) (void)util::remove_tree(m_dir);
}

FeedPasses RemoteSetFeeds::passes(const std::string &relative) const {
  if (auto it = m_downloaded.find(relative); it != m_downloaded.end()) return it->second;
  for (const auto &f : m_feeds)
    if (f->relative() == relative) return f->passes();
  return {};
}

} // namespace gate::ops

// A remote set offered to the local verification as a directory of FIFOs, so
// that `gate verify --remote` reads every byte through the same read-back as
// a local verify while nothing reaches a disk: each file of the set is a
// named pipe, and each time a reader opens one its object is downloaded into
// it on a thread of its own, hashed on the way. A reader that stops early
// (pg_restore --list reads only a dump's head) ends that pass; the passes
// that reached the end say what the remote holds.
#pragma once

#include "model/manifest.hpp"
#include "model/s3_store.hpp"
#include "util/s3_client.hpp"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gate::ops {

// What the downloads of one file delivered.
struct FeedPasses {
  std::vector<util::S3GetResult> complete; // passes that reached the end of the object
  std::string error;                       // why the last unfinished pass stopped
};

class RemoteFeed {
public:
  // Serves `relative` of set `id` at the FIFO `fifo` (created here) through
  // a client of its own on `remote`.
  static util::Result<std::unique_ptr<RemoteFeed>> start(const config::RemoteConfig &remote,
                                                         const std::string &id,
                                                         const std::string &relative,
                                                         const std::filesystem::path &fifo);
  ~RemoteFeed(); // stops serving and joins its thread
  const std::string &relative() const { return m_relative; }
  FeedPasses passes() const;

private:
  RemoteFeed() = default;
  void serve();
  void serve_one(int fd);
  bool wait_for_reader(std::chrono::milliseconds &poll);

  std::unique_ptr<model::S3SetStore> m_store;
  std::string m_id, m_relative;
  std::filesystem::path m_fifo;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  FeedPasses m_passes;
  std::thread m_thread;
};

// A temporary directory of FIFOs, one per file of `manifest` and one for its
// checksums.sha256, each fed from the remote; removed with everything in it
// when this goes away. It lives in /dev/shm (memory) where there is one: the
// table of contents of a directory-format dump must be a regular file
// (pg_restore checks), so that one small file is downloaded whole.
class RemoteSetFeeds {
public:
  static util::Result<std::unique_ptr<RemoteSetFeeds>> start(const config::RemoteConfig &remote,
                                                             const model::Manifest &manifest);
  ~RemoteSetFeeds();
  const std::filesystem::path &dir() const { return m_dir; }
  // What the downloads of `relative` delivered.
  FeedPasses passes(const std::string &relative) const;

private:
  RemoteSetFeeds() = default;
  util::Result<void> materialize(const config::RemoteConfig &remote, const std::string &id,
                                 const std::string &relative);

  std::filesystem::path m_dir;
  std::vector<std::unique_ptr<RemoteFeed>> m_feeds;
  std::map<std::string, FeedPasses> m_downloaded; // the regular files, by relative path
};

} // namespace gate::ops

// The set store in an S3 bucket: a remote's sets under PREFIX/<id>/, each
// file at its relative path. There is no rename: the commit is manifest.json,
// written last, after every file it names was uploaded, its SHA-256 (the
// signed payload's) matched the manifest and a HEAD confirmed its size (and
// the server's SHA-256 where it keeps one), so a set without manifest.json is
// never listed. A delete removes manifest.json first for the same reason.
// Many hosts may share a bucket under their own prefixes.
#pragma once

#include "config/remotes.hpp"
#include "model/set_store.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace gate::util {
class S3Client;
struct S3GetResult;
} // namespace gate::util

namespace gate::model {

class S3SetStore final : public SetStore {
public:
  // Resolves the remote's credentials and prepares its client; sends nothing.
  // `on_sent` hears of the bytes of file uploads as they go (progress).
  static util::Result<std::unique_ptr<S3SetStore>> open(const config::RemoteConfig &remote,
                                                        std::function<void(uint64_t)> on_sent = {});
  ~S3SetStore() override;

  std::string location() const override;
  util::Result<std::vector<SetInfo>> list(IncludeFailed include_failed) const override;
  util::Result<void> read_file(const std::string &id, const std::string &relative,
                               const std::filesystem::path &dest) const override;
  util::Result<std::unique_ptr<SetWriter>> begin(const std::string &id) override;
  util::Result<void> remove(const std::string &id) override;

  // The key of `relative` in set `id`, and its s3://bucket/key for messages.
  std::string key(const std::string &id, const std::string &relative) const;
  // The key every set's keys start with (PREFIX/).
  std::string root_key() const;
  // The client, for sweeps over the prefix (retention): one request at a
  // time, never while a writer of this store is open.
  util::S3Client &client() const { return *m_client; }
  std::string uri(const std::string &id, const std::string &relative) const;
  const config::RemoteConfig &remote() const { return m_remote; }

  // Downloads `relative` of set `id` into `dest` (as read_file), saying what
  // arrived: its size and the SHA-256 of the bytes written.
  util::Result<util::S3GetResult> download(const std::string &id, const std::string &relative,
                                           const std::filesystem::path &dest) const;
  // Streams `relative` of set `id` into `fd` (a pipe: nothing reaches a disk).
  util::Result<util::S3GetResult> stream(const std::string &id, const std::string &relative,
                                         int fd) const;
  // Every object of set `id`: its path relative to the set, and its size.
  util::Result<std::map<std::string, uint64_t>> object_sizes(const std::string &id) const;

private:
  S3SetStore(const config::RemoteConfig &remote, std::unique_ptr<util::S3Client> client);
  util::Result<std::optional<Manifest>> read_manifest(const std::string &id) const;

  const config::RemoteConfig &m_remote;
  std::unique_ptr<util::S3Client> m_client;
  mutable std::mutex m_mutex; // one request at a time on the client
  friend class S3SetWriter;
};

} // namespace gate::model

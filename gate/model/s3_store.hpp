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

// How many objects go up at once, each on its own connection (and memory: an
// upload streams through a 1 MiB buffer, util/s3_client.hpp): ops/offsite
// keeps all remotes written side by side within this, together.
inline constexpr size_t k_upload_connections = 4;

struct UploadClients;

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
  // A writer whose put_file() may be called from up to k_upload_connections
  // threads at once (ops/offsite does): each upload leases its own client.
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
  // The verifications of set `id` that `gate verify --remote` recorded in
  // `<id>/verifications.json` beside the manifest (which is never rewritten
  // once committed), oldest first; empty when there are none.
  util::Result<nlohmann::json> verifications(const std::string &id) const;
  // Appends `entry` ({at, level, ok, host, summary}) to that object, keeping
  // the last 50. Two verifies at once may lose one entry: it is advisory.
  util::Result<void> record_verification(const std::string &id, nlohmann::json entry);

  // Every object of set `id`: its path relative to the set, and its size.
  util::Result<std::map<std::string, uint64_t>> object_sizes(const std::string &id) const;

private:
  S3SetStore(const config::RemoteConfig &remote, std::unique_ptr<util::S3Client> client,
             std::unique_ptr<UploadClients> uploads);
  util::Result<std::optional<Manifest>> read_manifest(const std::string &id) const;

  const config::RemoteConfig &m_remote;
  std::unique_ptr<util::S3Client> m_client;
  mutable std::mutex m_mutex;               // one request at a time on the client
  std::unique_ptr<UploadClients> m_uploads; // the writers' file uploads, side by side
  friend class S3SetWriter;
};

} // namespace gate::model

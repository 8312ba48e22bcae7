#include "model/s3_store.hpp"

#include "model/backup_set.hpp"
#include "model/restore_doc.hpp"
#include "util/age_encoding.hpp"
#include "util/fault.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/s3_client.hpp"
#include "util/s3_credentials.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <set>
#include <sys/mman.h>
#include <unistd.h>

namespace gate::model {

namespace fs = std::filesystem;

namespace {

constexpr const char *k_manifest = "manifest.json";
constexpr const char *k_verifications = "verifications.json";

util::Error as_error(const util::S3Error &e) {
  return util::Error{e.kind, e.message};
}

// The body of a small object, read through an anonymous in-memory file.
util::Result<std::optional<std::string>> get_small(util::S3Client &client, const std::string &key) {
  util::UniqueFd fd(::memfd_create("gate-s3-object", MFD_CLOEXEC));
  if (fd.get() < 0) return util::fail("unable to create a memory file: " + util::errno_text(errno));
  auto got = client.get_object(key, fd.get());
  if (!got && got.error().code == "NoSuchKey") return std::optional<std::string>();
  if (!got) return std::unexpected(as_error(got.error()));
  std::string body(got->size, '\0');
  if (::pread(fd.get(), body.data(), body.size(), 0) != static_cast<ssize_t>(body.size()))
    return util::fail("unable to read back '" + key + "': " + util::errno_text(errno));
  return std::optional<std::string>(std::move(body));
}

// Why the server's x-amz-checksum-sha256 (base64 of the digest) does not
// match the hex digest sent, or "" when it matches or the server keeps none.
// A multipart object's checksum is of its parts' checksums ("...-N"): not comparable.
std::string checksum_mismatch(const std::string &server_b64, const std::string &sent_hex) {
  if (server_b64.empty() || server_b64.find('-') != std::string::npos) return "";
  std::string raw;
  for (size_t i = 0; i + 1 < sent_hex.size(); i += 2)
    raw.push_back(static_cast<char>(std::stoi(sent_hex.substr(i, 2), nullptr, 16)));
  std::string ours = util::age::base64_encode_raw(raw);
  while (ours.size() % 4)
    ours.push_back('=');
  if (server_b64 == ours) return "";
  return "has SHA-256 " + server_b64 + " on the server (base64), " + ours + " was sent";
}

} // namespace

// The clients file uploads lease, one per transfer in flight.
struct UploadClients {
  std::mutex mutex;
  std::condition_variable returned;
  std::vector<std::unique_ptr<util::S3Client>> idle;

  // A client for one upload, back in the pool when it goes out of scope.
  class Lease {
  public:
    Lease(UploadClients &pool, std::unique_ptr<util::S3Client> client)
        : m_pool(pool), m_client(std::move(client)) {}
    ~Lease() {
      std::lock_guard lock(m_pool.mutex);
      m_pool.idle.push_back(std::move(m_client));
      m_pool.returned.notify_one();
    }
    Lease(const Lease &) = delete;
    Lease &operator=(const Lease &) = delete;
    util::S3Client *operator->() const { return m_client.get(); }

  private:
    UploadClients &m_pool;
    std::unique_ptr<util::S3Client> m_client;
  };

  Lease lease() {
    std::unique_lock lock(mutex);
    returned.wait(lock, [this] { return !idle.empty(); });
    auto client = std::move(idle.back());
    idle.pop_back();
    return Lease(*this, std::move(client));
  }
};

// A set being uploaded: every file put is remembered with the SHA-256 that
// was signed and sent, and commit() checks them against the manifest before
// it writes manifest.json.
class S3SetWriter final : public SetWriter {
public:
  S3SetWriter(S3SetStore &store, std::string id) : m_store(store), m_id(std::move(id)) {}
  ~S3SetWriter() override {
    if (!m_done) abandon("the upload ended without a commit");
  }
  std::string id() const override { return m_id; }

  // Thread-safe: uploads run side by side, each on a leased client.
  util::Result<void> put_file(const std::string &relative, const fs::path &source) override {
    std::string key = m_store.key(m_id, relative);
    {
      std::lock_guard lock(m_mutex);
      m_keys.push_back(key); // before it is sent: an abandon removes a half-stored object too
    }
    auto client = m_store.m_uploads->lease();
    auto put = client->put_object(key, source);
    if (!put) return std::unexpected(as_error(put.error()));
    {
      std::lock_guard lock(m_mutex);
      m_sent[relative] = {key, put->size, put->sha256};
    }
    util::fault_point("offsite.after-object"); // inert unless a test set it (util/fault.hpp)
    return {};
  }

  // Every object uploaded, as the server now describes it: the size, and the
  // SHA-256 where the server keeps one. Only then may the manifest go up.
  util::Result<void> confirm() {
    std::lock_guard lock(m_store.m_mutex);
    for (const auto &[relative, sent] : m_sent) {
      auto head = m_store.m_client->head_object(sent.key);
      if (!head) return std::unexpected(as_error(head.error()));
      std::string problem =
          !*head ? "is missing after its upload"
          : (*head)->size != sent.size
              ? fmt::format("has {} bytes, {} were sent", (*head)->size, sent.size)
              : checksum_mismatch((*head)->checksum_sha256, sent.sha256);
      if (!problem.empty())
        return util::fail(
            fmt::format("{}: '{}' of set '{}' {}", m_store.location(), relative, m_id, problem));
    }
    return {};
  }

  util::Result<void> commit(const Manifest &manifest) override {
    if (!manifest.verified_level())
      return util::fail("set '" + m_id + "' has artifacts that did not pass verification");
    for (const auto &a : manifest.artifacts)
      for (const auto &f : a.files)
        if (auto it = m_sent.find(f.path); it == m_sent.end() || it->second.sha256 != f.sha256)
          return util::fail(fmt::format(
              "{}: '{}' of set '{}' was {} (the manifest says {})", m_store.location(), f.path,
              m_id, it == m_sent.end() ? "not uploaded" : "uploaded as " + it->second.sha256,
              f.sha256));
    TRY(confirm());
    std::lock_guard lock(m_store.m_mutex);
    auto &client = *m_store.m_client;
    for (const auto &[name, body] :
         {std::pair<std::string, std::string>{"checksums.sha256", checksum_lines(manifest)},
          {"RESTORE.md", restore_markdown(manifest, m_store.location() + "/" + m_id)},
          {k_manifest, to_json(manifest).dump(2) + "\n"}}) { // the commit: written last
      if (name == k_manifest) util::fault_point("offsite.before-manifest");
      std::string key = m_store.key(m_id, name);
      m_keys.push_back(key);
      if (auto put = client.put_object_bytes(key, body); !put)
        return std::unexpected(as_error(put.error()));
    }
    m_done = true;
    return {};
  }

  void abandon(const std::string &reason) override {
    if (m_done) return;
    m_done = true;
    util::log_warn("{}: giving up set '{}' ({}); removing what was uploaded", m_store.location(),
                   m_id, reason);
    std::lock_guard lock(m_store.m_mutex);
    auto deleted = m_store.m_client->delete_objects(m_keys);
    std::string problem = !deleted ? deleted.error().message
                          : deleted->errors.empty() // a backup-only key may not delete
                              ? ""
                              : fmt::format("{} object(s) could not be removed ({})",
                                            deleted->errors.size(), deleted->errors[0].code);
    if (!problem.empty())
      util::log_warn("{}: {}\nwhat stays of set '{}' has no manifest.json: it is never listed, "
                     "and a prune with delete rights removes it after a day",
                     m_store.location(), problem, m_id);
  }

private:
  S3SetStore &m_store;
  std::string m_id;
  std::mutex m_mutex; // m_keys and m_sent, filled by uploads side by side
  std::vector<std::string> m_keys;
  struct Sent {
    std::string key;
    uint64_t size = 0;
    std::string sha256;
  };
  std::map<std::string, Sent> m_sent; // relative path -> what was sent
  bool m_done = false;
};

S3SetStore::S3SetStore(const config::RemoteConfig &remote, std::unique_ptr<util::S3Client> client,
                       std::unique_ptr<UploadClients> uploads)
    : m_remote(remote), m_client(std::move(client)), m_uploads(std::move(uploads)) {}
S3SetStore::~S3SetStore() = default;

util::Result<std::unique_ptr<S3SetStore>> S3SetStore::open(const config::RemoteConfig &remote,
                                                           std::function<void(uint64_t)> on_sent) {
  TRY_ASSIGN(auto credentials, config::remote_credentials(remote));
  auto options = config::s3_client_options(remote);
  options.on_sent = std::move(on_sent); // called from every upload thread
  auto uploads = std::make_unique<UploadClients>();
  for (size_t i = 0; i < k_upload_connections; ++i) { // creating one sends nothing
    TRY_ASSIGN(auto client, util::S3Client::create(options, credentials));
    uploads->idle.push_back(std::make_unique<util::S3Client>(std::move(client)));
  }
  TRY_ASSIGN(auto client, util::S3Client::create(std::move(options), credentials));
  return std::unique_ptr<S3SetStore>(new S3SetStore(
      remote, std::make_unique<util::S3Client>(std::move(client)), std::move(uploads)));
}

std::string S3SetStore::location() const {
  return "remote '" + m_remote.name + "' (" + util::s3_uri(m_remote.bucket, m_remote.prefix) + ")";
}

std::string S3SetStore::key(const std::string &id, const std::string &relative) const {
  return config::remote_key(m_remote, id + "/" + relative);
}

std::string S3SetStore::root_key() const {
  return config::remote_key(m_remote, "");
}

util::Result<std::optional<Manifest>> S3SetStore::read_manifest(const std::string &id) const {
  std::lock_guard lock(m_mutex);
  TRY_ASSIGN(auto body, get_small(*m_client, key(id, k_manifest)));
  if (!body) return std::optional<Manifest>();
  auto json = nlohmann::json::parse(*body, nullptr, false);
  if (json.is_discarded()) return util::fail(key(id, k_manifest) + " is not valid JSON");
  TRY_ASSIGN(auto m, manifest_from_json(json));
  return std::optional<Manifest>(std::move(m));
}

util::Result<std::vector<SetInfo>> S3SetStore::list(IncludeFailed include_failed) const {
  std::set<std::string> ids;
  {
    std::lock_guard lock(m_mutex);
    std::string root = config::remote_key(m_remote, "");
    auto objects = m_client->list_objects(root);
    if (!objects) return std::unexpected(as_error(objects.error()));
    const std::string tail = std::string("/") + k_manifest;
    for (const auto &o : *objects)
      if (o.key.size() > root.size() + tail.size() && o.key.ends_with(tail) &&
          o.key.find('/', root.size()) == o.key.size() - tail.size())
        ids.insert(o.key.substr(root.size(), o.key.size() - root.size() - tail.size()));
  }
  std::vector<SetInfo> out;
  for (const auto &id : ids) {
    SetInfo info;
    info.id = id;
    auto m = read_manifest(id);
    if (m && *m)
      info.manifest = std::move(**m);
    else
      info.problem = m ? "manifest.json vanished while listing" : m.error().message;
    info.failed = !info.manifest || info.manifest->status != "complete";
    if (info.failed && include_failed == IncludeFailed::no) continue;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const SetInfo &a, const SetInfo &b) {
    std::string ta = a.manifest ? a.manifest->created_at : "",
                tb = b.manifest ? b.manifest->created_at : "";
    return ta != tb ? ta > tb : a.id > b.id;
  });
  return out;
}

util::Result<void> S3SetStore::read_file(const std::string &id, const std::string &relative,
                                         const fs::path &dest) const {
  std::lock_guard lock(m_mutex);
  auto got = m_client->get_object(key(id, relative), dest);
  if (!got) return std::unexpected(as_error(got.error()));
  return {};
}

util::Result<util::S3GetResult> S3SetStore::download(const std::string &id,
                                                     const std::string &relative,
                                                     const fs::path &dest) const {
  std::lock_guard lock(m_mutex);
  auto got = m_client->get_object(key(id, relative), dest);
  if (!got) return std::unexpected(as_error(got.error()));
  return *got;
}

util::Result<util::S3GetResult> S3SetStore::stream(const std::string &id,
                                                   const std::string &relative, int fd) const {
  std::lock_guard lock(m_mutex);
  auto got = m_client->get_object(key(id, relative), fd);
  if (!got) return std::unexpected(as_error(got.error()));
  return *got;
}

util::Result<nlohmann::json> S3SetStore::verifications(const std::string &id) const {
  std::lock_guard lock(m_mutex);
  TRY_ASSIGN(auto body, get_small(*m_client, key(id, k_verifications)));
  if (!body) return nlohmann::json::array();
  auto json = nlohmann::json::parse(*body, nullptr, false);
  if (!json.is_array()) return util::fail(uri(id, k_verifications) + " is not a JSON array");
  return json;
}

util::Result<void> S3SetStore::record_verification(const std::string &id, nlohmann::json entry) {
  auto earlier = verifications(id);
  nlohmann::json all = earlier ? *earlier : nlohmann::json::array(); // a damaged one starts over
  all.push_back(std::move(entry));
  constexpr size_t k_kept = 50;
  if (all.size() > k_kept) all.erase(all.begin(), all.end() - k_kept);
  std::lock_guard lock(m_mutex);
  auto put = m_client->put_object_bytes(key(id, k_verifications), all.dump(2) + "\n");
  if (!put) return std::unexpected(as_error(put.error()));
  return {};
}

util::Result<std::map<std::string, uint64_t>>
S3SetStore::object_sizes(const std::string &id) const {
  std::lock_guard lock(m_mutex);
  std::string root = key(id, "");
  auto objects = m_client->list_objects(root);
  if (!objects) return std::unexpected(as_error(objects.error()));
  std::map<std::string, uint64_t> sizes;
  for (const auto &o : *objects)
    sizes[o.key.substr(root.size())] = o.size;
  return sizes;
}

std::string S3SetStore::uri(const std::string &id, const std::string &relative) const {
  return util::s3_uri(m_remote.bucket, key(id, relative));
}

util::Result<std::unique_ptr<SetWriter>> S3SetStore::begin(const std::string &id) {
  TRY_ASSIGN(auto existing, read_manifest(id));
  if (existing) return util::fail("a backup set '" + id + "' already exists in " + location());
  return std::unique_ptr<SetWriter>(new S3SetWriter(*this, id));
}

util::Result<void> S3SetStore::remove(const std::string &id) {
  std::lock_guard lock(m_mutex);
  // manifest.json first: from then on the set is not listed, whatever is left.
  auto first = m_client->delete_objects({key(id, k_manifest)});
  if (!first) return std::unexpected(as_error(first.error()));
  auto objects = m_client->list_objects(key(id, ""));
  if (!objects) return std::unexpected(as_error(objects.error()));
  std::vector<std::string> keys;
  for (const auto &o : *objects)
    keys.push_back(o.key);
  auto rest = m_client->delete_objects(keys);
  if (!rest) return std::unexpected(as_error(rest.error()));
  return {};
}

} // namespace gate::model

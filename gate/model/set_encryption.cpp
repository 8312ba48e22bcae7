#include "model/set_encryption.hpp"

#include "util/age_file.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace gate::model {

namespace fs = std::filesystem;
using nlohmann::json;

nlohmann::json encryption_description(const util::age::Recipients &recipients) {
  json j{{"format", "age-v1"}};
  if (recipients.passphrase) {
    j["passphrase"] = "scrypt";
    return j;
  }
  j["recipients"] = json::array();
  for (const auto &r : recipients.x25519)
    j["recipients"].push_back(r.encode());
  return j;
}

namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void remove_quietly(const std::vector<fs::path> &paths) {
  std::error_code ec;
  for (const auto &p : paths)
    fs::remove(p, ec);
}

// One file: plaintext in, `.age` out, the input proven to be what was verified.
util::Result<StoredFile> encrypt_one(const StoredFile &file, const fs::path &from_dir,
                                     const fs::path &to_dir,
                                     const util::age::Recipients &recipients) {
  fs::path output = to_dir / (file.path + k_age_suffix);
  std::error_code ec;
  fs::create_directories(output.parent_path(), ec);
  if (ec)
    return util::fail("unable to create '" + output.parent_path().string() + "': " + ec.message());
  // Durable later: a local set is fsynced as a tree when sealed; an off-site
  // staging copy is read once and removed.
  TRY_ASSIGN(auto stats, util::age::encrypt_file(from_dir / file.path, output, recipients,
                                                 util::age::Durability::later));
  if (stats.plaintext_sha256 != file.sha256 || stats.plaintext_bytes != file.bytes) {
    remove_quietly({output});
    return util::fail(fmt::format("'{}' changed after it was verified: encrypted {} bytes with "
                                  "sha256 {}, the manifest says {} bytes with sha256 {}",
                                  file.path, stats.plaintext_bytes, stats.plaintext_sha256,
                                  file.bytes, file.sha256));
  }
  return StoredFile{file.path + k_age_suffix, stats.ciphertext_bytes, stats.ciphertext_sha256,
                    StoredFile::Plaintext{stats.plaintext_bytes, stats.plaintext_sha256}};
}

} // namespace

util::Result<Artifact> encrypt_artifact(const Artifact &artifact, const fs::path &from_dir,
                                        const fs::path &to_dir,
                                        const util::age::Recipients &recipients,
                                        bool remove_plaintext) {
  if (artifact.encrypted()) return artifact;
  Artifact out = artifact;
  out.files.clear();
  std::vector<fs::path> written;
  for (const auto &file : artifact.files) {
    auto sealed = encrypt_one(file, from_dir, to_dir, recipients);
    if (!sealed) {
      remove_quietly(written);
      return std::unexpected(sealed.error());
    }
    written.push_back(to_dir / sealed->path);
    out.files.push_back(std::move(*sealed));
  }
  if (remove_plaintext) {
    std::vector<fs::path> plain;
    for (const auto &file : artifact.files)
      plain.push_back(from_dir / file.path);
    remove_quietly(plain);
  }
  out.encryption = encryption_description(recipients);
  return out;
}

util::Result<std::vector<Artifact>> encrypt_artifacts(const std::vector<Artifact> &artifacts,
                                                      const fs::path &from_dir,
                                                      const fs::path &to_dir,
                                                      const util::age::Recipients &recipients) {
  std::vector<std::optional<util::Result<Artifact>>> done(artifacts.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < artifacts.size();)
      done[i] = encrypt_artifact(artifacts[i], from_dir, to_dir, recipients, false);
  };
  size_t threads = recipients.passphrase ? 1 : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < std::min(threads, artifacts.size()); ++t)
    pool.emplace_back(worker);
  worker();
  for (auto &t : pool)
    t.join();
  std::optional<util::Error> failure;
  for (const auto &d : done)
    if (!*d && !failure) failure = d->error();
  std::vector<Artifact> out;
  for (size_t i = 0; i < done.size(); ++i) {
    if (!*done[i]) continue;
    if (failure && !artifacts[i].encrypted()) // only what this call wrote
      for (const auto &f : (*done[i])->files)
        remove_quietly({to_dir / f.path});
    out.push_back(std::move(**done[i]));
  }
  if (failure) return std::unexpected(*failure);
  return out;
}

std::string plaintext_path(const StoredFile &file) {
  if (file.plaintext && ends_with(file.path, k_age_suffix))
    return file.path.substr(0, file.path.size() - std::string(k_age_suffix).size());
  return file.path;
}

Artifact plaintext_view(const Artifact &artifact) {
  if (!artifact.encrypted()) return artifact;
  Artifact out = artifact;
  for (auto &f : out.files) {
    if (!f.plaintext) continue;
    f = StoredFile{plaintext_path(f), f.plaintext->bytes, f.plaintext->sha256, std::nullopt};
  }
  out.encryption = json();
  return out;
}

Manifest plaintext_view(const Manifest &manifest) {
  Manifest out = manifest;
  for (auto &a : out.artifacts)
    a = plaintext_view(a);
  return out;
}

std::string describe_recipients(const Artifact &artifact) {
  if (!artifact.encrypted()) return "nobody";
  if (artifact.encryption.contains("passphrase")) return "a passphrase (scrypt)";
  std::vector<std::string> keys;
  for (const auto &r : artifact.encryption.value("recipients", json::array()))
    keys.push_back(r.get<std::string>());
  return util::join(keys, ", ");
}

} // namespace gate::model

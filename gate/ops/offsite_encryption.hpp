// Encryption where sets leave gate's hands: a local set with
// `encryption.local: true` is stored encrypted (model/set_encryption.hpp),
// and whenever `encryption:` is configured what goes to a remote is
// encrypted, even when the local set is plaintext — the copy holds `.age`
// files and its own manifest.json and checksums.sha256 describing them.
#pragma once

#include "config/pipeline.hpp"
#include "model/backup_set.hpp"
#include "model/manifest.hpp"

#include <filesystem>
#include <memory>

namespace gate::ops {

// Makes `pending` encrypt itself when it seals, if encryption.local is set.
// Fails (a config error naming its place) on an unset passphrase variable.
util::Result<void> encrypt_local_set(const config::PipelineConfig &config,
                                     model::PendingSet &pending);

// What a remote receives: the sealed set as it is (already encrypted, or no
// encryption configured), or an encrypted copy of its files staged under
// backup_root (0700), removed when this is destroyed.
class OutgoingSet {
public:
  // Encrypts the plaintext artifacts of the set in `set_dir` when
  // encryption is configured. Fails, leaving nothing staged, when a file
  // cannot be encrypted or is not the plaintext the manifest recorded.
  static util::Result<std::unique_ptr<OutgoingSet>> prepare(const config::PipelineConfig &config,
                                                            const model::Manifest &manifest,
                                                            const std::filesystem::path &set_dir);
  ~OutgoingSet();
  OutgoingSet(const OutgoingSet &) = delete;
  OutgoingSet &operator=(const OutgoingSet &) = delete;

  const model::Manifest &manifest() const { return m_manifest; }
  // The directory the artifact files (and gate.log) are read from.
  const std::filesystem::path &dir() const { return m_dir; }

private:
  OutgoingSet() = default;
  model::Manifest m_manifest;
  std::filesystem::path m_dir;
  bool m_staged = false;
};

} // namespace gate::ops

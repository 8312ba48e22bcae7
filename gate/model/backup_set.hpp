// The set a command works on: a new one being written into the local store
// (PendingSet, the store's SetWriter) or a stored one being re-verified
// (StoredSet). A new set is renamed to its final name only after it verified;
// nothing else is ever listed as usable (model/local_store.hpp).
#pragma once

#include "model/local_store.hpp"
#include "model/manifest.hpp"
#include "util/age_keys.hpp"
#include "util/expected.hpp"
#include "util/time.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gate::model {

namespace fs = std::filesystem;

// The set a command is working on: a new one being written (PendingSet) or a
// stored one being re-verified. Thread-safe.
class SetHandle {
public:
  virtual ~SetHandle() = default;
  virtual const fs::path &dir() const = 0;
  virtual std::string id() const = 0;
  virtual Manifest manifest() const = 0;
  virtual void add_artifact(Artifact artifact) = 0;
  virtual void add_verification(Verification verification) = 0;
  // Sets details[key] of the artifact at `path` (a standby's record, kept
  // with the artifact it was restored from); nothing when there is none or
  // the set is only read.
  virtual void set_artifact_detail(const std::string &, const std::string &, nlohmann::json) {}
  // True for a sealed set on disk, whose checksums.sha256 must agree with
  // its manifest; false for a set still being written.
  virtual bool sealed_on_disk() const { return false; }
};

class PendingSet : public SetHandle, public SetWriter {
public:
  // Creates backup_root/.partial-<id>/ (0700) with its gate.log, under a new
  // id for `kind`. `base` holds the manifest fields known up front (project,
  // git...). A non-empty `host_tag` goes into the id (model/set_id.hpp).
  static util::Result<std::unique_ptr<PendingSet>> create(const LocalSetStore &store,
                                                          const std::string &kind, Manifest base,
                                                          const std::string &host_tag = "");
  // The same under a given id (a set copied from another store).
  static util::Result<std::unique_ptr<PendingSet>>
  create_with_id(const LocalSetStore &store, const std::string &id, Manifest base);
  ~PendingSet() override; // an undecided set is kept as failed ("abandoned")

  const fs::path &dir() const override { return m_dir; }
  std::string id() const override { return m_id; }
  Manifest manifest() const override;
  void add_artifact(Artifact artifact) override;
  void add_verification(Verification verification) override;
  void set_artifact_detail(const std::string &path, const std::string &key,
                           nlohmann::json value) override;
  void set_timing(const std::string &key, long long ms);
  void set_extra(const std::string &key, nlohmann::json value);
  // Stores the set encrypted to `recipients` (encryption.local: true): seal()
  // encrypts every artifact file after all verification of the plaintext, and
  // a set kept as failed is encrypted too (or its plaintext files removed).
  void encrypt_to(util::age::Recipients recipients);

  // Writes manifest.json, checksums.sha256 and RESTORE.md, fsyncs the tree and
  // renames it to backup_root/<id>. Fails (and changes nothing else) when any
  // artifact has not passed verification.
  util::Result<fs::path> seal();
  bool sealed() const { return m_state == State::sealed; }
  // Keeps the set as .failed-<id> with the reason in its manifest and log.
  void mark_failed(const std::string &reason);

  // SetWriter: a copy into the partial directory; seal() with `manifest`;
  // mark_failed().
  util::Result<void> put_file(const std::string &relative, const fs::path &source) override;
  util::Result<void> commit(const Manifest &manifest) override;
  void abandon(const std::string &reason) override { mark_failed(reason); }
  // Removes the partial set entirely (interrupted runs).
  void discard();

private:
  enum class State { open, sealed, failed, discarded };
  PendingSet() = default;
  util::Result<void> write_checksums(const Manifest &m) const;
  util::Result<Manifest> encrypted(Manifest m) const;
  void encrypt_or_remove_plaintext(Manifest &m) const;

  const LocalSetStore *m_store = nullptr;
  std::string m_id;
  fs::path m_dir;
  fs::path m_final_dir;
  State m_state = State::open;
  int m_log_sink = 0;
  int m_log_fd = -1;
  mutable std::mutex m_mutex;
  Manifest m_manifest;
  std::optional<util::age::Recipients> m_recipients;
};

// A stored set opened for re-verification: verifications are saved into its
// manifest.json by save().
class StoredSet : public SetHandle {
public:
  explicit StoredSet(SetInfo info);
  const fs::path &dir() const override { return m_info.dir; }
  std::string id() const override { return m_info.id; }
  Manifest manifest() const override;
  void add_artifact(Artifact artifact) override;
  void add_verification(Verification verification) override;
  void set_artifact_detail(const std::string &path, const std::string &key,
                           nlohmann::json value) override;
  bool sealed_on_disk() const override { return true; }
  util::Result<void> save();
  // Renames the set to .failed-<id> after a failed re-verification.
  util::Result<void> mark_failed(const std::string &reason);

private:
  SetInfo m_info;
  mutable std::mutex m_mutex;
  Manifest m_manifest;
};

// The file a partial set of an encrypted-local pipeline carries: its
// plaintext must not outlive the set, so a gate that finds the set after its
// writer died removes the plaintext (LocalSetStore::recover_leftovers).
inline constexpr const char *k_encrypt_local_marker = ".encrypt-local";

// Removes every file under `set_dir` except gate.log, manifest.json,
// checksums.sha256 and the relative paths in `keep`, then the directories
// left empty: what a failed or abandoned encrypted-local set keeps.
void remove_files_except(const fs::path &set_dir, const std::set<std::string> &keep);

// Sorted checksum lines "<sha256>  <path>" for every artifact file, the format
// `sha256sum -c` reads.
std::string checksum_lines(const Manifest &m);

// Empty when `set_dir`/checksums.sha256 says exactly what the manifest says
// (the file `sha256sum -c` reads must not tell another story than the one
// gate verifies); otherwise the first disagreement.
std::string checksums_disagreement(const Manifest &m, const fs::path &set_dir);

} // namespace gate::model

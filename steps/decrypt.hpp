// The one place through which gate reads an encrypted artifact: every
// read-back of `gate verify`, every deep verify and every rollback restore
// go through verify_artifact() and make_restore_job() (steps/registry.cpp),
// which call these. An encrypted artifact is decrypted with the identity into
// a private directory under backup_root (0700, files 0600); a file appears
// there only once every chunk of it authenticated and its plaintext SHA-256
// matched the manifest, and the directory is removed afterwards. The readers
// (pg_restore, tar, the CSV counter) then read plaintext files as for any set.
#pragma once

#include "config/pipeline.hpp"
#include "model/manifest.hpp"
#include "steps/restore_job.hpp"
#include "steps/verify/findings.hpp"
#include "util/age_keys.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gate::steps {

// The environment variable naming an identity file (as --identity does).
inline constexpr const char *k_identity_env = "GATE_AGE_IDENTITY_FILE";

// The identities that open `artifact` of set `set_id`: from `identity_file`
// (--identity), else GATE_AGE_IDENTITY_FILE, else encryption.identity_file,
// plus encryption.passphrase. Tried on the artifact's first file's header.
// Fails with ErrorKind::usage, changing nothing, when there is no identity,
// the identity file is unreadable or malformed, or no identity opens the
// file: "set X is encrypted to age1...; pass --identity FILE". A file whose
// header is damaged is left to the decryption to report.
util::Result<util::age::Identities>
identities_for(const config::PipelineConfig &config,
               const std::optional<std::filesystem::path> &identity_file, const std::string &set_id,
               const model::Artifact &artifact, const std::filesystem::path &set_dir);

// Whether anything is given to decrypt `artifact` with (an identity file from
// --identity, GATE_AGE_IDENTITY_FILE or the configuration, or the passphrase
// of a passphrase set); whether it opens the file is decided when it is read.
bool has_identity(const config::PipelineConfig &config,
                  const std::optional<std::filesystem::path> &identity_file,
                  const model::Artifact &artifact);

// Decrypted copies of some of a set's artifacts, removed when destroyed.
class DecryptedArtifacts;
struct Decryption {
  std::unique_ptr<DecryptedArtifacts> copy; // null when damaged
  // Why the set's files are not what was written, naming the file: it does
  // not authenticate (truncated, bit-flipped, tampered header, data
  // appended) or decrypts to other bytes than the manifest recorded.
  std::string damaged;
};

class DecryptedArtifacts {
public:
  // Decrypts the files of `which` (artifacts stored under `set_dir`) into a
  // new directory under `backup_root`. A damaged file is a verdict (nothing
  // of it is handed over); an Error means it could not be decided (disk full).
  static util::Result<Decryption> decrypt(const std::filesystem::path &backup_root,
                                          const std::string &set_id,
                                          const std::vector<const model::Artifact *> &which,
                                          const std::filesystem::path &set_dir,
                                          const util::age::Identities &identities);
  ~DecryptedArtifacts();
  DecryptedArtifacts(const DecryptedArtifacts &) = delete;
  DecryptedArtifacts &operator=(const DecryptedArtifacts &) = delete;

  // Where the plaintext files are, at their plaintext paths.
  const std::filesystem::path &dir() const { return m_dir; }

private:
  DecryptedArtifacts() = default;
  std::filesystem::path m_dir;
};

// The artifacts a reader of `artifact` needs decrypted: itself, and for a
// rollback of a database every dump of its target the restore may fall back to.
std::vector<const model::Artifact *> artifacts_to_decrypt(const model::Manifest &manifest,
                                                          const model::Artifact &artifact,
                                                          bool restore);

// Verifies an encrypted artifact: quick checks the ciphertext as stored;
// full and deep decrypt it and hand the plaintext to `verify` (the kind's
// own verification, on the plaintext view and directory). Without any
// identity, full checks the ciphertext's SHA-256 and says so (the plaintext
// was read back before it was encrypted), and deep refuses. A file that does
// not decrypt is a failed Finding naming it.
using PlaintextVerify =
    std::function<util::Result<Finding>(const model::Artifact &, const std::filesystem::path &)>;
util::Result<Finding> verify_encrypted(const model::Artifact &artifact,
                                       const std::filesystem::path &set_dir,
                                       model::VerifyLevel level, const RunContext &ctx,
                                       const PlaintextVerify &verify);

// Refuses, before anything is verified, a deep verify of encrypted
// artifacts without an identity that opens them, and a full one with an
// identity that does not (ErrorKind::usage). Identities that open one of the
// files pass: a file they do not open is then damaged, a verdict.
util::Result<void> check_decryptable(const RunContext &ctx, const model::Manifest &manifest,
                                     const std::vector<const model::Artifact *> &artifacts,
                                     const std::filesystem::path &set_dir,
                                     model::VerifyLevel level);

// A restore job of an encrypted set: `make` builds the kind's own job on the
// plaintext view; prepare() decrypts what it reads (refusing a damaged file
// before anything changes) and restore() hands it the decrypted directory.
using MakeJob = std::function<util::Result<std::unique_ptr<RestoreJob>>(const model::Manifest &,
                                                                        const model::Artifact &)>;
util::Result<std::unique_ptr<RestoreJob>>
make_encrypted_restore_job(const config::PipelineConfig &config, const model::Manifest &manifest,
                           const model::Artifact &artifact, const RestoreDestination &destination,
                           const MakeJob &make);

} // namespace gate::steps

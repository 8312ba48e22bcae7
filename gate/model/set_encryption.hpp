// A set's artifacts in the age format: encrypting them (a local set with
// `encryption.local: true`, an off-site copy), describing whom they are
// encrypted to in the manifest, and the plaintext view of an encrypted set
// that gate's readers (verify, restore) work on once it is decrypted.
#pragma once

#include "model/manifest.hpp"
#include "util/age_keys.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <string>

namespace gate::model {

// The suffix an encrypted file gets after its compression suffix.
inline constexpr const char *k_age_suffix = ".age";

// What the manifest says about `recipients`: their public keys, or that a
// passphrase (scrypt) protects the files; never the passphrase itself.
nlohmann::json encryption_description(const util::age::Recipients &recipients);

// Encrypts every file of `artifact` from `from_dir` into `to_dir` (the same
// directory for a local set) as `<path>.age` (0600), checking on the way that
// what was encrypted is exactly the plaintext the manifest recorded (its
// SHA-256), so the verification done on the plaintext holds for it. Returns
// the artifact describing the ciphertext files, not yet fsynced (the caller
// makes them durable: a set is fsynced as a tree). With `remove_plaintext`, each
// plaintext file is removed once its ciphertext is on disk. On failure the
// ciphertext files it wrote are removed again. An already encrypted artifact
// is returned unchanged.
util::Result<Artifact> encrypt_artifact(const Artifact &artifact,
                                        const std::filesystem::path &from_dir,
                                        const std::filesystem::path &to_dir,
                                        const util::age::Recipients &recipients,
                                        bool remove_plaintext);

// encrypt_artifact() for every artifact, side by side (one per core; one at
// a time for a passphrase, whose scrypt takes 256 MiB each). Plaintext is
// left in place. On failure every ciphertext file written is removed.
util::Result<std::vector<Artifact>> encrypt_artifacts(const std::vector<Artifact> &artifacts,
                                                      const std::filesystem::path &from_dir,
                                                      const std::filesystem::path &to_dir,
                                                      const util::age::Recipients &recipients);

// The artifact as its files read once decrypted: paths without `.age`, the
// plaintext sizes and SHA-256s. A plaintext artifact is returned as it is.
Artifact plaintext_view(const Artifact &artifact);
// The same for every artifact of a manifest.
Manifest plaintext_view(const Manifest &manifest);

// The plaintext path of a stored file (`x.dump.zst.age` -> `x.dump.zst`).
std::string plaintext_path(const StoredFile &file);

// "age1abc..., age1def..." or "a passphrase (scrypt)", for messages.
std::string describe_recipients(const Artifact &artifact);

} // namespace gate::model

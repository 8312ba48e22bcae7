#include "steps/decrypt.hpp"

#include "model/set_encryption.hpp"
#include "steps/postgres/restore.hpp"
#include "util/age_file.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fmt/format.h>

namespace gate::steps {

namespace fs = std::filesystem;
namespace age = util::age;

namespace {

// --identity, else the environment, else the configuration.
std::optional<fs::path> identity_path(const config::PipelineConfig &config,
                                      const std::optional<fs::path> &identity_file) {
  if (identity_file) return identity_file;
  if (const char *env = std::getenv(k_identity_env); env && *env) return fs::path(env);
  if (config.encryption && !config.encryption->identity_file.empty())
    return config.encryption->identity_file;
  return std::nullopt;
}

std::string refusal(const std::string &set_id, const model::Artifact &artifact,
                    const std::string &why) {
  bool passphrase = artifact.encryption.contains("passphrase");
  std::string to =
      passphrase ? "with a passphrase (scrypt)" : "to " + model::describe_recipients(artifact);
  std::string hint = passphrase ? "set the variable encryption.passphrase names"
                                : "pass --identity FILE (or set GATE_AGE_IDENTITY_FILE)";
  return fmt::format("set {} is encrypted {}{}; {}", set_id, to, why.empty() ? "" : "; " + why,
                     hint);
}

// Gathers what this host may decrypt with; an empty set when nothing is given.
util::Result<age::Identities> gather(const config::PipelineConfig &config,
                                     const std::optional<fs::path> &identity_file,
                                     const std::string &set_id, const model::Artifact &artifact) {
  age::Identities ids;
  if (auto path = identity_path(config, identity_file)) {
    auto parsed = age::read_identity_file(*path);
    if (!parsed)
      return util::fail(
          util::ErrorKind::usage,
          refusal(set_id, artifact, "unable to use the identity file: " + parsed.error().message));
    ids.x25519 = std::move(*parsed);
  }
  if (config.encryption && config.encryption->passphrase &&
      artifact.encryption.contains("passphrase")) {
    auto pass = config.encryption->passphrase->value();
    if (!pass)
      return util::fail(util::ErrorKind::usage, refusal(set_id, artifact, pass.error().message));
    ids.passphrase = age::Secret(std::move(*pass));
  }
  return ids;
}

// Whether `ids` open the header of `file` (the payload is read later).
util::Result<age::AgeFailure> try_header(const fs::path &file, const age::Identities &ids) {
  util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return util::fail("unable to read '" + file.string() + "': " + util::errno_text(errno));
  age::AgeDecryptor dec(age::fd_source(fd.get(), file.string()), file.string());
  if (auto opened = dec.open(ids); !opened) return dec.failure();
  return age::AgeFailure::none;
}

// Whether `ids` hold the secret of a recipient the manifest says `artifact`
// is encrypted to: then a header they do not open is damaged, not a wrong key.
bool holds_a_recipient(const age::Identities &ids, const model::Artifact &artifact) {
  const auto recipients = artifact.encryption.value("recipients", nlohmann::json::array());
  for (const auto &id : ids.x25519)
    for (const auto &r : recipients)
      if (r.is_string() && r.get<std::string>() == id.recipient().encode()) return true;
  return false;
}

} // namespace

// Whether anything is given to decrypt `artifact` with.
bool has_identity(const config::PipelineConfig &config,
                  const std::optional<fs::path> &identity_file, const model::Artifact &artifact) {
  if (identity_path(config, identity_file)) return true;
  return config.encryption && config.encryption->passphrase &&
         artifact.encryption.contains("passphrase");
}

// The identities given, refusing when there are none.
util::Result<age::Identities> given_identities(const config::PipelineConfig &config,
                                               const std::optional<fs::path> &identity_file,
                                               const std::string &set_id,
                                               const model::Artifact &artifact) {
  TRY_ASSIGN(auto ids, gather(config, identity_file, set_id, artifact));
  if (ids.x25519.empty() && !ids.passphrase)
    return util::fail(util::ErrorKind::usage, refusal(set_id, artifact, ""));
  return ids;
}

util::Result<age::Identities> identities_for(const config::PipelineConfig &config,
                                             const std::optional<fs::path> &identity_file,
                                             const std::string &set_id,
                                             const model::Artifact &artifact,
                                             const fs::path &set_dir) {
  TRY_ASSIGN(auto ids, given_identities(config, identity_file, set_id, artifact));
  if (artifact.files.empty()) return ids;
  // A remote copy is not here yet: its header is tried once it was fetched,
  // when the rollback makes its jobs again, still before anything changes.
  if (set_dir.empty()) return ids;
  const auto &first = artifact.files.front();
  TRY_ASSIGN(auto failure, try_header(set_dir / first.path, ids));
  if (failure == age::AgeFailure::no_match && !holds_a_recipient(ids, artifact))
    return util::fail(
        util::ErrorKind::usage,
        refusal(set_id, artifact, "the identity given does not open '" + first.path + "'"));
  return ids; // a damaged header is the decryption's verdict to give
}

DecryptedArtifacts::~DecryptedArtifacts() {
  if (m_dir.empty()) return;
  if (auto removed = util::remove_tree(m_dir); !removed)
    util::log_warn("unable to remove the decrypted copy '{}': {}", m_dir.string(),
                   removed.error().message);
}

namespace {

// One file into the copy; a non-empty string is the verdict on a damaged one.
util::Result<std::string> decrypt_one(const model::StoredFile &file, const fs::path &set_dir,
                                      const fs::path &into, const age::Identities &ids) {
  fs::path out = into / model::plaintext_path(file);
  TRY(util::make_dirs(out.parent_path(), 0700));
  age::AgeFailure failure = age::AgeFailure::none;
  auto stats = age::decrypt_file(set_dir / file.path, out, ids, &failure);
  if (!stats) {
    if (failure == age::AgeFailure::none || failure == age::AgeFailure::io)
      return std::unexpected(stats.error());
    return "'" + file.path + "' does not decrypt: " + stats.error().message;
  }
  if (stats->ciphertext_sha256 != file.sha256)
    return fmt::format("'{}' fails its checksum: sha256 {} but the manifest says {}", file.path,
                       stats->ciphertext_sha256, file.sha256);
  if (file.plaintext && stats->plaintext_sha256 != file.plaintext->sha256)
    return fmt::format("'{}' decrypts to sha256 {} but the manifest says {}", file.path,
                       stats->plaintext_sha256, file.plaintext->sha256);
  return std::string();
}

} // namespace

util::Result<Decryption>
DecryptedArtifacts::decrypt(const fs::path &backup_root, const std::string &set_id,
                            const std::vector<const model::Artifact *> &which,
                            const fs::path &set_dir, const age::Identities &identities) {
  std::string pattern = (backup_root / (".decrypted-" + set_id + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    return util::fail("unable to create a directory in '" + backup_root.string() +
                      "': " + util::errno_text(errno));
  Decryption out;
  out.copy.reset(new DecryptedArtifacts());
  out.copy->m_dir = pattern;
  for (const auto *artifact : which)
    for (const auto &file : artifact->files) {
      if (!file.plaintext) continue;
      TRY_ASSIGN(std::string damaged, decrypt_one(file, set_dir, out.copy->m_dir, identities));
      if (damaged.empty()) continue;
      out.copy.reset();
      out.damaged = std::move(damaged);
      return out;
    }
  return out;
}

std::vector<const model::Artifact *> artifacts_to_decrypt(const model::Manifest &manifest,
                                                          const model::Artifact &artifact,
                                                          bool restore) {
  std::vector<const model::Artifact *> out;
  if (artifact.encrypted()) out.push_back(&artifact);
  if (!restore || artifact.kind != "database") return out;
  for (const auto *candidate : restore_candidates(manifest, artifact.target))
    if (candidate->encrypted() && candidate->path != artifact.path) out.push_back(candidate);
  return out;
}

util::Result<Finding> verify_encrypted(const model::Artifact &artifact, const fs::path &set_dir,
                                       model::VerifyLevel level, const RunContext &ctx,
                                       const PlaintextVerify &verify) {
  if (level == model::VerifyLevel::quick) return verify(artifact, set_dir); // the ciphertext
  std::string set_id = ctx.set ? ctx.set->id() : set_dir.filename().string();
  if (level == model::VerifyLevel::full && !has_identity(ctx.config, ctx.identity_file, artifact)) {
    TRY_ASSIGN(Finding stored, verify_files_quick(artifact, set_dir));
    if (stored.ok)
      stored.note += "; encrypted: its plaintext was read back before it was encrypted (pass "
                     "--identity FILE to decrypt and read it back now)";
    return stored;
  }
  // Whether these open the set was asked by check_decryptable(): a file they
  // do not open now is damaged, and the decryption says so.
  TRY_ASSIGN(auto ids, given_identities(ctx.config, ctx.identity_file, set_id, artifact));
  // A deep verify restores the artifact itself (only a rollback falls back to another dump).
  std::vector<const model::Artifact *> which{&artifact};
  TRY_ASSIGN(auto decrypted,
             DecryptedArtifacts::decrypt(ctx.config.backup_root, set_id, which, set_dir, ids));
  if (!decrypted.copy) return finding_failed(decrypted.damaged);
  TRY_ASSIGN(Finding f, verify(model::plaintext_view(artifact), decrypted.copy->dir()));
  if (f.ok) f.note += " (decrypted, every chunk authenticated)";
  return f;
}

util::Result<void> check_decryptable(const RunContext &ctx, const model::Manifest &manifest,
                                     const std::vector<const model::Artifact *> &artifacts,
                                     const fs::path &set_dir, model::VerifyLevel level) {
  if (level == model::VerifyLevel::quick) return {};
  std::vector<const model::Artifact *> encrypted;
  for (const auto *a : artifacts)
    if (a->encrypted()) encrypted.push_back(a);
  if (encrypted.empty()) return {};
  // A deep verify cannot do without the plaintext; a full one can (see verify_encrypted).
  bool needed = level == model::VerifyLevel::deep;
  if (!needed && !has_identity(ctx.config, ctx.identity_file, *encrypted.front())) return {};
  // Refused only when the identities open none of the files: one they do not
  // open while they open another is damaged, a verdict for its verification.
  std::optional<util::Error> refused;
  for (const auto *a : encrypted) {
    auto ids = identities_for(ctx.config, ctx.identity_file, manifest.id, *a, set_dir);
    if (ids) return {};
    if (!refused) refused = ids.error();
    if (a->encryption.contains("passphrase")) break; // each try costs a second of scrypt
  }
  return std::unexpected(*refused);
}

namespace {

// The kind's own job, run on the plaintext view and the decrypted copy.
class EncryptedRestoreJob final : public RestoreJob {
public:
  EncryptedRestoreJob(const config::PipelineConfig &config, model::Manifest stored,
                      std::unique_ptr<model::Manifest> plain, age::Identities ids, fs::path set_dir)
      : m_config(config), m_stored(std::move(stored)), m_plain(std::move(plain)),
        m_ids(std::move(ids)), m_set_dir(std::move(set_dir)) {}

  void adopt(std::unique_ptr<RestoreJob> inner) { m_inner = std::move(inner); }
  const model::Manifest &plain() const { return *m_plain; }

  const std::string &target() const override { return m_inner->target(); }
  const model::Artifact &artifact() const override { return m_inner->artifact(); }
  const char *only_flag() const override { return m_inner->only_flag(); }
  bool replaces_live_data() const override { return m_inner->replaces_live_data(); }
  void plan(const model::Manifest &, const PlanLine &line) const override {
    m_inner->plan(*m_plain, line);
    line("    decrypted first (age; every chunk authenticated before it is restored)");
  }

  util::Result<void> prepare() override {
    const model::Artifact *stored = m_stored.find_artifact(m_inner->artifact().path);
    if (!stored) return util::fail("the set holds no '" + m_inner->artifact().path + "'");
    auto which = artifacts_to_decrypt(m_stored, *stored, true);
    TRY_ASSIGN(auto decrypted, DecryptedArtifacts::decrypt(m_config.backup_root, m_stored.id, which,
                                                           m_set_dir, m_ids));
    if (!decrypted.copy)
      return util::fail("set " + m_stored.id + " is damaged: " + decrypted.damaged);
    m_copy = std::move(decrypted.copy);
    return m_inner->prepare();
  }

  std::unique_ptr<Step> snapshot_step() override { return m_inner->snapshot_step(); }

  RestoreOutcome restore(const model::Manifest &, const fs::path &,
                         const std::function<void(uint64_t)> &progress) override {
    if (!m_copy) return {RestoreState::not_restored, "unchanged", "the set was not decrypted"};
    auto outcome = m_inner->restore(*m_plain, m_copy->dir(), progress);
    m_copy.reset(); // no plaintext stays behind
    return outcome;
  }

private:
  const config::PipelineConfig &m_config;
  model::Manifest m_stored;
  std::unique_ptr<model::Manifest> m_plain;
  age::Identities m_ids;
  fs::path m_set_dir;
  std::unique_ptr<RestoreJob> m_inner;
  std::unique_ptr<DecryptedArtifacts> m_copy;
};

} // namespace

util::Result<std::unique_ptr<RestoreJob>>
make_encrypted_restore_job(const config::PipelineConfig &config, const model::Manifest &manifest,
                           const model::Artifact &artifact, const RestoreDestination &destination,
                           const MakeJob &make) {
  const model::Artifact *encrypted = &artifact;
  for (const auto &a : manifest.artifacts)
    if (a.target == artifact.target && a.encrypted() && !encrypted->encrypted()) encrypted = &a;
  TRY_ASSIGN(auto ids, identities_for(config, destination.identity_file, manifest.id, *encrypted,
                                      destination.set_dir));
  auto plain = std::make_unique<model::Manifest>(model::plaintext_view(manifest));
  const model::Artifact *plain_artifact = plain->find_artifact(artifact.path);
  auto job = std::make_unique<EncryptedRestoreJob>(config, manifest, std::move(plain),
                                                   std::move(ids), destination.set_dir);
  TRY_ASSIGN(auto inner, make(job->plain(), *plain_artifact));
  if (!inner) return nullptr;
  job->adopt(std::move(inner));
  return std::unique_ptr<RestoreJob>(std::move(job));
}

} // namespace gate::steps

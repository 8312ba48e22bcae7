#include "ops/offsite_encryption.hpp"

#include "model/set_encryption.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <unistd.h>

namespace gate::ops {

namespace fs = std::filesystem;

util::Result<void> encrypt_local_set(const config::PipelineConfig &config,
                                     model::PendingSet &pending) {
  if (!config.encryption || !config.encryption->local) return {};
  TRY_ASSIGN(auto recipients, config::encryption_recipients(*config.encryption));
  pending.encrypt_to(std::move(recipients));
  return {};
}

OutgoingSet::~OutgoingSet() {
  if (!m_staged) return;
  if (auto removed = util::remove_tree(m_dir); !removed)
    util::log_warn("unable to remove the staged off-site copy '{}': {}", m_dir.string(),
                   removed.error().message);
}

namespace {

bool needs_encryption(const config::PipelineConfig &config, const model::Manifest &manifest) {
  if (!config.encryption) return false;
  for (const auto &a : manifest.artifacts)
    if (!a.encrypted()) return true;
  return false;
}

} // namespace

util::Result<std::unique_ptr<OutgoingSet>>
OutgoingSet::prepare(const config::PipelineConfig &config, const model::Manifest &manifest,
                     const fs::path &set_dir) {
  std::unique_ptr<OutgoingSet> out(new OutgoingSet());
  out->m_manifest = manifest;
  out->m_dir = set_dir;
  if (!needs_encryption(config, manifest)) return out;
  TRY_ASSIGN(auto recipients, config::encryption_recipients(*config.encryption));
  std::string pattern = (config.backup_root / (".offsite-" + manifest.id + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    return util::fail("unable to create a directory in '" + config.backup_root.string() +
                      "': " + util::errno_text(errno));
  out->m_dir = pattern;
  out->m_staged = true;
  auto sealed = model::encrypt_artifacts(manifest.artifacts, set_dir, out->m_dir, recipients);
  if (!sealed)
    return std::unexpected(
        sealed.error().with_context("unable to encrypt set '" + manifest.id + "' for off-site"));
  out->m_manifest.artifacts = std::move(*sealed);
  std::error_code ec;
  if (fs::exists(set_dir / "gate.log", ec))
    fs::copy_file(set_dir / "gate.log", out->m_dir / "gate.log", ec);
  if (ec) return util::fail("unable to stage gate.log for off-site: " + ec.message());
  return out;
}

} // namespace gate::ops

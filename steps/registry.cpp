#include "steps/registry.hpp"
#include "steps/swap.hpp"

#include "steps/postgres/rollback_job.hpp"
#include "steps/postgres/standby.hpp"
#include "steps/volume/rollback_job.hpp"

#include "steps/check/check.hpp"
#include "steps/decrypt.hpp"
#include "steps/exec/exec.hpp"
#include "steps/postgres/backup.hpp"
#include "steps/postgres/verify.hpp"
#include "steps/record/record.hpp"
#include "steps/verify/verify.hpp"
#include "steps/volume/backup.hpp"
#include "steps/volume/standby_swap.hpp"
#include "steps/volume/verify.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace gate::steps {

namespace {

using StepFactory = util::Result<Steps> (*)(const config::Node &, const config::PipelineConfig &);

util::Result<Steps> make_backup_from_node(const config::Node &node,
                                          const config::PipelineConfig &config) {
  TRY_ASSIGN(auto map, config::MapReader::open(node, "a backup step", {"backup"}));
  TRY_ASSIGN(auto target_node, map.require("backup"));
  TRY(map.finish());
  TRY_ASSIGN(std::string target, target_node.as_string());
  Steps steps;
  for (const auto &name :
       target == "all" ? config.target_names() : std::vector<std::string>{target}) {
    auto step = make_backup_step(name, config);
    if (!step) return std::unexpected(target_node.error(step.error().message));
    steps.push_back(std::move(*step));
  }
  return steps;
}

// Adapts a factory of one step to the table's shape.
template <util::Result<std::unique_ptr<Step>> (*Make)(const config::Node &,
                                                      const config::PipelineConfig &)>
util::Result<Steps> one(const config::Node &node, const config::PipelineConfig &config) {
  TRY_ASSIGN(auto step, Make(node, config));
  Steps steps;
  steps.push_back(std::move(step));
  return steps;
}

struct StepKind {
  const char *key;
  StepFactory make;
};

// Every step kind pipeline.yml accepts, found by the key that names it
// ({backup: app}, {check: sql, database: app, ...}).
const StepKind k_step_kinds[] = {
    {"check", one<make_check_step>},   {"backup", make_backup_from_node},
    {"verify", one<make_verify_step>}, {"record", one<make_record_step>},
    {"exec", one<make_exec_step>},
};

using VerifyFn = util::Result<Finding> (*)(const model::Artifact &, const std::filesystem::path &,
                                           model::VerifyLevel, const RunContext &,
                                           const util::ProgressFn &);

util::Result<Finding> verify_volume_artifact(const model::Artifact &a,
                                             const std::filesystem::path &dir,
                                             model::VerifyLevel level, const RunContext &ctx,
                                             const util::ProgressFn &progress) {
  return verify_volume(a, dir, level, ctx.config.backup_root, progress);
}

// Container configurations: present, checksummed, and (full) valid JSON.
util::Result<Finding> verify_container_configs(const model::Artifact &a,
                                               const std::filesystem::path &dir,
                                               model::VerifyLevel level, const RunContext &,
                                               const util::ProgressFn &) {
  TRY_ASSIGN(Finding quick, verify_files_quick(a, dir));
  if (!quick.ok || level == model::VerifyLevel::quick) return quick;
  for (const auto &f : a.files) {
    TRY_ASSIGN(std::string text, util::read_file(dir / f.path));
    if (nlohmann::json::parse(text, nullptr, false).is_discarded())
      return finding_failed("'" + f.path + "' is not valid JSON");
  }
  return finding_ok(quick.note + ", valid JSON");
}

using RestoreFactory = util::Result<std::unique_ptr<RestoreJob>> (*)(const config::PipelineConfig &,
                                                                     const model::Manifest &,
                                                                     const model::Artifact &,
                                                                     const RestoreDestination &);

struct ArtifactKind {
  const char *kind;
  VerifyFn verify;
  RestoreFactory restore;     // null: rollback does not restore this kind
  const char *rollback_group; // what `gate rollback --only` calls it
  const char *not_restored;   // for the plan, when rollback does not restore it
};

// How each kind of backup is verified (pgBackRest's verifyFile, per kind) and
// put back by a rollback.
const ArtifactKind k_artifact_kinds[] = {
    {"volume", verify_volume_artifact, make_volume_restore_job, "volumes", nullptr},
    {"database", verify_database, make_database_restore_job, "db", nullptr},
    {"globals", verify_database, nullptr, "db",
     "roles and tablespaces are not restored automatically; see RESTORE.md"},
    {"containers", verify_container_configs, nullptr, nullptr, nullptr},
};

const ArtifactKind *artifact_kind(const std::string &kind) {
  for (const auto &k : k_artifact_kinds)
    if (kind == k.kind) return &k;
  return nullptr;
}

} // namespace

std::vector<std::string> step_kind_names() {
  std::vector<std::string> out;
  for (const auto &k : k_step_kinds)
    out.push_back(k.key);
  return out;
}

util::Result<Steps> make_steps(const config::StepSpec &spec, const config::PipelineConfig &config) {
  const auto entries = spec.node.entries();
  if (entries.empty()) return std::unexpected(spec.node.error("empty step"));
  for (const auto &kind : k_step_kinds)
    for (const auto &[key, value] : entries)
      if (key.raw() == kind.key) return kind.make(spec.node, config);
  const auto &first = entries.front().first;
  std::string message = "unknown step kind '" + first.raw() + "'";
  if (auto guess = util::closest_match(first.raw(), step_kind_names()))
    message += " (did you mean '" + *guess + "'?)";
  else
    message += " (expected one of: check, backup, verify, record, exec)";
  return std::unexpected(first.error(message));
}

util::Result<std::unique_ptr<Step>> make_backup_step(const std::string &target,
                                                     const config::PipelineConfig &config,
                                                     ReadBack read_back) {
  if (const auto *d = config.find_database(target))
    return std::make_unique<PostgresBackupStep>(*d, read_back);
  if (const auto *v = config.find_volume(target))
    return std::make_unique<VolumeBackupStep>(*v, read_back);
  std::string message = "unknown target '" + target + "'";
  if (auto guess = util::closest_match(target, config.target_names()))
    message += " (did you mean '" + *guess + "'?)";
  return util::fail(util::ErrorKind::config, message);
}

util::Result<Finding> verify_artifact(const model::Artifact &artifact,
                                      const std::filesystem::path &set_dir,
                                      model::VerifyLevel level, const RunContext &ctx,
                                      const util::ProgressFn &progress) {
  const auto *kind = artifact_kind(artifact.kind);
  if (kind && artifact.encrypted())
    return verify_encrypted(artifact, set_dir, level, ctx,
                            [&](const model::Artifact &plain, const std::filesystem::path &dir) {
                              return kind->verify(plain, dir, level, ctx, progress);
                            });
  if (kind) return kind->verify(artifact, set_dir, level, ctx, progress);
  return util::fail("unknown artifact kind '" + artifact.kind + "' (written by a newer gate?)");
}

util::Result<std::optional<Finding>> build_standby(const model::Artifact &artifact,
                                                   const std::filesystem::path &set_dir,
                                                   model::VerifyLevel level, const RunContext &ctx,
                                                   const util::ProgressFn &progress) {
  if (artifact.kind == "database" && !artifact.encrypted())
    return build_database_standby(artifact, set_dir, level, ctx, progress);
  return std::nullopt;
}

util::Result<RestoreChoice> make_restore_job(const config::PipelineConfig &config,
                                             const model::Manifest &manifest,
                                             const model::Artifact &artifact,
                                             const RestoreDestination &destination) {
  RestoreChoice choice;
  const auto *kind = artifact_kind(artifact.kind);
  if (!kind) return choice;
  choice.group = kind->rollback_group ? kind->rollback_group : "";
  if (kind->not_restored) choice.not_restored = kind->not_restored;
  if (!kind->restore) return choice;
  bool encrypted = std::any_of(
      manifest.artifacts.begin(), manifest.artifacts.end(),
      [&](const model::Artifact &a) { return a.target == artifact.target && a.encrypted(); });
  if (!encrypted) {
    TRY_ASSIGN(choice.job, kind->restore(config, manifest, artifact, destination));
    return choice;
  }
  // An encrypted set is restored from its decrypted copy (steps/decrypt.hpp).
  TRY_ASSIGN(choice.job,
             make_encrypted_restore_job(
                 config, manifest, artifact, destination,
                 [&](const model::Manifest &plain, const model::Artifact &plain_artifact) {
                   return kind->restore(config, plain, plain_artifact, destination);
                 }));
  return choice;
}

} // namespace gate::steps

namespace gate::steps {

namespace {

struct SwapKind {
  const char *kind;
  const SwapOps *ops;
};

// The artifact kinds whose targets can have standbys, and their swap operations.
const SwapKind k_swap_kinds[] = {
    {"database", &k_database_swap_ops},
    {"volume", &k_volume_swap_ops},
};

} // namespace

const SwapOps *swap_ops_for(const std::string &kind) {
  for (const auto &k : k_swap_kinds)
    if (k.ops && kind == k.kind) return k.ops;
  return nullptr;
}

} // namespace gate::steps

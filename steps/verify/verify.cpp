#include "steps/verify/verify.hpp"

#include "steps/decrypt.hpp"
#include "steps/registry.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <thread>

namespace gate::steps {

std::string VerifyStep::label() const {
  return fmt::format(
      "verify {}{}", m_target,
      m_level == model::VerifyLevel::full
          ? ""
          : fmt::format(" ({}{})", to_string(m_level), m_content ? ", content" : ""));
}

util::Result<void> VerifyStep::check(const RunContext &) const {
  return {};
}

std::string VerifyStep::plan(const RunContext &) const {
  switch (m_level) {
  case model::VerifyLevel::quick:
    return fmt::format("check sizes and SHA-256 of {} backups",
                       m_target == "all" ? "all" : "'" + m_target + "'");
  case model::VerifyLevel::full:
    return fmt::format("checksums plus a full read-back of {} backups",
                       m_target == "all" ? "all" : "'" + m_target + "'");
  case model::VerifyLevel::deep:
    return fmt::format(
        "full read-back, and a test restore of {} databases into a scratch database{}",
        m_target == "all" ? "all" : "'" + m_target + "'",
        m_content ? ", comparing every table's content fingerprint" : "");
  }
  return {};
}

util::Result<StepResult> VerifyStep::run(RunContext &ctx) {
  if (!ctx.set)
    return failed("there is no backup set to verify: no backup step ran before this verify step");
  return verify_set(ctx, *ctx.set, m_skip_verified);
}

std::string VerifiedBackupStep::plan(const RunContext &ctx) const {
  return m_backup->plan(ctx) + fmt::format("; then read it back ({})", to_string(m_level));
}

util::Result<StepResult> VerifiedBackupStep::run(RunContext &ctx) {
  TRY_ASSIGN(StepResult backup, m_backup->run(ctx));
  if (backup.outcome == Outcome::failed || !ctx.set) return backup;
  for (const auto &target : m_backup->targets()) {
    VerifyStep verify(target, m_level);
    TRY_ASSIGN(StepResult verified, verify.verify_set(ctx, *ctx.set, true));
    if (verified.outcome == Outcome::failed) return verified;
  }
  backup.summary += "; verified";
  return backup;
}

namespace {

// The artifacts a verify of `target` covers ("all": every one), without
// those already verified ok when only the unverified are asked for.
std::vector<const model::Artifact *> artifacts_to_verify(const model::Manifest &manifest,
                                                         const std::string &target,
                                                         bool only_unverified) {
  std::vector<const model::Artifact *> todo;
  for (const auto &artifact : manifest.artifacts) {
    if (target != "all" && artifact.target != target) continue;
    bool done = false;
    for (const auto &v : manifest.verifications)
      if (only_unverified && v.artifact == artifact.path && v.ok) done = true;
    if (!done) todo.push_back(&artifact);
  }
  return todo;
}

// A volume whose standby this set built was extracted for real then, as a
// rollback extracts it, compared and timed (a deep verification with its
// restore_ms): a deep verify reuses that extraction instead of making another.
bool deep_verified_by_its_standby(const model::Manifest &m, const model::Artifact &a) {
  auto standby = a.details.find("standby");
  if (a.kind != "volume" || standby == a.details.end() || !standby->is_object() ||
      standby->value("set_id", "") != m.id)
    return false;
  return std::any_of(m.verifications.begin(), m.verifications.end(), [&](const auto &v) {
    return v.artifact == a.path && v.ok && v.level == model::VerifyLevel::deep;
  });
}

// One artifact's verdict (an Error: it could not be decided), and its time.
struct ArtifactVerdict {
  std::optional<util::Result<Finding>> finding;
  long long ms = 0;
};

// Artifacts are independent: verify them side by side, one per core (a
// database read back by pg_restore while a volume is read by libarchive).
// Progress is the sum over all of them.
std::vector<ArtifactVerdict> verify_side_by_side(const std::vector<const model::Artifact *> &todo,
                                                 const model::SetHandle &set,
                                                 model::VerifyLevel level, const RunContext &ctx,
                                                 bool content, const std::string &step) {
  std::vector<ArtifactVerdict> verdicts(todo.size());
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> progressed{0};
  RunContext asked = ctx; // this step's own question: content fingerprints or not
  asked.content_fingerprints = content;
  auto worker = [&] {
    for (size_t i; (i = next++) < todo.size();) {
      const auto &artifact = *todo[i];
      auto start = std::chrono::steady_clock::now();
      util::log_info("{}: {} ({}, {})", step, artifact.path, to_string(level),
                     util::human_bytes(artifact.bytes()));
      uint64_t last = 0;
      util::ProgressFn progress = [&](uint64_t done) {
        progressed += done - std::min(done, last);
        last = done;
        if (ctx.progress) ctx.progress(step, progressed.load(), 0);
      };
      try {
        verdicts[i].finding = verify_artifact(artifact, set.dir(), level, asked, progress);
      } catch (const std::exception &e) {
        verdicts[i].finding =
            util::Result<Finding>(util::fail(std::string("internal error: ") + e.what()));
      }
      verdicts[i].ms = util::elapsed_ms(start);
    }
  };
  size_t threads = std::min<size_t>(todo.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (auto &t : pool)
    t.join();
  return verdicts;
}

} // namespace

// Builds the standbys (`standby: true`) of the verified artifacts this step
// covers that have none yet; records each as a verification (its restore
// time) with the standby's record on the artifact. A failed build is a
// failed verification: the dump did not restore.
util::Result<std::expected<std::string, std::string>>
VerifyStep::build_standbys(RunContext &ctx, model::SetHandle &set) const {
  std::string built;
  model::Manifest manifest = set.manifest(); // a copy: the loop adds to the set
  for (const auto &a : manifest.artifacts) {
    if (m_target != "all" && a.target != m_target) continue;
    auto start = std::chrono::steady_clock::now();
    TRY_ASSIGN(auto finding, build_standby(a, set.dir(), m_level, ctx, nullptr));
    if (!finding) continue;
    if (finding->metrics.contains("standby")) {
      set.set_artifact_detail(a.path, "standby", finding->metrics["standby"]);
      finding->metrics.erase("standby");
    }
    set.add_verification(verification_of(a.path, m_level, *finding, util::elapsed_ms(start)));
    if (!finding->ok)
      return std::expected<std::string, std::string>(
          std::unexpect, fmt::format("{} (standby build): {}", a.path, finding->reason));
    built += "; " + finding->note;
  }
  return built;
}

util::Result<StepResult> VerifyStep::verify_set(RunContext &ctx, model::SetHandle &set,
                                                bool only_unverified) {
  model::Manifest manifest = set.manifest();
  auto todo = artifacts_to_verify(manifest, m_target, only_unverified);
  std::string reused;
  if (m_level == model::VerifyLevel::deep)
    std::erase_if(todo, [&](const model::Artifact *a) {
      if (!deep_verified_by_its_standby(manifest, *a)) return false;
      reused += "; " + a->path + " verified deep by its standby's extraction";
      return true;
    });
  if (todo.empty() && !reused.empty()) {
    TRY_ASSIGN(auto standbys, build_standbys(ctx, set));
    if (!standbys) return failed(standbys.error());
    return passed(reused.substr(2) + *standbys);
  }
  if (todo.empty() && !only_unverified) {
    if (m_target != "all") return failed("the set holds no backup of '" + m_target + "'");
    return failed("the set holds no backups to verify");
  }
  if (todo.empty()) {
    TRY_ASSIGN(auto standbys, build_standbys(ctx, set));
    if (!standbys) return failed(standbys.error());
    return passed("every backup was already verified as it was written" + *standbys);
  }
  if (set.sealed_on_disk())
    if (std::string differs = model::checksums_disagreement(manifest, set.dir()); !differs.empty())
      return failed(differs);

  // An encrypted set this host cannot open is refused before anything is read.
  TRY(check_decryptable(ctx, manifest, todo, set.dir(), m_level));
  std::string step = label();
  auto verdicts = verify_side_by_side(todo, set, m_level, ctx, m_content, step);
  // The verdicts are recorded before any failure is reported (a failed one is
  // on record too); an undecided one (an Error) stops the step there.
  for (size_t i = 0; i < todo.size(); ++i) {
    auto &finding = *verdicts[i].finding;
    if (!finding)
      return std::unexpected(finding.error().with_context("verify '" + todo[i]->path + "'"));
    // A standby's record (steps/postgres/standby.hpp) belongs with its artifact.
    if (finding->metrics.contains("standby")) {
      set.set_artifact_detail(todo[i]->path, "standby", finding->metrics["standby"]);
      finding->metrics.erase("standby");
    }
    set.add_verification(verification_of(todo[i]->path, m_level, *finding, verdicts[i].ms));
  }
  uint64_t bytes = 0;
  for (size_t i = 0; i < todo.size(); ++i) {
    const auto &artifact = *todo[i];
    const auto &finding = *verdicts[i].finding;
    if (!finding->ok)
      return failed(fmt::format("{} ({}): {}", artifact.path, to_string(m_level), finding->reason));
    util::log_info("{}: {} ok: {} in {}", step, artifact.path, finding->note,
                   util::human_duration_ms(verdicts[i].ms));
    bytes += artifact.bytes();
  }
  TRY_ASSIGN(auto standbys, build_standbys(ctx, set));
  if (!standbys) return failed(standbys.error());
  return passed(fmt::format("{} backup(s), {} verified ({}){}{}", todo.size(),
                            util::human_bytes(bytes), to_string(m_level), reused, *standbys),
                bytes);
}

util::Result<std::unique_ptr<Step>> make_verify_step(const config::Node &node,
                                                     const config::PipelineConfig &config) {
  TRY_ASSIGN(auto map, config::MapReader::open(node, "a verify step",
                                               {"verify", "deep", "quick", "content"}));
  TRY_ASSIGN(auto target_node, map.require("verify"));
  TRY_ASSIGN(std::string target, target_node.as_string());
  if (target != "all" && !config.find_database(target) && !config.find_volume(target)) {
    std::string message = "verify: unknown target '" + target + "'";
    if (auto guess = util::closest_match(target, config.target_names()))
      message += " (did you mean '" + *guess + "'?)";
    return std::unexpected(target_node.error(message));
  }
  bool deep = false, quick = false, content = false;
  if (auto n = map.take("deep")) TRY_ASSIGN(deep, n->as_bool());
  if (auto n = map.take("quick")) TRY_ASSIGN(quick, n->as_bool());
  std::optional<config::Node> content_node = map.take("content");
  if (content_node) TRY_ASSIGN(content, content_node->as_bool());
  if (deep && quick)
    return std::unexpected(node.error("a verify step cannot be both deep and quick"));
  if (content && !deep)
    return std::unexpected(
        content_node->error("content: true compares after a test restore: it needs deep: true"));
  TRY(map.finish());
  auto level = deep    ? model::VerifyLevel::deep
               : quick ? model::VerifyLevel::quick
                       : model::VerifyLevel::full;
  return std::make_unique<VerifyStep>(target, level, false, content);
}

} // namespace gate::steps

#include "steps/verify.hpp"

#include "steps/registry.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::steps {

std::string VerifyStep::label() const {
  return fmt::format("verify {}{}", m_target, m_level == engine::VerifyLevel::full ? "" : fmt::format(" ({})", to_string(m_level)));
}

util::Result<void> VerifyStep::check(const RunContext&) const { return {}; }

std::string VerifyStep::plan(const RunContext&) const {
  switch (m_level) {
  case engine::VerifyLevel::quick:
    return fmt::format("check sizes and SHA-256 of {} backups", m_target == "all" ? "all" : "'" + m_target + "'");
  case engine::VerifyLevel::full:
    return fmt::format("checksums plus a full read-back of {} backups", m_target == "all" ? "all" : "'" + m_target + "'");
  case engine::VerifyLevel::deep:
    return fmt::format("full read-back, and a test restore of {} databases into a scratch database",
                       m_target == "all" ? "all" : "'" + m_target + "'");
  }
  return {};
}

util::Result<StepResult> VerifyStep::run(RunContext& ctx) {
  if (!ctx.set) return failed("there is no backup set to verify: no backup step ran before this verify step");
  return verify_set(ctx, *ctx.set, false);
}

util::Result<StepResult> VerifyStep::verify_set(RunContext& ctx, engine::SetHandle& set, bool only_unverified) {
  engine::Manifest manifest = set.manifest();
  int checked = 0;
  uint64_t bytes = 0;
  std::vector<std::string> notes;
  for (const auto& artifact : manifest.artifacts) {
    if (m_target != "all" && artifact.target != m_target) continue;
    if (only_unverified) {
      bool done = false;
      for (const auto& v : manifest.verifications)
        if (v.artifact == artifact.path && v.ok) done = true;
      if (done) continue;
    }
    auto start = std::chrono::steady_clock::now();
    std::string step = label();
    uint64_t total = artifact.bytes();
    util::ProgressFn progress = [&](uint64_t done) {
      if (ctx.progress) ctx.progress(step, bytes + done, 0);
    };
    util::log_info("{}: {} ({}, {})", step, artifact.path, to_string(m_level), util::human_bytes(total));
    auto finding = verify_artifact(artifact, set.dir(), m_level, ctx, progress);
    if (!finding) return std::unexpected(finding.error().with_context("verify '" + artifact.path + "'"));
    engine::Verification v;
    v.artifact = artifact.path;
    v.level = m_level;
    v.ok = finding->ok;
    v.reason = finding->ok ? finding->note : finding->reason;
    v.duration_ms = util::elapsed_ms(start);
    v.at = util::iso8601_utc(util::Clock::now());
    v.metrics = finding->metrics;
    set.add_verification(v);
    if (!finding->ok) return failed(fmt::format("{} ({}): {}", artifact.path, to_string(m_level), finding->reason));
    util::log_info("{}: {} ok: {} in {}", step, artifact.path, finding->note, util::human_duration_ms(v.duration_ms));
    ++checked;
    bytes += total;
  }
  if (checked == 0 && !only_unverified) {
    if (m_target != "all") return failed("the set holds no backup of '" + m_target + "'");
    return failed("the set holds no backups to verify");
  }
  return passed(fmt::format("{} backup(s), {} verified ({})", checked, util::human_bytes(bytes), to_string(m_level)),
                bytes);
}

util::Result<std::unique_ptr<Step>> make_verify_step(const config::Node& node, const config::PipelineConfig& config) {
  TRY_ASSIGN(auto map, config::MapReader::open(node, "a verify step"));
  TRY_ASSIGN(auto target_node, map.require("verify"));
  TRY_ASSIGN(std::string target, target_node.as_string());
  if (target != "all" && !config.find_database(target) && !config.find_volume(target)) {
    std::string message = "verify: unknown target '" + target + "'";
    if (auto guess = util::closest_match(target, config.target_names())) message += " (did you mean '" + *guess + "'?)";
    return std::unexpected(target_node.error(message));
  }
  bool deep = false, quick = false;
  if (auto n = map.take("deep")) TRY_ASSIGN(deep, n->as_bool());
  if (auto n = map.take("quick")) TRY_ASSIGN(quick, n->as_bool());
  if (deep && quick) return std::unexpected(node.error("a verify step cannot be both deep and quick"));
  TRY(map.finish());
  auto level = deep ? engine::VerifyLevel::deep : quick ? engine::VerifyLevel::quick : engine::VerifyLevel::full;
  return std::make_unique<VerifyStep>(target, level);
}

} // namespace gate::steps

#include "steps/verify/findings.hpp"

#include "util/sha256.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::steps {

model::Verification verification_of(const std::string &artifact, model::VerifyLevel level,
                                    const Finding &finding, long long duration_ms) {
  model::Verification v;
  v.artifact = artifact;
  v.level = level;
  v.ok = finding.ok;
  v.reason = finding.ok ? finding.note : finding.reason;
  v.duration_ms = duration_ms;
  v.at = util::iso8601_utc(util::Clock::now());
  v.metrics = finding.metrics;
  return v;
}

Finding verify_sizes(const model::Artifact &artifact, const std::filesystem::path &set_dir) {
  if (artifact.files.empty())
    return finding_failed(fmt::format("'{}' lists no files", artifact.path));
  for (const auto &f : artifact.files) {
    std::error_code ec;
    // A pipe is a remote object streamed in (gate verify --remote): its size
    // was checked against the remote's listing, its bytes are checked as read.
    if (std::filesystem::is_fifo(set_dir / f.path, ec)) continue;
    auto size = std::filesystem::file_size(set_dir / f.path, ec);
    if (ec) return finding_failed(fmt::format("'{}' is missing: {}", f.path, ec.message()));
    if (size != f.bytes)
      return finding_failed(
          fmt::format("'{}' is {} bytes, the manifest says {}", f.path, size, f.bytes));
  }
  uint64_t min_size = artifact.details.value("min_size", uint64_t{0});
  if (artifact.bytes() < min_size)
    return finding_failed(fmt::format("'{}' is {} , below min_size {}", artifact.path,
                                      util::human_bytes(artifact.bytes()),
                                      util::human_bytes(min_size)));
  return finding_ok(
      fmt::format("{} file(s) present with their recorded sizes", artifact.files.size()));
}

util::Result<Finding> verify_files_quick(const model::Artifact &artifact,
                                         const std::filesystem::path &set_dir) {
  Finding sizes = verify_sizes(artifact, set_dir);
  if (!sizes.ok) return sizes;
  for (const auto &f : artifact.files) {
    TRY_ASSIGN(std::string sha, util::sha256_file(set_dir / f.path));
    if (sha != f.sha256)
      return finding_failed(fmt::format(
          "'{}' fails its checksum: sha256 {} but the manifest says {}", f.path, sha, f.sha256));
  }
  return finding_ok(fmt::format("{} file(s), {}, checksums match", artifact.files.size(),
                                util::human_bytes(artifact.bytes())));
}

} // namespace gate::steps

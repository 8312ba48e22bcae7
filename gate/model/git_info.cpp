#include "model/git_info.hpp"

#include "util/log.hpp"
#include "util/process.hpp"

namespace gate::model {

namespace {
std::optional<std::string> git(const std::filesystem::path &dir, std::vector<std::string> args) {
  util::ProcessSpec spec;
  spec.argv = {"git", "-C", dir.string()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.stderr_mode = util::StreamMode::pipe;
  auto out = util::run_command(spec, std::chrono::seconds(30));
  if (!out || !out->status.ok()) return std::nullopt;
  std::string s = out->out;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}
} // namespace

nlohmann::json read_git_info(const std::filesystem::path &dir) {
  if (util::find_in_path("git").empty()) {
    util::log_debug("git is not installed: the set records no commit");
    return nullptr;
  }
  auto inside = git(dir, {"rev-parse", "--is-inside-work-tree"});
  if (!inside || *inside != "true") return nullptr;
  nlohmann::json info;
  auto commit = git(dir, {"rev-parse", "--verify", "-q", "HEAD"});
  info["commit"] = commit ? nlohmann::json(*commit) : nlohmann::json(nullptr);
  if (!commit)
    util::log_warn("the git repository at '{}' has no commit yet: the set records no commit "
                   "(commit first, or set "
                   "git_dir)",
                   dir.string());
  auto branch = git(dir, {"rev-parse", "--abbrev-ref", "HEAD"});
  info["branch"] = branch && *branch != "HEAD" ? nlohmann::json(*branch) : nlohmann::json(nullptr);
  // --no-optional-locks: a status must not refresh (lock and write) the deploy's index.
  auto status = git(dir, {"--no-optional-locks", "status", "--porcelain", "--untracked-files=no"});
  info["dirty"] = status && !status->empty();
  return info;
}

} // namespace gate::model

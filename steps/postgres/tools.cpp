#include "steps/postgres/tools.hpp"

#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <unistd.h>

namespace gate::steps {

namespace fs = std::filesystem;

bool is_pg_wrapper(const fs::path &program) {
  std::error_code ec;
  auto resolved = fs::canonical(program, ec);
  if (!ec && resolved.filename() == "pg_wrapper") return true;
  auto head = util::read_file(program);
  return head && head->rfind("#!", 0) == 0 && head->find("pg_wrapper") != std::string::npos;
}

std::vector<fs::path> pg_tool_candidates(const std::string &pg_bindir) {
  std::vector<fs::path> out;
  auto add = [&](const fs::path &p) {
    if (!p.empty() && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  if (!pg_bindir.empty()) add(pg_bindir);
  if (auto pg_config = util::find_in_path("pg_config"); !pg_config.empty()) {
    util::ProcessSpec spec;
    spec.argv = {pg_config.string(), "--bindir"};
    spec.stderr_mode = util::StreamMode::pipe;
    if (auto r = util::run_command(spec, std::chrono::seconds(10)); r && r->status.ok()) {
      std::string dir = r->out;
      while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' '))
        dir.pop_back();
      add(dir);
    }
  }
  std::vector<std::pair<int, fs::path>> versioned;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int major = std::atoi(entry.path().filename().c_str());
    if (major > 0) versioned.emplace_back(major, entry.path() / "bin");
  }
  std::sort(versioned.rbegin(), versioned.rend());
  for (auto &[major, dir] : versioned)
    add(dir);
  const char *path = std::getenv("PATH");
  if (path)
    for (const auto &dir : util::split(path, ':'))
      if (!dir.empty()) add(dir);
  return out;
}

std::string pg_dump_version(const fs::path &bindir) {
  fs::path pg_dump = bindir / "pg_dump";
  if (::access(pg_dump.c_str(), X_OK) != 0 || is_pg_wrapper(pg_dump)) return {};
  util::ProcessSpec spec;
  spec.argv = {pg_dump.string(), "--version"};
  spec.stderr_mode = util::StreamMode::pipe;
  auto r = util::run_command(spec, std::chrono::seconds(10));
  if (!r || !r->status.ok()) return {};
  // "pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
  std::string out = r->out;
  size_t paren = out.find(") ");
  if (paren == std::string::npos) return {};
  std::string version = out.substr(paren + 2);
  version = version.substr(0, version.find_first_of(" \n"));
  return version;
}

util::Result<PgTools> select_pg_tools(const std::vector<fs::path> &candidates, int server_major) {
  std::map<int, PgTools> by_major; // first directory wins for each major
  std::vector<std::string> seen;
  for (const auto &dir : candidates) {
    std::string version = pg_dump_version(dir);
    if (version.empty()) continue;
    int major = std::atoi(version.c_str());
    seen.push_back((dir / "pg_dump").string() + " (" + version + ")");
    if (!by_major.count(major)) by_major.emplace(major, PgTools{dir, major, version});
  }
  if (auto it = by_major.find(server_major); it != by_major.end()) return it->second;
  for (auto &[major, tools] : by_major)
    if (major > server_major) return tools;
  std::string found = seen.empty() ? "none" : "";
  for (size_t i = 0; i < seen.size(); ++i)
    found += (i ? ", " : "") + seen[i];
  return util::fail("no pg_dump of PostgreSQL " + std::to_string(server_major) +
                    " or newer is installed (the server runs " + std::to_string(server_major) +
                    "; found: " + found + ")\nhint: install postgresql-client-" +
                    std::to_string(server_major) + " or set pg_bindir: in pipeline.yml");
}

} // namespace gate::steps

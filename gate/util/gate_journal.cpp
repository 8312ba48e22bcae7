#include "util/gate_journal.hpp"

#include "util/fs.hpp"
#include "util/json.hpp"
#include "util/time.hpp"

#include <unistd.h>

namespace gate::util {

namespace fs = std::filesystem;

namespace {

// True while another gate process `pid` runs on this host `host`.
bool other_gate_alive(const std::string &host, long pid) {
  if (host != host_name()) return false;
  if (pid <= 0 || pid == ::getpid()) return false;
  auto comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  return comm && comm->rfind("gate", 0) == 0;
}

} // namespace

Result<void> write_gate_journal(const fs::path &path, nlohmann::json fields) {
  fields["pid"] = static_cast<long>(::getpid());
  fields["host"] = host_name();
  fields["at"] = iso8601_utc(Clock::now());
  TRY(make_dirs(path.parent_path(), 0700));
  return write_file_atomic(path, json_text(fields, 2) + "\n", 0600);
}

std::vector<GateJournalEntry> dead_gate_journals(const fs::path &dir, std::string_view prefix) {
  std::vector<GateJournalEntry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->path().filename().string().starts_with(prefix)) continue;
    auto text = read_file(it->path());
    if (!text) continue;
    nlohmann::json fields = nlohmann::json::parse(*text, nullptr, false);
    if (!fields.is_object()) continue;
    if (other_gate_alive(fields.value("host", std::string()), fields.value("pid", 0L))) continue;
    out.push_back({it->path(), std::move(fields)});
  }
  return out;
}

} // namespace gate::util

#include "model/local_store.hpp"

#include "model/backup_set.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <csignal>
#include <unistd.h>

namespace gate::model {

namespace fs = std::filesystem;

namespace {

// The pid recorded in a partial set's owner file, if it is still running.
bool owner_alive(const fs::path &dir) {
  auto text = util::read_file(dir / ".owner");
  if (!text) return false;
  pid_t pid = static_cast<pid_t>(std::atoi(text->c_str()));
  return pid > 0 && pid != ::getpid() && ::kill(pid, 0) == 0;
}

// A set directory's entry in a listing, or nothing for what is not a set.
std::optional<SetInfo> set_entry(const fs::directory_entry &entry, IncludeFailed include_failed) {
  std::error_code ec;
  if (!entry.is_directory(ec)) return std::nullopt;
  std::string name = entry.path().filename().string();
  SetInfo info;
  info.dir = entry.path();
  if (name.starts_with(LocalSetStore::k_failed_prefix)) {
    if (include_failed == IncludeFailed::no) return std::nullopt;
    info.failed = true;
    info.id = name.substr(std::string(LocalSetStore::k_failed_prefix).size());
  } else if (name.empty() || name[0] == '.') {
    return std::nullopt;
  } else {
    info.id = name;
  }
  auto m = load_manifest(info.dir);
  if (m)
    info.manifest = std::move(*m);
  else
    info.problem = m.error().message;
  if (!info.failed && info.manifest && info.manifest->status != "complete") info.failed = true;
  return info;
}

bool newer_first(const SetInfo &a, const SetInfo &b) {
  std::string ta = a.manifest ? a.manifest->created_at : "";
  std::string tb = b.manifest ? b.manifest->created_at : "";
  if (ta != tb) return ta > tb;
  if (a.id.size() != b.id.size()) return a.id.size() > b.id.size(); // "-2" came after
  return a.id > b.id;
}

// A relative path inside a set: no absolute path, no "..".
util::Result<void> check_relative(const std::string &relative) {
  fs::path p(relative);
  bool escapes = p.is_absolute() || relative.empty() ||
                 std::any_of(p.begin(), p.end(), [](const fs::path &c) { return c == ".."; });
  if (escapes) return util::fail("'" + relative + "' is not a path inside a backup set");
  return {};
}

} // namespace

util::Result<std::vector<SetInfo>> LocalSetStore::list(IncludeFailed include_failed) const {
  std::vector<SetInfo> out;
  std::error_code ec;
  if (!fs::exists(m_root, ec)) return out;
  for (const auto &entry : fs::directory_iterator(m_root, ec))
    if (auto info = set_entry(entry, include_failed)) out.push_back(std::move(*info));
  if (ec) return util::fail("unable to list '" + m_root.string() + "': " + ec.message());
  std::sort(out.begin(), out.end(), newer_first);
  return out;
}

util::Result<void> LocalSetStore::read_file(const std::string &id, const std::string &relative,
                                            const fs::path &dest) const {
  TRY(check_relative(relative));
  TRY_ASSIGN(auto info, find(id));
  fs::path source = info.dir / relative;
  std::error_code ec;
  fs::copy_file(source, dest, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return util::fail("unable to copy '" + source.string() + "' to '" + dest.string() +
                      "': " + ec.message());
  return {};
}

util::Result<std::unique_ptr<SetWriter>> LocalSetStore::begin(const std::string &id) {
  if (id_taken(id))
    return util::fail("a backup set '" + id + "' already exists in '" + m_root.string() + "'");
  Manifest base;
  TRY_ASSIGN(auto set, PendingSet::create_with_id(*this, id, std::move(base)));
  return std::unique_ptr<SetWriter>(std::move(set));
}

util::Result<void> LocalSetStore::remove(const std::string &id) {
  TRY_ASSIGN(auto info, find(id));
  // Renamed out of the listing first: a delete cut short leaves .removing-<id>,
  // which is never listed and which recover_leftovers() finishes.
  fs::path doomed = m_root / (std::string(k_removing_prefix) + id);
  if (::rename(info.dir.c_str(), doomed.c_str()) != 0)
    return util::fail("unable to remove '" + info.dir.string() + "': " + util::errno_text(errno));
  TRY(util::fsync_path(m_root));
  util::fault_point("prune.mid-remove");
  return util::remove_tree(doomed);
}

std::string LocalSetStore::reserve_id(const std::string &kind, util::Clock::time_point now,
                                      const std::string &host_tag) const {
  std::string base =
      kind + (host_tag.empty() ? "" : "-" + host_tag) + "-" + util::compact_timestamp(now);
  if (!id_taken(base)) return base;
  for (int n = 2;; ++n) {
    std::string id = base + "-" + std::to_string(n);
    if (!id_taken(id)) return id;
  }
}

bool LocalSetStore::id_taken(const std::string &id) const {
  std::error_code ec;
  for (const std::string prefix : {"", k_partial_prefix, k_failed_prefix, k_removing_prefix})
    if (fs::exists(m_root / (prefix + id), ec)) return true;
  return false;
}

util::Result<std::vector<std::string>> LocalSetStore::recover_leftovers() const {
  std::vector<std::string> recovered;
  std::error_code ec;
  if (!fs::exists(m_root, ec)) return recovered;
  for (const auto &entry : fs::directory_iterator(m_root, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory(ec)) continue;
    if (name.starts_with(k_removing_prefix)) {
      TRY(util::remove_tree(entry.path()));
    } else if (name.starts_with(k_partial_prefix) && !owner_alive(entry.path())) {
      std::string id = name.substr(std::string(k_partial_prefix).size());
      TRY(keep_abandoned(entry.path(), id));
      recovered.push_back(id);
    }
  }
  return recovered;
}

// A partial set whose writer died, kept as .failed-<id> saying so.
util::Result<void> LocalSetStore::keep_abandoned(const fs::path &dir, const std::string &id) const {
  auto manifest = load_manifest(dir);
  Manifest m = manifest ? *manifest : Manifest{};
  if (!manifest) {
    m.id = id;
    m.created_at = util::iso8601_utc(util::Clock::now());
  }
  m.status = "failed";
  m.failure = "abandoned: the gate process writing this set died before it finished";
  std::error_code ec;
  if (fs::exists(dir / k_encrypt_local_marker, ec)) { // its plaintext must not stay
    remove_files_except(dir, {});
    m.failure += "; its plaintext files were removed (encryption.local)";
  }
  (void)save_manifest(dir, m);
  fs::rename(dir, m_root / (k_failed_prefix + id), ec);
  if (ec) return util::fail("unable to move abandoned set '" + dir.string() + "': " + ec.message());
  return {};
}

} // namespace gate::model

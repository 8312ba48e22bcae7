#include "model/backup_set.hpp"

#include "model/restore_doc.hpp"
#include "model/set_encryption.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace gate::model {

util::Result<std::unique_ptr<PendingSet>> PendingSet::create(const LocalSetStore &store,
                                                             const std::string &kind, Manifest base,
                                                             const std::string &host_tag) {
  base.kind = kind;
  return create_with_id(store, store.reserve_id(kind, util::Clock::now(), host_tag),
                        std::move(base));
}

util::Result<std::unique_ptr<PendingSet>>
PendingSet::create_with_id(const LocalSetStore &store, const std::string &id, Manifest base) {
  TRY(util::make_dirs(store.root(), 0700));
  auto set = std::unique_ptr<PendingSet>(new PendingSet());
  set->m_store = &store;
  set->m_id = id;
  set->m_dir = store.root() / (std::string(LocalSetStore::k_partial_prefix) + set->m_id);
  set->m_final_dir = store.root() / set->m_id;
  TRY(util::make_dirs(set->m_dir, 0700));
  TRY(util::write_file_atomic(set->m_dir / ".owner", std::to_string(::getpid()) + "\n", 0600));
  base.id = set->m_id;
  base.status = "partial";
  if (base.created_at.empty()) base.created_at = util::iso8601_utc(util::Clock::now());
  set->m_manifest = std::move(base);
  TRY(save_manifest(set->m_dir, set->m_manifest));

  fs::path log_path = set->m_dir / "gate.log";
  set->m_log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (set->m_log_fd < 0)
    return util::fail("unable to create '" + log_path.string() + "': " + util::errno_text(errno));
  int fd = set->m_log_fd;
  set->m_log_sink = util::add_log_sink([fd](util::LogLevel level, std::string_view line) {
    std::string text =
        util::iso8601_utc(util::Clock::now()) + " " + util::log_level_name(level) + ": ";
    text.append(line);
    text.push_back('\n');
    (void)util::write_all(fd, text.data(), text.size(), "gate.log");
  });
  return set;
}

PendingSet::~PendingSet() {
  if (m_state == State::open) mark_failed("abandoned: the run ended without sealing this set");
  if (m_log_sink) util::remove_log_sink(m_log_sink);
  if (m_log_fd >= 0) ::close(m_log_fd);
}

Manifest PendingSet::manifest() const {
  std::lock_guard lock(m_mutex);
  return m_manifest;
}

void PendingSet::add_artifact(Artifact artifact) {
  {
    std::lock_guard lock(m_mutex);
    m_manifest.artifacts.push_back(std::move(artifact));
    (void)save_manifest(m_dir, m_manifest); // keeps forensics useful if the run dies
  }
  util::fault_point("set.after-artifact"); // inert unless a test set it (util/fault.hpp)
}

void PendingSet::add_verification(Verification verification) {
  std::lock_guard lock(m_mutex);
  m_manifest.verifications.push_back(std::move(verification));
}

void PendingSet::set_artifact_detail(const std::string &path, const std::string &key,
                                     nlohmann::json value) {
  std::lock_guard lock(m_mutex);
  for (auto &a : m_manifest.artifacts)
    if (a.path == path) a.details[key] = std::move(value);
}

void PendingSet::set_timing(const std::string &key, long long ms) {
  std::lock_guard lock(m_mutex);
  m_manifest.timings[key] = ms;
}

void PendingSet::set_extra(const std::string &key, nlohmann::json value) {
  std::lock_guard lock(m_mutex);
  m_manifest.extra[key] = std::move(value);
}

void PendingSet::encrypt_to(util::age::Recipients recipients) {
  m_recipients = std::move(recipients);
  // Before any plaintext exists: should this gate die, the next one sees it.
  (void)util::write_file_atomic(m_dir / k_encrypt_local_marker, "plaintext until sealed\n", 0600);
}

// Every artifact file replaced by its `.age` (checked to be the verified
// plaintext); on failure, no ciphertext written so far is left.
util::Result<Manifest> PendingSet::encrypted(Manifest m) const {
  if (!m_recipients) return m;
  auto start = std::chrono::steady_clock::now();
  auto sealed = encrypt_artifacts(m.artifacts, m_dir, m_dir, *m_recipients);
  if (!sealed)
    return std::unexpected(sealed.error().with_context("unable to encrypt set '" + m_id + "'"));
  for (const auto &a : m.artifacts) // only now: a failure above keeps every plaintext file
    if (!a.encrypted())
      for (const auto &f : a.files)
        (void)util::remove_tree(m_dir / f.path);
  m.artifacts = std::move(*sealed);
  m.timings["encrypt_ms"] = util::elapsed_ms(start);
  return m;
}

// A failed set must not keep plaintext that encryption.local promised not to
// leave: encrypted if possible, else its artifact files are removed.
void PendingSet::encrypt_or_remove_plaintext(Manifest &m) const {
  if (!m_recipients) return;
  for (auto &a : m.artifacts) {
    auto sealed = encrypt_artifact(a, m_dir, m_dir, *m_recipients, true);
    if (sealed) {
      a = std::move(*sealed);
      continue;
    }
    util::log_warn("backup set '{}': {}; removing its plaintext files", m_id,
                   sealed.error().message);
    for (const auto &f : a.files)
      (void)util::remove_tree(m_dir / f.path);
  }
  // What no artifact lists yet (a dump cut short, a staging file) goes too.
  std::set<std::string> ciphertext;
  for (const auto &a : m.artifacts)
    if (a.encrypted())
      for (const auto &f : a.files)
        ciphertext.insert(f.path);
  remove_files_except(m_dir, ciphertext);
}

util::Result<void> PendingSet::write_checksums(const Manifest &m) const {
  return util::write_file_atomic(m_dir / "checksums.sha256", checksum_lines(m), 0600);
}

util::Result<fs::path> PendingSet::seal() {
  if (m_state != State::open) return util::fail("set '" + m_id + "' is no longer open");
  Manifest m = manifest();
  if (m.artifacts.empty()) return util::fail("set '" + m_id + "' holds no backups");
  if (!m.verified_level())
    return util::fail("set '" + m_id +
                      "' has artifacts that did not pass verification; it is not usable");
  m.status = "complete";
  TRY_ASSIGN(m, encrypted(std::move(m)));
  TRY(save_manifest(m_dir, m));
  TRY(write_checksums(m));
  TRY(util::write_file_atomic(m_dir / "RESTORE.md", restore_markdown(m, m_final_dir), 0600));
  std::error_code ec;
  fs::remove(m_dir / ".owner", ec);
  fs::remove(m_dir / k_encrypt_local_marker, ec);
  TRY(util::fsync_tree(m_dir));
  util::fault_point("run.sealing");
  if (::rename(m_dir.c_str(), m_final_dir.c_str()) != 0)
    return util::fail("unable to rename '" + m_dir.string() + "' to '" + m_final_dir.string() +
                      "': " + util::errno_text(errno));
  TRY(util::fsync_path(m_store->root()));
  {
    std::lock_guard lock(m_mutex);
    m_manifest = m;
  }
  m_dir = m_final_dir;
  m_state = State::sealed;
  util::log_info("backup set '{}' sealed at {}", m_id, m_final_dir.string());
  return m_final_dir;
}

util::Result<void> PendingSet::put_file(const std::string &relative, const fs::path &source) {
  if (m_state != State::open) return util::fail("set '" + m_id + "' is no longer open");
  fs::path dest = m_dir / relative;
  TRY(util::make_dirs(dest.parent_path(), 0700));
  std::error_code ec;
  fs::copy_file(source, dest, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return util::fail("unable to copy '" + source.string() + "' into set '" + m_id +
                      "': " + ec.message());
  return {};
}

util::Result<void> PendingSet::commit(const Manifest &manifest) {
  {
    std::lock_guard lock(m_mutex);
    std::string id = m_manifest.id, created = m_manifest.created_at;
    m_manifest = manifest;
    m_manifest.id = id;
    if (m_manifest.created_at.empty()) m_manifest.created_at = created;
  }
  TRY(seal());
  return {};
}

void PendingSet::mark_failed(const std::string &reason) {
  if (m_state != State::open) return;
  util::log_error("backup set '{}' failed: {}", m_id, reason);
  Manifest m = manifest();
  m.status = "failed";
  m.failure = reason;
  encrypt_or_remove_plaintext(m);
  (void)save_manifest(m_dir, m);
  (void)write_checksums(m);
  std::error_code ec;
  fs::remove(m_dir / ".owner", ec);
  fs::path target = m_store->root() / (std::string(LocalSetStore::k_failed_prefix) + m_id);
  if (::rename(m_dir.c_str(), target.c_str()) == 0) m_dir = target;
  (void)util::fsync_path(m_store->root());
  m_state = State::failed;
}

void PendingSet::discard() {
  if (m_state != State::open) return;
  if (m_log_sink) util::remove_log_sink(m_log_sink);
  m_log_sink = 0;
  (void)util::remove_tree(m_dir);
  (void)util::fsync_path(m_store->root());
  m_state = State::discarded;
}

StoredSet::StoredSet(SetInfo info) : m_info(std::move(info)) {
  if (m_info.manifest) m_manifest = *m_info.manifest;
}

Manifest StoredSet::manifest() const {
  std::lock_guard lock(m_mutex);
  return m_manifest;
}

void StoredSet::add_artifact(Artifact artifact) {
  std::lock_guard lock(m_mutex);
  m_manifest.artifacts.push_back(std::move(artifact));
}

void StoredSet::add_verification(Verification verification) {
  std::lock_guard lock(m_mutex);
  m_manifest.verifications.push_back(std::move(verification));
}

void StoredSet::set_artifact_detail(const std::string &path, const std::string &key,
                                    nlohmann::json value) {
  std::lock_guard lock(m_mutex);
  for (auto &a : m_manifest.artifacts)
    if (a.path == path) a.details[key] = std::move(value);
}

util::Result<void> StoredSet::save() {
  return save_manifest(m_info.dir, manifest());
}

util::Result<void> StoredSet::mark_failed(const std::string &reason) {
  {
    std::lock_guard lock(m_mutex);
    m_manifest.status = "failed";
    m_manifest.failure = reason;
  }
  TRY(save());
  if (m_info.failed) return {};
  fs::path target =
      m_info.dir.parent_path() / (std::string(LocalSetStore::k_failed_prefix) + m_info.id);
  if (::rename(m_info.dir.c_str(), target.c_str()) != 0)
    return util::fail("unable to mark '" + m_info.dir.string() +
                      "' failed: " + util::errno_text(errno));
  m_info.dir = target;
  m_info.failed = true;
  return {};
}

void remove_files_except(const fs::path &set_dir, const std::set<std::string> &keep) {
  std::vector<fs::path> files, dirs;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(set_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      dirs.push_back(it->path());
    else
      files.push_back(it->path());
  }
  for (const auto &file : files) {
    std::string relative = file.lexically_relative(set_dir).string();
    bool kept = keep.count(relative) || relative == "gate.log" || relative == "manifest.json" ||
                relative == "checksums.sha256";
    if (!kept && !fs::remove(file, ec))
      util::log_warn("unable to remove '{}': {}", file.string(), ec.message());
  }
  std::sort(dirs.rbegin(), dirs.rend()); // the deepest first
  for (const auto &dir : dirs)
    if (fs::is_empty(dir, ec)) fs::remove(dir, ec);
}

std::string checksum_lines(const Manifest &m) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const auto &a : m.artifacts)
    for (const auto &f : a.files)
      lines.emplace_back(f.path, f.sha256);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (auto &[path, sha] : lines)
    out += sha + "  " + path + "\n";
  return out;
}

std::string checksums_disagreement(const Manifest &m, const fs::path &set_dir) {
  auto text = util::read_file(set_dir / "checksums.sha256");
  if (!text) return "checksums.sha256 is missing or unreadable: " + text.error().message;
  std::vector<std::string> have = util::split(*text, '\n'),
                           want = util::split(checksum_lines(m), '\n');
  for (size_t i = 0; i < std::max(have.size(), want.size()); ++i) {
    std::string h = i < have.size() ? have[i] : "(nothing)",
                w = i < want.size() ? want[i] : "(nothing)";
    if (h != w)
      return fmt::format(
          "checksums.sha256 line {} says '{}' where manifest.json says '{}': the set was changed "
          "after it was sealed",
          i + 1, h, w);
  }
  return {};
}

} // namespace gate::model

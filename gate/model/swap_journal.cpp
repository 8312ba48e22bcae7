#include "model/swap_journal.hpp"

#include "util/fs.hpp"
#include "util/json.hpp"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

namespace gate::model {

namespace fs = std::filesystem;

namespace {

constexpr const char *k_file = ".gate-swaps.json";

nlohmann::json entry_json(const SwapEntry &e) {
  nlohmann::json j = {{"kind", e.kind},
                      {"target", e.target},
                      {"live", e.live},
                      {"standby", e.standby},
                      {"replaced", e.replaced},
                      {"set_id", e.set_id},
                      {"rollback_id", e.rollback_id},
                      {"at", e.at},
                      {"state", to_string(e.state)},
                      {"runs_since", e.runs_since}};
  if (!e.standby_identity.empty()) j["standby_identity"] = e.standby_identity;
  if (e.state == SwapState::swapping_back) {
    j["back_from"] = to_string(e.back_from);
    j["live_was"] = e.live_was;
  }
  return j;
}

util::Result<SwapState> state_from(const std::string &text, const fs::path &file) {
  for (auto s : {SwapState::begun, SwapState::done, SwapState::undone, SwapState::swapping_back})
    if (text == to_string(s)) return s;
  return util::fail("'" + file.string() + "': unknown swap state '" + text + "'");
}

util::Result<SwapEntry> entry_from(const nlohmann::json &j, const fs::path &file) {
  if (!j.is_object()) return util::fail("'" + file.string() + "': a swap entry is not an object");
  SwapEntry e;
  auto text = [&](const char *key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  e.kind = text("kind");
  e.target = text("target");
  e.live = text("live");
  e.standby = text("standby");
  e.replaced = text("replaced");
  e.set_id = text("set_id");
  e.rollback_id = text("rollback_id");
  e.at = text("at");
  if (e.kind.empty() || e.target.empty() || e.live.empty() || e.rollback_id.empty())
    return util::fail("'" + file.string() +
                      "': a swap entry lacks its kind, target, live name "
                      "or rollback id");
  TRY_ASSIGN(e.state, state_from(text("state"), file));
  auto runs = j.find("runs_since");
  if (runs != j.end() && runs->is_number_integer()) e.runs_since = runs->get<int>();
  e.standby_identity = text("standby_identity");
  if (e.state == SwapState::swapping_back) {
    TRY_ASSIGN(e.back_from, state_from(text("back_from"), file));
    e.live_was = text("live_was");
    if ((e.back_from != SwapState::done && e.back_from != SwapState::undone) || e.live_was.empty())
      return util::fail("'" + file.string() + "': the swap back of '" + e.target +
                        "' lacks the state it started from or what its live name held");
  }
  return e;
}

} // namespace

const char *to_string(SwapState state) {
  switch (state) {
  case SwapState::begun:
    return "begun";
  case SwapState::done:
    return "done";
  case SwapState::undone:
    return "undone";
  case SwapState::swapping_back:
    return "swapping_back";
  }
  return "begun";
}

SwapState swapped_back(SwapState state) {
  return state == SwapState::done ? SwapState::undone : SwapState::done;
}

bool cut_short(SwapState state) {
  return state == SwapState::begun || state == SwapState::swapping_back;
}

util::Result<SwapJournal> SwapJournal::load(const fs::path &backup_root) {
  SwapJournal journal;
  journal.m_file = backup_root / k_file;
  std::error_code ec;
  if (!fs::exists(journal.m_file, ec)) return journal;
  TRY_ASSIGN(auto text, util::read_file(journal.m_file));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("swaps") || !j["swaps"].is_array())
    return util::fail("'" + journal.m_file.string() +
                      "' is not a swap journal\nhint: it records standby swaps; move it aside "
                      "only after checking the databases and directories it names");
  for (const auto &item : j["swaps"]) {
    TRY_ASSIGN(auto entry, entry_from(item, journal.m_file));
    journal.m_entries.push_back(std::move(entry));
  }
  return journal;
}

std::vector<SwapEntry> SwapJournal::last_rollback() const {
  std::vector<SwapEntry> out;
  if (m_entries.empty()) return out;
  // Rollback ids are timestamps: the greatest is the newest.
  auto newest = std::max_element(m_entries.begin(), m_entries.end(),
                                 [](const SwapEntry &a, const SwapEntry &b) {
                                   return a.rollback_id < b.rollback_id;
                                 })
                    ->rollback_id;
  for (const auto &e : m_entries)
    if (e.rollback_id == newest) out.push_back(e);
  return out;
}

namespace {
// The jobs of one rollback journal their swaps at once, each through its
// own SwapJournal: each change re-reads the file under this lock, so none
// writes over another's entry.
std::mutex k_journal_mutex;
} // namespace

util::Result<void> SwapJournal::reload() {
  TRY_ASSIGN(auto now, load(m_file.parent_path()));
  m_entries = std::move(now.m_entries);
  return {};
}

util::Result<void> SwapJournal::record(const SwapEntry &entry) {
  std::lock_guard lock(k_journal_mutex);
  TRY(reload());
  auto same = [&](const SwapEntry &e) {
    return e.rollback_id == entry.rollback_id && e.target == entry.target && e.kind == entry.kind;
  };
  auto it = std::find_if(m_entries.begin(), m_entries.end(), same);
  if (it != m_entries.end())
    *it = entry;
  else
    m_entries.push_back(entry);
  return save();
}

util::Result<void> SwapJournal::forget(const std::string &rollback_id, const std::string &target) {
  std::lock_guard lock(k_journal_mutex);
  TRY(reload());
  std::erase_if(m_entries, [&](const SwapEntry &e) {
    return e.rollback_id == rollback_id && e.target == target;
  });
  return save();
}

util::Result<void> SwapJournal::save() const {
  nlohmann::json swaps = nlohmann::json::array();
  for (const auto &e : m_entries)
    swaps.push_back(entry_json(e));
  TRY(util::make_dirs(m_file.parent_path(), 0700));
  return util::write_file_atomic(m_file, util::json_text({{"swaps", swaps}}, 2) + "\n", 0600);
}

} // namespace gate::model

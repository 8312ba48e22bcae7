#include "steps/volume/quiesce_journal.hpp"

#include "util/gate_journal.hpp"
#include "util/text.hpp"

#include <cctype>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace gate::steps {

namespace fs = std::filesystem;

namespace {

constexpr const char *k_prefix = ".gate-quiesced-";

// The volume name made safe for a file name (a named volume's name may hold dots).
fs::path journal_path(const fs::path &backup_root, const std::string &volume) {
  std::string safe;
  for (char c : volume)
    safe += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return backup_root / (std::string(k_prefix) + safe + ".json");
}

// Brings one listed container back if it is still as the dead gate left it.
// Returns what was done ("" when nothing was needed) or the error.
util::Result<std::string> bring_back(ContainerEngine &engine, const nlohmann::json &c, bool pause) {
  std::string id = c.value("id", std::string());
  std::string name = c.value("name", id);
  TRY_ASSIGN(auto found, engine.container_state(id));
  if (!found) return "'" + name + "' no longer exists (removed or recreated since)";
  const std::string &state = *found;
  if (pause && state == "paused") {
    TRY(engine.unpause(id));
    return "unpaused '" + name + "'";
  }
  if (!pause && (state == "exited" || state == "stopped")) {
    TRY(engine.start(id));
    return "started '" + name + "'";
  }
  return std::string();
}

std::string repair_entry(const nlohmann::json &entry) {
  std::string volume = entry.value("volume", std::string());
  bool pause = entry.value("mode", std::string()) == "pause";
  std::vector<std::string> names;
  for (const auto &c : entry["containers"])
    names.push_back(c.value("name", std::string()));
  std::string by_hand = fmt::format("{} {} {}", entry.value("command", std::string("docker")),
                                    pause ? "unpause" : "start", util::join(names, " "));
  auto engine = ContainerEngine::connect(entry.value("socket", std::string()));
  if (!engine)
    return fmt::format("containers of volume '{}' were left {} by a gate that died (pid {}), and "
                       "the engine does not answer: {}\nhint: once it does, run: {}",
                       volume, pause ? "paused" : "stopped", entry.value("pid", 0L),
                       engine.error().message, by_hand);
  std::vector<std::string> done;
  for (const auto &c : entry["containers"]) {
    auto r = bring_back(*engine, c, pause);
    if (!r)
      return fmt::format("containers of volume '{}' were left {} by a gate that died (pid {}), "
                         "and could not all be brought back: {}\nhint: run: {}",
                         volume, pause ? "paused" : "stopped", entry.value("pid", 0L),
                         r.error().message, by_hand);
    if (!r->empty()) done.push_back(*r);
  }
  return fmt::format("containers of volume '{}' were left {} by a gate that died (pid {}): {}",
                     volume, pause ? "paused" : "stopped", entry.value("pid", 0L),
                     done.empty() ? "each was already running again" : util::join(done, ", "));
}

} // namespace

util::Result<QuiesceJournal> QuiesceJournal::open(const fs::path &backup_root,
                                                  const std::string &volume,
                                                  const ContainerEngine &engine,
                                                  config::Quiesce mode,
                                                  const std::vector<EngineContainer> &containers) {
  QuiesceJournal j;
  j.m_path = journal_path(backup_root, volume);
  nlohmann::json listed = nlohmann::json::array();
  for (const auto &c : containers)
    listed.push_back({{"id", c.id}, {"name", c.name}});
  bool podman = engine.engine().find("Podman") != std::string::npos;
  TRY(util::write_gate_journal(j.m_path,
                               {{"volume", volume},
                                {"socket", engine.socket()},
                                {"command", podman ? "podman" : "docker"},
                                {"mode", mode == config::Quiesce::pause ? "pause" : "stop"},
                                {"containers", listed}}));
  return j;
}

void QuiesceJournal::done() const {
  std::error_code ec;
  fs::remove(m_path, ec);
}

std::vector<std::string> repair_quiesced_containers(const config::PipelineConfig &config) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto &[path, entry] : util::dead_gate_journals(config.backup_root, k_prefix)) {
    if (!entry.contains("containers") || !entry["containers"].is_array()) continue;
    bool well_formed = true;
    for (const auto &c : entry["containers"])
      well_formed = well_formed && c.is_object();
    if (!well_formed) continue;
    std::string line = repair_entry(entry);
    if (line.find("\nhint:") == std::string::npos) fs::remove(path, ec);
    out.push_back(line);
  }
  return out;
}

} // namespace gate::steps

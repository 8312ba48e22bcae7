#include "steps/volume/quiesce.hpp"

#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

namespace gate::steps {

util::Result<std::unique_ptr<Quiescer>> Quiescer::begin(std::shared_ptr<ContainerEngine> engine,
                                                        const std::string &volume,
                                                        config::Quiesce mode,
                                                        std::chrono::milliseconds timeout,
                                                        const std::filesystem::path &journal_dir) {
  auto q = std::unique_ptr<Quiescer>(new Quiescer());
  q->m_engine = std::move(engine);
  q->m_mode = mode;
  TRY_ASSIGN(auto users, q->m_engine->containers_using(volume));
  std::vector<EngineContainer> running;
  for (const auto &c : users) {
    if (c.state == "running") {
      running.push_back(c);
      continue;
    }
    util::log_info("container '{}' uses volume '{}' but is {}: left as it is", c.name, volume,
                   c.state);
  }
  if (running.empty()) return q;
  // Journaled before the first stop: a gate killed now is repaired by the next.
  TRY_ASSIGN(auto journal, QuiesceJournal::open(journal_dir, volume, *q->m_engine, mode, running));
  q->m_journal = journal;
  for (const auto &c : running) {
    util::log_info("{} container '{}' (uses volume '{}')",
                   mode == config::Quiesce::pause ? "pausing" : "stopping", c.name, volume);
    auto r = mode == config::Quiesce::pause ? q->m_engine->pause(c.id)
                                            : q->m_engine->stop(c.id, timeout);
    if (!r) return std::unexpected(r.error()); // the destructor restarts what was already stopped
    q->m_held.push_back({c, std::chrono::steady_clock::now()});
  }
  util::fault_point("quiesce.after-stop"); // inert unless a test set it
  return q;
}

util::Result<void> Quiescer::resume() {
  if (m_resumed) return {};
  m_resumed = true;
  util::CancelShield shield; // the containers come back even after an interrupt
  bool pause = m_mode == config::Quiesce::pause;
  std::vector<std::string> not_back; // names, for the message and the hint
  std::string errors;
  for (const auto &h : m_held) {
    auto r = pause ? m_engine->unpause(h.container.id) : m_engine->start(h.container.id);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - h.since).count();
    m_facts.push_back({{"name", h.container.name},
                       {"id", h.container.id},
                       {"action", pause ? "paused" : "stopped"},
                       {"seconds", seconds},
                       {"resumed", r.has_value()}});
    if (!r) {
      not_back.push_back(h.container.name);
      errors += fmt::format("\n  {}: {}", h.container.name, r.error().message);
    } else {
      util::log_info("{} container '{}' after {:.1f} s", pause ? "unpaused" : "started",
                     h.container.name, seconds);
    }
  }
  if (not_back.empty()) {
    if (m_journal) m_journal->done();
    return {};
  }
  // The journal stays: the next gate tries again.
  return util::fail(not_resumed_message(not_back, errors));
}

// Which containers are still down, why, and the command that brings them back.
std::string Quiescer::not_resumed_message(const std::vector<std::string> &names,
                                          const std::string &errors) const {
  bool pause = m_mode == config::Quiesce::pause;
  bool podman = m_engine->engine().find("Podman") != std::string::npos;
  std::string quoted;
  for (const auto &n : names)
    quoted += (quoted.empty() ? "'" : ", '") + n + "'";
  return fmt::format("could not {} container{} {} again through {} on {}:{}\nhint: {} {} still {}; "
                     "once the engine answers, run: {} {} {}",
                     pause ? "unpause" : "start", names.size() > 1 ? "s" : "", quoted,
                     m_engine->engine(), m_engine->socket(), errors, quoted,
                     names.size() > 1 ? "are" : "is", pause ? "paused" : "stopped",
                     podman ? "podman" : "docker", pause ? "unpause" : "start",
                     util::join(names, " "));
}

Quiescer::~Quiescer() {
  if (!m_resumed)
    if (auto r = resume(); !r) util::log_error("{}", r.error().message);
}

} // namespace gate::steps

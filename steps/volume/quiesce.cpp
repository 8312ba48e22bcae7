#include "steps/volume/quiesce.hpp"

#include "util/cancel.hpp"
#include "util/log.hpp"

namespace gate::steps {

util::Result<std::unique_ptr<Quiescer>> Quiescer::begin(std::shared_ptr<ContainerEngine> engine,
                                                        const std::string &volume,
                                                        config::Quiesce mode,
                                                        std::chrono::milliseconds timeout) {
  auto q = std::unique_ptr<Quiescer>(new Quiescer());
  q->m_engine = std::move(engine);
  q->m_mode = mode;
  TRY_ASSIGN(auto users, q->m_engine->containers_using(volume));
  for (const auto &c : users) {
    if (c.state != "running") {
      util::log_info("container '{}' uses volume '{}' but is {}: left as it is", c.name, volume,
                     c.state);
      continue;
    }
    util::log_info("{} container '{}' (uses volume '{}')",
                   mode == config::Quiesce::pause ? "pausing" : "stopping", c.name, volume);
    auto r = mode == config::Quiesce::pause ? q->m_engine->pause(c.id)
                                            : q->m_engine->stop(c.id, timeout);
    if (!r) return std::unexpected(r.error()); // the destructor restarts what was already stopped
    q->m_held.push_back({c, std::chrono::steady_clock::now()});
  }
  return q;
}

util::Result<void> Quiescer::resume() {
  if (m_resumed) return {};
  m_resumed = true;
  util::CancelShield shield; // the containers come back even after an interrupt
  std::string errors;
  for (const auto &h : m_held) {
    auto r = m_mode == config::Quiesce::pause ? m_engine->unpause(h.container.id)
                                              : m_engine->start(h.container.id);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - h.since).count();
    m_facts.push_back({{"name", h.container.name},
                       {"id", h.container.id},
                       {"action", m_mode == config::Quiesce::pause ? "paused" : "stopped"},
                       {"seconds", seconds},
                       {"resumed", r.has_value()}});
    if (!r)
      errors += (errors.empty() ? "" : "; ") + r.error().message;
    else
      util::log_info("{} container '{}' after {:.1f} s",
                     m_mode == config::Quiesce::pause ? "unpaused" : "started", h.container.name,
                     seconds);
  }
  if (!errors.empty())
    return util::fail(errors + "\nhint: start them by hand (docker/podman start NAME)");
  return {};
}

Quiescer::~Quiescer() {
  if (!m_resumed)
    if (auto r = resume(); !r) util::log_error("{}", r.error().message);
}

} // namespace gate::steps

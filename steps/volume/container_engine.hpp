// The Docker Engine API (which Podman also serves) over a unix socket:
// named volumes, the containers using them, stop/start/pause/unpause. The
// socket comes from `socket:`, DOCKER_HOST / CONTAINER_HOST, or the usual
// Docker and Podman paths; when none answers the error names each one tried.
#pragma once

#include "util/expected.hpp"
#include "util/http.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gate::steps {

struct EngineVolume {
  std::string name;
  std::string mountpoint;
  std::string driver;
  nlohmann::json labels = nlohmann::json::object();
};

struct EngineContainer {
  std::string id;
  std::string name;
  std::string state; // running | paused | exited | created ...
};

class ContainerEngine {
public:
  // Connects to the first socket that answers, trying `configured` first.
  static util::Result<ContainerEngine> connect(const std::string &configured);
  // Sockets tried when nothing is configured, in order.
  static std::vector<std::string> candidate_sockets(const std::string &configured);

  const std::string &socket() const { return m_socket; }
  const std::string &engine() const {
    return m_engine;
  } // "Podman Engine", "Docker Engine - Community"...
  const std::string &version() const { return m_version; }

  // The volume, or nullopt when it does not exist.
  util::Result<std::optional<EngineVolume>> volume(const std::string &name);
  util::Result<std::vector<std::string>> volume_names();
  util::Result<EngineVolume> create_volume(const std::string &name, const std::string &driver,
                                           const nlohmann::json &labels);
  // Every container (running, paused or stopped) with `volume` mounted.
  util::Result<std::vector<EngineContainer>> containers_using(const std::string &volume);
  util::Result<nlohmann::json> inspect_container(const std::string &id);
  // The container's State.Status ("running", "exited", "paused"...), or
  // nullopt when no container has that id any more.
  util::Result<std::optional<std::string>> container_state(const std::string &id);
  util::Result<void> stop(const std::string &id, std::chrono::milliseconds timeout);
  util::Result<void> start(const std::string &id);
  util::Result<void> pause(const std::string &id);
  util::Result<void> unpause(const std::string &id);

private:
  ContainerEngine() = default;
  util::Result<util::HttpResponse> call(const std::string &method, const std::string &path,
                                        const std::string &body = "");
  std::string m_socket;
  std::string m_engine;
  std::string m_version;
  std::optional<util::HttpClient> m_http;
};

// The closest names to a missing volume: compose-project prefix or suffix
// matches first ("confluence_data" -> "local-dev-setup_confluence_data"),
// then small edit distances.
std::vector<std::string> suggest_volumes(const std::string &wanted,
                                         const std::vector<std::string> &existing);

// A copy of a container's inspect JSON with secret-looking environment
// values masked (PASSWORD=..., *_TOKEN=..., *_KEY=...).
nlohmann::json mask_container_secrets(nlohmann::json inspect);

} // namespace gate::steps

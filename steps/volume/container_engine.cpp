#include "steps/volume/container_engine.hpp"

#include "util/json.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <sys/stat.h>

namespace gate::steps {

namespace {

constexpr const char *k_api = "/v1.41";

std::string strip_unix(const std::string &s) {
  return s.rfind("unix://", 0) == 0 ? s.substr(7) : s;
}

bool secret_name(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  for (const char *marker : {"PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "AUTH", "PRIVATE"})
    if (name.find(marker) != std::string::npos) return true;
  return false;
}

std::string api_error(const util::HttpResponse &r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  return r.body.substr(0, 200);
}

} // namespace

std::vector<std::string> ContainerEngine::candidate_sockets(const std::string &configured) {
  std::vector<std::string> out;
  auto add = [&](const std::string &s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  if (!configured.empty()) {
    add(strip_unix(configured));
    return out; // an explicit socket is the only one tried
  }
  for (const char *var : {"DOCKER_HOST", "CONTAINER_HOST"})
    if (const char *v = std::getenv(var); v && std::string(v).rfind("unix://", 0) == 0)
      add(strip_unix(v));
  add("/var/run/docker.sock");
  add("/run/podman/podman.sock");
  if (const char *xdg = std::getenv("XDG_RUNTIME_DIR"))
    add(std::string(xdg) + "/podman/podman.sock");
  return out;
}

util::Result<ContainerEngine> ContainerEngine::connect(const std::string &configured) {
  std::vector<std::string> tried;
  for (const auto &socket : candidate_sockets(configured)) {
    struct stat st {};
    if (::stat(socket.c_str(), &st) != 0) {
      tried.push_back(socket + ": does not exist");
      continue;
    }
    if (!S_ISSOCK(st.st_mode)) {
      tried.push_back(socket + ": not a socket");
      continue;
    }
    util::HttpOptions options;
    // Local calls, but a stop waits for the container's own timeout: be generous.
    options.timeout = std::chrono::minutes(10);
    auto client = util::HttpClient::for_unix_socket(socket, options);
    auto r = client.get(std::string(k_api) + "/version");
    if (!r) {
      tried.push_back(socket + ": " + r.error().message);
      continue;
    }
    if (r->status != 200) {
      tried.push_back(socket + ": GET /version answered " + std::to_string(r->status));
      continue;
    }
    ContainerEngine engine;
    engine.m_socket = socket;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    engine.m_version = j.is_object() ? j.value("Version", "") : "";
    engine.m_engine = "Docker Engine";
    if (j.is_object())
      for (const auto &c : j.value("Components", nlohmann::json::array()))
        if (c.is_object() && c.value("Name", "").find("Podman") != std::string::npos)
          engine.m_engine = c.value("Name", "");
    engine.m_http.emplace(std::move(client));
    util::log_debug("container engine: {} {} on {}", engine.m_engine, engine.m_version, socket);
    return engine;
  }
  std::string list;
  for (const auto &t : tried)
    list += "\n  " + t;
  return util::fail("no container engine reachable; tried:" + list +
                    "\nhint: start the Docker or Podman service, or set socket: in pipeline.yml");
}

util::Result<util::HttpResponse>
ContainerEngine::call(const std::string &method, const std::string &path, const std::string &body) {
  std::string full = std::string(k_api) + path;
  if (method == "GET") return m_http->get(full);
  if (method == "DELETE") return m_http->del(full);
  return m_http->post(full, body, "application/json");
}

util::Result<std::optional<EngineVolume>> ContainerEngine::volume(const std::string &name) {
  TRY_ASSIGN(auto r, call("GET", "/volumes/" + util::url_encode(name)));
  if (r.status == 404) return std::optional<EngineVolume>();
  if (r.status != 200)
    return util::fail("unable to inspect volume '" + name + "': " + api_error(r));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return util::fail("unable to inspect volume '" + name + "': not JSON");
  EngineVolume v;
  v.name = j.value("Name", name);
  v.mountpoint = j.value("Mountpoint", "");
  v.driver = j.value("Driver", "local");
  if (j.contains("Labels") && j["Labels"].is_object()) v.labels = j["Labels"];
  return std::optional<EngineVolume>(v);
}

util::Result<std::vector<std::string>> ContainerEngine::volume_names() {
  TRY_ASSIGN(auto r, call("GET", "/volumes"));
  if (r.status != 200) return util::fail("unable to list volumes: " + api_error(r));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::vector<std::string> out;
  if (j.is_object())
    for (const auto &v : j.value("Volumes", nlohmann::json::array()))
      if (v.is_object()) out.push_back(v.value("Name", ""));
  return out;
}

util::Result<EngineVolume> ContainerEngine::create_volume(const std::string &name,
                                                          const std::string &driver,
                                                          const nlohmann::json &labels) {
  nlohmann::json body{
      {"Name", name}, {"Driver", driver.empty() ? "local" : driver}, {"Labels", labels}};
  TRY_ASSIGN(auto r, call("POST", "/volumes/create", util::json_text(body)));
  if (r.status != 201 && r.status != 200)
    return util::fail("unable to create volume '" + name + "': " + api_error(r));
  TRY_ASSIGN(auto v, volume(name));
  if (!v) return util::fail("volume '" + name + "' was created but cannot be inspected");
  return *v;
}

util::Result<std::vector<EngineContainer>>
ContainerEngine::containers_using(const std::string &volume) {
  // Inspecting each container's mounts works on every engine version; the
  // `volume` list filter does not everywhere. all=1: paused and stopped too.
  TRY_ASSIGN(auto r, call("GET", "/containers/json?all=1"));
  if (r.status != 200) return util::fail("unable to list containers: " + api_error(r));
  auto list = nlohmann::json::parse(r.body, nullptr, false);
  std::vector<EngineContainer> out;
  if (!list.is_array()) return out;
  for (const auto &c : list) {
    std::string id = c.value("Id", "");
    TRY_ASSIGN(auto inspect, inspect_container(id));
    bool uses = false;
    for (const auto &m : inspect.value("Mounts", nlohmann::json::array()))
      if (m.is_object() && m.value("Type", "") == "volume" && m.value("Name", "") == volume)
        uses = true;
    if (!uses) continue;
    EngineContainer e;
    e.id = id;
    e.name = inspect.value("Name", id);
    if (!e.name.empty() && e.name[0] == '/') e.name.erase(0, 1);
    e.state = inspect.contains("State") && inspect["State"].is_object()
                  ? inspect["State"].value("Status", "")
                  : "";
    out.push_back(std::move(e));
  }
  return out;
}

util::Result<nlohmann::json> ContainerEngine::inspect_container(const std::string &id) {
  TRY_ASSIGN(auto r, call("GET", "/containers/" + util::url_encode(id) + "/json"));
  if (r.status != 200)
    return util::fail("unable to inspect container '" + id + "': " + api_error(r));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return util::fail("unable to inspect container '" + id + "': not JSON");
  return j;
}

util::Result<std::optional<std::string>> ContainerEngine::container_state(const std::string &id) {
  TRY_ASSIGN(auto r, call("GET", "/containers/" + util::url_encode(id) + "/json"));
  if (r.status == 404) return std::optional<std::string>();
  if (r.status != 200)
    return util::fail("unable to inspect container '" + id + "': " + api_error(r));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("State") || !j["State"].is_object())
    return util::fail("unable to inspect container '" + id + "': no State in the answer");
  return std::optional<std::string>(j["State"].value("Status", std::string()));
}

util::Result<void> ContainerEngine::stop(const std::string &id, std::chrono::milliseconds timeout) {
  long long t =
      std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
  TRY_ASSIGN(auto r,
             call("POST", "/containers/" + util::url_encode(id) + "/stop?t=" + std::to_string(t)));
  if (r.status != 204 && r.status != 304)
    return util::fail("unable to stop container '" + id + "': " + api_error(r));
  return {};
}

util::Result<void> ContainerEngine::start(const std::string &id) {
  TRY_ASSIGN(auto r, call("POST", "/containers/" + util::url_encode(id) + "/start"));
  if (r.status != 204 && r.status != 304)
    return util::fail("unable to start container '" + id + "': " + api_error(r));
  return {};
}

util::Result<void> ContainerEngine::pause(const std::string &id) {
  TRY_ASSIGN(auto r, call("POST", "/containers/" + util::url_encode(id) + "/pause"));
  if (r.status != 204) return util::fail("unable to pause container '" + id + "': " + api_error(r));
  return {};
}

util::Result<void> ContainerEngine::unpause(const std::string &id) {
  TRY_ASSIGN(auto r, call("POST", "/containers/" + util::url_encode(id) + "/unpause"));
  if (r.status != 204)
    return util::fail("unable to unpause container '" + id + "': " + api_error(r));
  return {};
}

std::vector<std::string> suggest_volumes(const std::string &wanted,
                                         const std::vector<std::string> &existing) {
  std::vector<std::string> out;
  for (const auto &name : existing) {
    // compose names volumes <project>_<name>; some setups use <name>_<suffix>
    bool prefixed = name.size() > wanted.size() + 1 &&
                    name.compare(name.size() - wanted.size(), wanted.size(), wanted) == 0 &&
                    (name[name.size() - wanted.size() - 1] == '_' ||
                     name[name.size() - wanted.size() - 1] == '-');
    bool suffixed = name.size() > wanted.size() + 1 &&
                    name.compare(0, wanted.size(), wanted) == 0 &&
                    (name[wanted.size()] == '_' || name[wanted.size()] == '-');
    if (prefixed || suffixed) out.push_back(name);
  }
  std::vector<std::pair<size_t, std::string>> near;
  for (const auto &name : existing) {
    if (std::find(out.begin(), out.end(), name) != out.end()) continue;
    size_t d = util::edit_distance(wanted, name);
    if (d <= std::max<size_t>(2, wanted.size() / 4)) near.emplace_back(d, name);
  }
  std::sort(near.begin(), near.end());
  for (auto &[d, name] : near)
    out.push_back(name);
  if (out.size() > 5) out.resize(5);
  return out;
}

nlohmann::json mask_container_secrets(nlohmann::json inspect) {
  if (inspect.contains("Config") && inspect["Config"].is_object() &&
      inspect["Config"].contains("Env") && inspect["Config"]["Env"].is_array()) {
    for (auto &e : inspect["Config"]["Env"]) {
      if (!e.is_string()) continue;
      std::string s = e.get<std::string>();
      size_t eq = s.find('=');
      if (eq == std::string::npos) continue;
      if (secret_name(s.substr(0, eq)))
        e = s.substr(0, eq) + "=***";
      else
        e = s.substr(0, eq + 1) +
            util::sanitize_url(s.substr(eq + 1)); // postgres://user:pw@... in DATABASE_URL
    }
  }
  return inspect;
}

} // namespace gate::steps

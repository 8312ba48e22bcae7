#include "steps/volume/source.hpp"

#include "util/fs.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace gate::steps {

namespace {

util::Result<void> check_directory(const config::VolumeTarget &target,
                                   const std::filesystem::path &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return util::fail("volume '" + target.name + "': unable to read '" + path.string() +
                      "': " + util::errno_text(errno));
  if (!S_ISDIR(st.st_mode))
    return util::fail("volume '" + target.name + "': '" + path.string() + "' is not a directory");
  if (::access(path.c_str(), R_OK | X_OK) != 0)
    return util::fail("volume '" + target.name + "': unable to read '" + path.string() +
                      "': " + util::errno_text(errno));
  return {};
}

VolumeSource named_source(std::shared_ptr<ContainerEngine> engine, const EngineVolume &v) {
  VolumeSource source;
  source.path = v.mountpoint;
  source.volume = v.name;
  source.facts = {{"type", "named volume"},
                  {"engine", engine->engine()},
                  {"engine_version", engine->version()},
                  {"socket", engine->socket()},
                  {"volume", v.name},
                  {"driver", v.driver},
                  {"labels", v.labels},
                  {"mountpoint", v.mountpoint}};
  source.engine = std::move(engine);
  return source;
}

} // namespace

util::Result<VolumeSource> resolve_volume_source(const config::PipelineConfig &config,
                                                 const config::VolumeTarget &target) {
  if (target.volume.empty()) {
    TRY(check_directory(target, target.path));
    VolumeSource source;
    source.path = target.path;
    source.facts["type"] = "directory";
    return source;
  }
  auto connected = ContainerEngine::connect(config.engine_socket);
  if (!connected)
    return std::unexpected(connected.error().with_context("volume '" + target.name + "'"));
  auto engine = std::make_shared<ContainerEngine>(std::move(*connected));
  TRY_ASSIGN(auto found, engine->volume(target.volume));
  if (!found) {
    std::string message = "volume '" + target.name + "': no " + engine->engine() +
                          " volume named '" + target.volume + "'";
    if (auto names = engine->volume_names(); names) {
      auto close = suggest_volumes(target.volume, *names);
      if (!close.empty()) {
        message += "; did you mean ";
        for (size_t i = 0; i < close.size(); ++i)
          message += (i ? ", '" : "'") + close[i] + "'";
        message += "?";
        if (close.front().size() > target.volume.size())
          message += "\nhint: compose prefixes volume names with the project name (<project>_" +
                     target.volume + ")";
      }
    }
    return util::fail(message);
  }
  TRY(check_directory(target, found->mountpoint));
  return named_source(std::move(engine), *found);
}

util::Result<VolumeSource> resolve_volume_for_restore(const config::PipelineConfig &config,
                                                      const config::VolumeTarget &target,
                                                      const nlohmann::json &recorded, bool create) {
  if (target.volume.empty()) {
    VolumeSource source;
    source.path = target.path;
    source.facts["type"] = "directory";
    return source;
  }
  auto connected = ContainerEngine::connect(config.engine_socket);
  if (!connected)
    return std::unexpected(connected.error().with_context("volume '" + target.name + "'"));
  auto engine = std::make_shared<ContainerEngine>(std::move(*connected));
  TRY_ASSIGN(auto found, engine->volume(target.volume));
  if (found) return named_source(std::move(engine), *found);
  if (!create) {
    VolumeSource source;
    source.engine = std::move(engine);
    source.volume = target.volume;
    source.missing = true;
    return source;
  }
  nlohmann::json labels = recorded.value("labels", nlohmann::json::object());
  std::string driver = recorded.value("driver", std::string("local"));
  util::log_warn(
      "volume '{}': {} volume '{}' no longer exists; creating it again with its recorded labels",
      target.name, engine->engine(), target.volume);
  TRY_ASSIGN(auto created, engine->create_volume(target.volume, driver, labels));
  return named_source(std::move(engine), created);
}

} // namespace gate::steps

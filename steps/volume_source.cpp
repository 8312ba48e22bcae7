#include "steps/volume_source.hpp"

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.hpp"

namespace gate::steps {

util::Result<VolumeSource> resolve_volume_source(const config::PipelineConfig& config,
                                                 const config::VolumeTarget& target) {
  if (!target.volume.empty())
    return util::fail("volume '" + target.name + "': named volumes ('volume: " + target.volume +
                      "') need the container engine support, which this gate lacks");
  struct stat st {};
  if (::stat(target.path.c_str(), &st) != 0)
    return util::fail("volume '" + target.name + "': unable to read '" + target.path.string() +
                      "': " + util::errno_text(errno));
  if (!S_ISDIR(st.st_mode))
    return util::fail("volume '" + target.name + "': '" + target.path.string() + "' is not a directory");
  if (::access(target.path.c_str(), R_OK | X_OK) != 0)
    return util::fail("volume '" + target.name + "': unable to read '" + target.path.string() +
                      "': " + util::errno_text(errno));
  VolumeSource source;
  source.path = target.path;
  source.facts["type"] = "directory";
  return source;
}

} // namespace gate::steps

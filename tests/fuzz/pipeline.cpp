// Fuzzes the pipeline.yml reader: any bytes must give a PipelineConfig or an
// error, never a crash, a hang or undefined behaviour.
#include "config/pipeline.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  auto config = gate::config::parse_pipeline(text, "/fuzz/pipeline.yml");
  // A file with `environments:` needs one picked; read it as `staging` too.
  if (!config)
    (void)gate::config::parse_pipeline(text, "/fuzz/pipeline.yml",
                                       gate::config::EnvironmentRequest{"staging", "--env"});
  return 0;
}

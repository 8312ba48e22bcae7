// Fuzzes the manifest reader (what `gate list`, verify and rollback read from
// a set, possibly one copied back from a remote): any bytes must give a
// Manifest or an error. A manifest that reads is written and read back.
#include "model/manifest.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  auto manifest = gate::model::manifest_from_json(j);
  if (!manifest) return 0;
  if (!gate::model::manifest_from_json(gate::model::to_json(*manifest))) std::abort();
  return 0;
}

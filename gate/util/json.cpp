#include "util/json.hpp"

namespace gate::util {

std::string json_text(const nlohmann::json &value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace gate::util

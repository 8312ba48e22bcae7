// The one way gate turns JSON into text. Strings in gate's JSON come from file
// names, database and server messages, and may hold bytes that are not UTF-8:
// they are written with U+FFFD in their place instead of aborting the writer.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace gate::util {

// `value` as JSON text; `indent` < 0 for one line. Never throws on invalid UTF-8.
std::string json_text(const nlohmann::json &value, int indent = -1);

} // namespace gate::util

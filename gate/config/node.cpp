#include "config/node.hpp"

#include "util/fs.hpp"
#include "util/text.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace gate::config {

using util::Error;
using util::ErrorKind;
using util::Result;

std::string Location::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

struct Node::Impl {
  YAML::Node node;
  Location location;
  std::shared_ptr<const std::string> file;
};

namespace {
Location location_of(const YAML::Node& n, const std::string& file) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return Location{file, 0, 0};
  return Location{file, m.line + 1, m.column + 1}; // yaml-cpp marks are 0-based
}
} // namespace

Node::Node() : m_impl(std::make_shared<Impl>()) {}
Node::Node(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Node::~Node() = default;
Node::Node(const Node&) = default;
Node& Node::operator=(const Node&) = default;

Result<Node> Node::parse(const std::string& text, const std::string& file_name) {
  auto impl = std::make_shared<Impl>();
  impl->file = std::make_shared<const std::string>(file_name);
  try {
    impl->node = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Location loc{file_name, e.mark.line + 1, e.mark.column + 1};
    return util::fail(ErrorKind::config, loc.to_string() + ": invalid YAML: " + e.msg);
  }
  impl->location = Location{file_name, 1, 1};
  return Node(impl);
}

Result<Node> Node::load_file(const std::filesystem::path& path) {
  auto text = util::read_file(path);
  if (!text) return util::fail(ErrorKind::config, text.error().message);
  return parse(*text, path.string());
}

const Location& Node::location() const { return m_impl->location; }
bool Node::is_null() const { return !m_impl->node || m_impl->node.IsNull(); }
bool Node::is_map() const { return m_impl->node && m_impl->node.IsMap(); }
bool Node::is_sequence() const { return m_impl->node && m_impl->node.IsSequence(); }
bool Node::is_scalar() const { return m_impl->node && m_impl->node.IsScalar(); }

std::vector<std::pair<Node, Node>> Node::entries() const {
  std::vector<std::pair<Node, Node>> out;
  if (!is_map()) return out;
  const std::string& file = m_impl->file ? *m_impl->file : std::string();
  for (auto it = m_impl->node.begin(); it != m_impl->node.end(); ++it) {
    auto k = std::make_shared<Impl>(Impl{it->first, location_of(it->first, file), m_impl->file});
    auto v = std::make_shared<Impl>(Impl{it->second, location_of(it->second, file), m_impl->file});
    if (v->location.line == 0) v->location = k->location; // empty values have no mark
    out.emplace_back(Node(k), Node(v));
  }
  return out;
}

std::vector<Node> Node::items() const {
  std::vector<Node> out;
  if (!is_sequence()) return out;
  const std::string& file = m_impl->file ? *m_impl->file : std::string();
  for (const auto& item : m_impl->node) {
    auto i = std::make_shared<Impl>(Impl{item, location_of(item, file), m_impl->file});
    if (i->location.line == 0) i->location = m_impl->location;
    out.push_back(Node(i));
  }
  return out;
}

std::string Node::raw() const { return is_scalar() ? m_impl->node.Scalar() : std::string(); }

Error Node::error(const std::string& message) const {
  return Error{ErrorKind::config, m_impl->location.to_string() + ": " + message};
}

Result<std::string> interpolate_env(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out.push_back('$');
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string::npos) return util::fail("unterminated '${' (write '$$' for a literal '$')");
    std::string inner = text.substr(i + 2, close - i - 2);
    std::string name = inner, fallback;
    bool has_default = false;
    if (size_t d = inner.find(":-"); d != std::string::npos) {
      name = inner.substr(0, d);
      fallback = inner.substr(d + 2);
      has_default = true;
    }
    bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!valid) return util::fail("invalid variable name '" + name + "' in '${" + inner + "}'");
    const char* value = std::getenv(name.c_str());
    if (value && *value)
      out.append(value);
    else if (has_default)
      out.append(fallback);
    else
      return util::fail("environment variable '" + name + "' is not set");
    i = close;
  }
  return out;
}

Result<std::string> Node::as_string() const {
  if (!is_scalar()) return std::unexpected(error("expected a string"));
  auto r = interpolate_env(m_impl->node.Scalar());
  if (!r) return std::unexpected(error(r.error().message));
  return *r;
}

Result<bool> Node::as_bool() const {
  TRY_ASSIGN(std::string s, as_string());
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return std::unexpected(error("expected true or false, got '" + s + "'"));
}

Result<double> Node::as_number() const {
  TRY_ASSIGN(std::string s, as_string());
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    return std::unexpected(error("expected a number, got '" + s + "'"));
  return v;
}

Result<long long> Node::as_int(long long min, long long max) const {
  TRY_ASSIGN(std::string s, as_string());
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0') return std::unexpected(error("expected a whole number, got '" + s + "'"));
  if (v < min || v > max)
    return std::unexpected(
        error("value " + s + " is out of range " + std::to_string(min) + ".." + std::to_string(max)));
  return v;
}

Result<uint64_t> Node::as_size() const {
  TRY_ASSIGN(std::string s, as_string());
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string number = s.substr(0, i), unit = s.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::pair<const char*, double> k_units[] = {
      {"", 1},         {"B", 1},        {"KiB", 1024.0},   {"MiB", 1048576.0}, {"GiB", 1073741824.0},
      {"TiB", 1099511627776.0}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}};
  for (auto& [name, factor] : k_units) {
    if (unit == name && !number.empty()) {
      double v = std::strtod(number.c_str(), nullptr) * factor;
      return static_cast<uint64_t>(std::llround(v));
    }
  }
  return std::unexpected(error("invalid size '" + s + "' (use e.g. 512B, 1KiB, 10MiB, 2GiB)"));
}

Result<std::chrono::milliseconds> Node::as_duration() const {
  TRY_ASSIGN(std::string s, as_string());
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string number = s.substr(0, i), unit = s.substr(i);
  static const std::pair<const char*, double> k_units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"min", 60000},
                                                          {"h", 3600000}};
  if (!number.empty() && unit.empty() && std::strtod(number.c_str(), nullptr) == 0)
    return std::chrono::milliseconds(0);
  for (auto& [name, factor] : k_units) {
    if (unit == name && !number.empty())
      return std::chrono::milliseconds(std::llround(std::strtod(number.c_str(), nullptr) * factor));
  }
  return std::unexpected(error("invalid duration '" + s + "' (use e.g. 500ms, 30s, 5m, 1h)"));
}

Result<double> Node::as_percent() const {
  TRY_ASSIGN(std::string s, as_string());
  if (s.empty() || s.back() != '%') return std::unexpected(error("expected a percentage like 20%, got '" + s + "'"));
  char* end = nullptr;
  std::string number = s.substr(0, s.size() - 1);
  double v = std::strtod(number.c_str(), &end);
  if (number.empty() || *end != '\0' || v < 0 || v > 100)
    return std::unexpected(error("expected a percentage between 0% and 100%, got '" + s + "'"));
  return v / 100.0;
}

Result<std::vector<std::string>> Node::as_string_list() const {
  std::vector<std::string> out;
  if (is_scalar()) {
    TRY_ASSIGN(std::string s, as_string());
    out.push_back(std::move(s));
    return out;
  }
  if (!is_sequence()) return std::unexpected(error("expected a list of strings"));
  for (const auto& item : items()) {
    TRY_ASSIGN(std::string s, item.as_string());
    out.push_back(std::move(s));
  }
  return out;
}

Result<MapReader> MapReader::open(const Node& node, std::string what) {
  if (!node.is_map()) return std::unexpected(node.error("expected a mapping for " + what));
  MapReader reader;
  reader.m_node = node;
  reader.m_what = std::move(what);
  for (auto& [k, v] : node.entries()) {
    std::string key = k.raw();
    if (reader.m_entries.count(key)) return std::unexpected(k.error("duplicate key '" + key + "'"));
    reader.m_entries.emplace(key, std::pair{k, v});
  }
  return reader;
}

std::optional<Node> MapReader::take(const std::string& key) {
  m_known.insert(key);
  auto it = m_entries.find(key);
  if (it == m_entries.end()) return std::nullopt;
  return it->second.second;
}

Result<Node> MapReader::require(const std::string& key) {
  auto n = take(key);
  if (!n) return std::unexpected(m_node.error("missing required key '" + key + "' in " + m_what));
  return *n;
}

Result<void> MapReader::finish() const {
  std::vector<std::string> known(m_known.begin(), m_known.end());
  // Report in document order so the first unknown key is the one shown.
  const Node* first_key = nullptr;
  for (auto& [key, kv] : m_entries) {
    if (m_known.count(key)) continue;
    if (!first_key || kv.first.location().line < first_key->location().line ||
        (kv.first.location().line == first_key->location().line &&
         kv.first.location().column < first_key->location().column))
      first_key = &kv.first;
  }
  if (!first_key) return {};
  std::string key = first_key->raw();
  std::string message = "unknown key '" + key + "' in " + m_what;
  if (auto guess = util::closest_match(key, known)) message += " (did you mean '" + *guess + "'?)";
  return std::unexpected(first_key->error(message));
}

} // namespace gate::config

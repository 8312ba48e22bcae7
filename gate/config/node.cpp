#include "config/node.hpp"

#include "util/fs.hpp"
#include "util/text.hpp"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
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
  // An assembled node (make_map, make_sequence) holds gate Nodes, not YAML.
  std::optional<std::vector<std::pair<Node, Node>>> map;
  std::optional<std::vector<Node>> sequence;
};

namespace {
Location location_of(const YAML::Node &n, const std::string &file) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return Location{file, 0, 0};
  return Location{file, m.line + 1, m.column + 1}; // yaml-cpp marks are 0-based
}
} // namespace

Node::Node() : m_impl(std::make_shared<Impl>()) {}
Node::Node(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Node::~Node() = default;
Node::Node(const Node &) = default;
Node &Node::operator=(const Node &) = default;

namespace {
// yaml-cpp takes any bytes; gate's JSON, messages and file names need UTF-8.
Result<void> require_utf8(const std::string &text, const std::string &file_name) {
  auto bad = util::first_invalid_utf8(text);
  if (!bad) return {};
  size_t line_start = text.rfind('\n', *bad);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  int line =
      1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(*bad), '\n'));
  Location loc{file_name, line, static_cast<int>(*bad - line_start) + 1};
  return util::fail(ErrorKind::config,
                    fmt::format("{}: invalid UTF-8 (byte 0x{:02x}): gate reads configuration as "
                                "UTF-8; write the text in UTF-8",
                                loc.to_string(), static_cast<unsigned char>(text[*bad])));
}
} // namespace

Result<Node> Node::parse(const std::string &text, const std::string &file_name) {
  TRY(require_utf8(text, file_name));
  auto impl = std::make_shared<Impl>();
  impl->file = std::make_shared<const std::string>(file_name);
  try {
    impl->node = YAML::Load(text);
  } catch (const YAML::DeepRecursion &e) {
    // yaml-cpp says only "bad file" here.
    Location loc{file_name, e.mark.line + 1, e.mark.column + 1};
    return util::fail(ErrorKind::config,
                      loc.to_string() +
                          ": invalid YAML: nested too deeply (the YAML reader stops at " +
                          std::to_string(e.depth()) + " levels)");
  } catch (const YAML::Exception &e) {
    Location loc{file_name, e.mark.line + 1, e.mark.column + 1};
    return util::fail(ErrorKind::config, loc.to_string() + ": invalid YAML: " + e.msg);
  }
  impl->location = Location{file_name, 1, 1};
  return Node(impl);
}

Result<Node> Node::load_file(const std::filesystem::path &path) {
  auto text = util::read_file(path);
  if (!text) return util::fail(ErrorKind::config, text.error().message);
  return parse(*text, path.string());
}

Node Node::make_map(std::vector<std::pair<Node, Node>> entries, Location where) {
  auto impl = std::make_shared<Impl>();
  impl->location = std::move(where);
  impl->map = std::move(entries);
  return Node(impl);
}

Node Node::make_sequence(std::vector<Node> items, Location where) {
  auto impl = std::make_shared<Impl>();
  impl->location = std::move(where);
  impl->sequence = std::move(items);
  return Node(impl);
}

const Location &Node::location() const {
  return m_impl->location;
}
bool Node::is_null() const {
  return !m_impl->map && !m_impl->sequence && (!m_impl->node || m_impl->node.IsNull());
}
bool Node::is_map() const {
  return m_impl->map || (m_impl->node && m_impl->node.IsMap());
}
bool Node::is_sequence() const {
  return m_impl->sequence || (m_impl->node && m_impl->node.IsSequence());
}
bool Node::is_scalar() const {
  return !m_impl->map && !m_impl->sequence && m_impl->node && m_impl->node.IsScalar();
}

std::vector<std::pair<Node, Node>> Node::entries() const {
  if (m_impl->map) return *m_impl->map;
  std::vector<std::pair<Node, Node>> out;
  if (!is_map()) return out;
  const std::string &file = m_impl->file ? *m_impl->file : std::string();
  for (auto it = m_impl->node.begin(); it != m_impl->node.end(); ++it) {
    auto k = std::make_shared<Impl>(Impl{it->first, location_of(it->first, file), m_impl->file});
    auto v = std::make_shared<Impl>(Impl{it->second, location_of(it->second, file), m_impl->file});
    if (v->location.line == 0) v->location = k->location; // empty values have no mark
    out.emplace_back(Node(k), Node(v));
  }
  return out;
}

std::vector<Node> Node::items() const {
  if (m_impl->sequence) return *m_impl->sequence;
  std::vector<Node> out;
  if (!is_sequence()) return out;
  const std::string &file = m_impl->file ? *m_impl->file : std::string();
  for (const auto &item : m_impl->node) {
    auto i = std::make_shared<Impl>(Impl{item, location_of(item, file), m_impl->file});
    if (i->location.line == 0) i->location = m_impl->location;
    out.push_back(Node(i));
  }
  return out;
}

std::string Node::raw() const {
  return is_scalar() ? m_impl->node.Scalar() : std::string();
}

Error Node::error(const std::string &message) const {
  return Error{ErrorKind::config, m_impl->location.to_string() + ": " + message};
}

namespace {
// Expands ${VAR} / ${VAR:-default}; an unset variable expands to "" and its
// name goes to `unset` (the first one), so callers decide whether it is an error.
Result<std::string> expand_env(const std::string &text, std::optional<std::string> &unset) {
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
    if (close == std::string::npos)
      return util::fail("unterminated '${' (write '$$' for a literal '$')");
    std::string inner = text.substr(i + 2, close - i - 2);
    std::string name = inner, fallback;
    bool has_default = false;
    if (size_t d = inner.find(":-"); d != std::string::npos) {
      name = inner.substr(0, d);
      fallback = inner.substr(d + 2);
      has_default = true;
    }
    bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name)
      valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!valid) return util::fail("invalid variable name '" + name + "' in '${" + inner + "}'");
    const char *value = std::getenv(name.c_str());
    if (value && *value)
      out.append(value);
    else if (has_default)
      out.append(fallback);
    else if (!unset)
      unset = name;
    i = close;
  }
  return out;
}

std::string unset_message(const std::string &name) {
  return "environment variable '" + name + "' is not set";
}
} // namespace

Result<std::string> interpolate_env(const std::string &text) {
  std::optional<std::string> unset;
  TRY_ASSIGN(std::string out, expand_env(text, unset));
  if (unset) return util::fail(unset_message(*unset));
  return out;
}

Result<std::string> Node::as_string() const {
  if (!is_scalar()) return std::unexpected(error("expected a string"));
  auto r = interpolate_env(m_impl->node.Scalar());
  if (!r) return std::unexpected(error(r.error().message));
  return *r;
}

Result<DeferredString> Node::as_deferred_string() const {
  if (!is_scalar()) return std::unexpected(error("expected a string"));
  std::optional<std::string> unset;
  auto r = expand_env(m_impl->node.Scalar(), unset);
  if (!r) return std::unexpected(error(r.error().message));
  if (unset) return DeferredString::unset(error(unset_message(*unset)));
  return DeferredString(std::move(*r));
}

Result<bool> Node::as_bool() const {
  TRY_ASSIGN(std::string s, as_string());
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return std::unexpected(error("expected true or false, got '" + s + "'"));
}

Result<double> Node::as_number() const {
  TRY_ASSIGN(std::string s, as_string());
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    return std::unexpected(error("expected a number, got '" + s + "'"));
  return v;
}

Result<long long> Node::as_int(long long min, long long max) const {
  TRY_ASSIGN(std::string s, as_string());
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0')
    return std::unexpected(error("expected a whole number, got '" + s + "'"));
  if (v < min || v > max)
    return std::unexpected(error("value " + s + " is out of range " + std::to_string(min) + ".." +
                                 std::to_string(max)));
  return v;
}

namespace {
// A number with a unit, read strictly: digits, at most one '.' followed by
// digits, then the unit ("1.5MiB", "30 s"). Anything else is not a quantity.
struct Quantity {
  uint64_t whole = 0;
  double fraction = 0; // 0 <= fraction < 1
  std::string unit;
  bool overflow = false; // the whole part does not fit 64 bits
};

std::optional<Quantity> parse_quantity(const std::string &s) {
  Quantity q;
  size_t i = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
    q.overflow = q.overflow || __builtin_mul_overflow(q.whole, 10u, &q.whole) ||
                 __builtin_add_overflow(q.whole, static_cast<uint64_t>(s[i] - '0'), &q.whole);
  if (i == 0) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    size_t digits = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i;
    if (i == digits) return std::nullopt;
    q.fraction = std::strtod(("0." + s.substr(digits, i - digits)).c_str(), nullptr);
  }
  while (i < s.size() && s[i] == ' ')
    ++i;
  q.unit = s.substr(i);
  return q;
}

// quantity × factor, rounded; nullopt when it exceeds `max`.
std::optional<uint64_t> scale(const Quantity &q, uint64_t factor, uint64_t max) {
  uint64_t v = 0;
  if (q.overflow || __builtin_mul_overflow(q.whole, factor, &v)) return std::nullopt;
  auto part = static_cast<uint64_t>(std::llround(q.fraction * static_cast<double>(factor)));
  if (__builtin_add_overflow(v, part, &v) || v > max) return std::nullopt;
  return v;
}

// Longer waits are mistakes, and some system calls take milliseconds as an int.
constexpr uint64_t k_max_duration_ms = 24ull * 24 * 3600 * 1000;
} // namespace

Result<uint64_t> Node::as_size() const {
  TRY_ASSIGN(std::string s, as_string());
  static const std::pair<const char *, uint64_t> k_units[] = {{"", 1},
                                                              {"B", 1},
                                                              {"KiB", 1ull << 10},
                                                              {"MiB", 1ull << 20},
                                                              {"GiB", 1ull << 30},
                                                              {"TiB", 1ull << 40},
                                                              {"kB", 1000},
                                                              {"KB", 1000},
                                                              {"MB", 1000000},
                                                              {"GB", 1000000000},
                                                              {"TB", 1000000000000}};
  auto q = parse_quantity(s);
  for (auto &[name, factor] : k_units) {
    if (!q || q->unit != name) continue;
    if (auto v = scale(*q, factor, UINT64_MAX)) return *v;
    return std::unexpected(error("size '" + s + "' is too large (at most 16 EiB)"));
  }
  return std::unexpected(error("invalid size '" + s + "' (use e.g. 512B, 1KiB, 10MiB, 2GiB)"));
}

Result<std::chrono::milliseconds> Node::as_duration() const {
  TRY_ASSIGN(std::string s, as_string());
  static const std::pair<const char *, uint64_t> k_units[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60000}, {"min", 60000}, {"h", 3600000}};
  auto q = parse_quantity(s);
  if (q && q->unit.empty() && q->whole == 0 && q->fraction == 0 && !q->overflow)
    return std::chrono::milliseconds(0);
  for (auto &[name, factor] : k_units) {
    if (!q || q->unit != name) continue;
    if (auto v = scale(*q, factor, k_max_duration_ms))
      return std::chrono::milliseconds(static_cast<long long>(*v));
    return std::unexpected(error("duration '" + s + "' is too long (at most 576h, 24 days)"));
  }
  return std::unexpected(error("invalid duration '" + s + "' (use e.g. 500ms, 30s, 5m, 1h)"));
}

Result<double> Node::as_percent() const {
  TRY_ASSIGN(std::string s, as_string());
  if (s.empty() || s.back() != '%')
    return std::unexpected(error("expected a percentage like 20%, got '" + s + "'"));
  char *end = nullptr;
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
  for (const auto &item : items()) {
    TRY_ASSIGN(std::string s, item.as_string());
    out.push_back(std::move(s));
  }
  return out;
}

namespace {
util::Error unknown_key(const Node &key, const std::string &what,
                        const std::vector<std::string> &known) {
  std::string message = "unknown key '" + key.raw() + "' in " + what;
  if (auto guess = util::closest_match(key.raw(), known))
    message += " (did you mean '" + *guess + "'?)";
  return key.error(message);
}
} // namespace

Result<MapReader> MapReader::open(const Node &node, std::string what,
                                  std::vector<std::string> keys) {
  if (!node.is_map()) return std::unexpected(node.error("expected a mapping for " + what));
  MapReader reader;
  reader.m_node = node;
  reader.m_what = std::move(what);
  for (auto &[k, v] : node.entries()) { // document order: the first unknown key is the one shown
    std::string key = k.raw();
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      return std::unexpected(unknown_key(k, reader.m_what, keys));
    if (reader.m_entries.count(key)) return std::unexpected(k.error("duplicate key '" + key + "'"));
    reader.m_entries.emplace(key, std::pair{k, v});
  }
  return reader;
}

std::optional<Node> MapReader::take(const std::string &key) {
  m_taken.insert(key);
  auto it = m_entries.find(key);
  if (it == m_entries.end()) return std::nullopt;
  return it->second.second;
}

Result<Node> MapReader::require(const std::string &key) {
  auto n = take(key);
  if (!n) return std::unexpected(m_node.error("missing required key '" + key + "' in " + m_what));
  return *n;
}

Result<void> MapReader::finish() const {
  const Node *first_key = nullptr;
  for (auto &[key, kv] : m_entries) {
    if (m_taken.count(key)) continue;
    if (!first_key || kv.first.location().line < first_key->location().line ||
        (kv.first.location().line == first_key->location().line &&
         kv.first.location().column < first_key->location().column))
      first_key = &kv.first;
  }
  if (!first_key) return {};
  return std::unexpected(
      unknown_key(*first_key, m_what, std::vector<std::string>(m_taken.begin(), m_taken.end())));
}

} // namespace gate::config

// A YAML node that remembers where it came from, so every configuration error
// reads `pipeline.yml:LINE:COL: message`. yaml-cpp stays inside node.cpp.
#pragma once

#include "util/expected.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gate::config {

struct Location {
  std::string file;
  int line = 0;   // 1-based
  int column = 0; // 1-based
  std::string to_string() const;
};

// A configuration string whose ${VAR}s are expanded when the file is read,
// but whose unset variable is an error only where the value is used
// ("file:line:col: environment variable 'X' is not set"): commands that never
// use it (list, show, verify --quick) run without the variable. A value with
// a literal default or no variable behaves like any string.
class DeferredString {
public:
  DeferredString() = default;
  explicit DeferredString(std::string value) : m_text(std::move(value)) {}
  // A value whose variable is unset; `error` is what using it reports.
  static DeferredString unset(util::Error error) {
    DeferredString d;
    d.m_error = std::move(error);
    return d;
  }
  // The expanded text, or the config error of its unset variable.
  util::Result<std::string> value() const {
    if (m_error) return std::unexpected(*m_error);
    return m_text;
  }
  // True when the value is available (every variable set).
  bool known() const { return !m_error; }
  // The value if known, else "" (for checks that apply only to a known value).
  const std::string &value_or_empty() const { return m_text; }

private:
  std::string m_text;
  std::optional<util::Error> m_error;
};

class Node {
public:
  Node(); // a null node with no location
  ~Node();
  Node(const Node &);
  Node &operator=(const Node &);

  // Parses a YAML document. Syntax errors come back as config errors with the
  // file's line and column.
  static util::Result<Node> parse(const std::string &text, const std::string &file_name);
  static util::Result<Node> load_file(const std::filesystem::path &path);
  // A mapping or a sequence assembled from other nodes (an environment's
  // merged configuration): its children keep their own locations, and
  // `where` is the location its own errors name.
  static Node make_map(std::vector<std::pair<Node, Node>> entries, Location where);
  static Node make_sequence(std::vector<Node> items, Location where);

  const Location &location() const;
  bool is_null() const;
  bool is_map() const;
  bool is_sequence() const;
  bool is_scalar() const;

  // Map entries in document order, keys with their own locations.
  std::vector<std::pair<Node, Node>> entries() const;
  std::vector<Node> items() const;
  // The raw scalar text (no interpolation).
  std::string raw() const;

  // A config error at this node: "file:line:col: message".
  util::Error error(const std::string &message) const;

  // Typed values. Strings expand ${VAR} and ${VAR:-default} from the
  // environment; a missing variable is an error naming it.
  util::Result<std::string> as_string() const;
  // As as_string(), but an unset variable is kept as the value's error
  // (a malformed '${' or a non-scalar still fails here).
  util::Result<DeferredString> as_deferred_string() const;
  util::Result<bool> as_bool() const;
  util::Result<long long> as_int(long long min, long long max) const;
  // "512B", "1KiB", "10MiB", "2GiB", "1kB" (1000), or a plain byte count.
  util::Result<uint64_t> as_size() const;
  // "500ms", "30s", "5m", "1h"; a plain 0 means zero.
  util::Result<std::chrono::milliseconds> as_duration() const;
  // "20%" as 0.2.
  util::Result<double> as_percent() const;
  util::Result<double> as_number() const;
  // A scalar or a sequence of scalars.
  util::Result<std::vector<std::string>> as_string_list() const;

private:
  struct Impl;
  explicit Node(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> m_impl;
};

// Reads a YAML map strictly. open() is given every key the map may hold and
// reports the first other key (in document order, with a "did you mean")
// before any value is read, so a typo is named rather than the key it should
// have been. Each key is taken once; finish() reports a key that is allowed
// in general but was not taken in this variant ("database" on a disk check).
class MapReader {
public:
  // Fails unless `node` is a map of `keys` only; `what` names it in errors ("database 'app'").
  static util::Result<MapReader> open(const Node &node, std::string what,
                                      std::vector<std::string> keys);

  std::optional<Node> take(const std::string &key);
  util::Result<Node> require(const std::string &key);
  util::Result<void> finish() const;
  const Node &node() const { return m_node; }

private:
  Node m_node;
  std::string m_what;
  std::map<std::string, std::pair<Node, Node>> m_entries;
  std::set<std::string> m_taken;
};

// Expands ${VAR} / ${VAR:-default} in `text`; `$$` is a literal '$'.
// Returns the name of the first unset variable as the error message.
util::Result<std::string> interpolate_env(const std::string &text);

} // namespace gate::config

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

class Node {
public:
  Node(); // a null node with no location
  ~Node();
  Node(const Node&);
  Node& operator=(const Node&);

  // Parses a YAML document. Syntax errors come back as config errors with the
  // file's line and column.
  static util::Result<Node> parse(const std::string& text, const std::string& file_name);
  static util::Result<Node> load_file(const std::filesystem::path& path);

  const Location& location() const;
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
  util::Error error(const std::string& message) const;

  // Typed values. Strings expand ${VAR} and ${VAR:-default} from the
  // environment; a missing variable is an error naming it.
  util::Result<std::string> as_string() const;
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

// Reads a YAML map strictly: each known key is taken once; finish() reports
// the first key nobody took, with a "did you mean" from the taken ones.
class MapReader {
public:
  // Fails unless `node` is a map; `what` names it in errors ("database 'app'").
  static util::Result<MapReader> open(const Node& node, std::string what);

  std::optional<Node> take(const std::string& key);
  util::Result<Node> require(const std::string& key);
  // Lists the key as known without reading it (for keys handled elsewhere).
  void allow(const std::string& key) { m_known.insert(key); }
  util::Result<void> finish() const;
  const Node& node() const { return m_node; }

private:
  Node m_node;
  std::string m_what;
  std::map<std::string, std::pair<Node, Node>> m_entries;
  std::set<std::string> m_known;
};

// Expands ${VAR} / ${VAR:-default} in `text`; `$$` is a literal '$'.
// Returns the name of the first unset variable as the error message.
util::Result<std::string> interpolate_env(const std::string& text);

} // namespace gate::config

// `environments:` in pipeline.yml: one file, several environments (seed 003).
// The chosen environment's overrides are merged into the document before it
// is read, at the YAML-node level, so every value keeps the file:line:col it
// was written at and an error points at the override or the base, whichever
// held the wrong value. Also the {project} and {environment} placeholders of
// backup_root, record and metrics_file.
#pragma once

#include "config/node.hpp"
#include "util/expected.hpp"

#include <optional>
#include <string>

namespace gate::config {

// The environment asked for: `flag` (--env NAME) when given, else $GATE_ENV,
// else none. `source` says which, for messages ("--env", "GATE_ENV").
struct EnvironmentRequest {
  std::string name;
  std::string source;
};
std::optional<EnvironmentRequest> requested_environment(const std::string &flag);

// The document to read: the chosen environment merged in, `environments`
// removed, and targets (databases, volumes, stages) whose `enabled` is false
// taken out.
struct EnvironmentView {
  Node root;
  std::string environment; // the chosen name; "" when the file defines no environments
};

// Merge rules: mappings merge key by key (deeply); databases, volumes and
// stages merge by `name` (an override must name an entry of the base); any
// other value, lists included, is replaced. Fails with a usage error (exit 2)
// listing the environments when they are defined and none or an unknown one
// is chosen, or when one is chosen for a file without environments whose
// `environment` differs; with a config error at the offending node for a
// malformed block, an override of a target that does not exist, an override
// of version/environment, or two environments sharing a backup_root or record.
util::Result<EnvironmentView> apply_environment(const Node &root,
                                                const std::optional<EnvironmentRequest> &chosen);

// Replaces {project} and {environment} in `text` (the value of `node`, a
// path); `{{` and `}}` are literal braces. A misspelled placeholder, or one
// whose value is empty or not a single path component, is a config error at
// `node`.
util::Result<std::string> expand_placeholders(const Node &node, const std::string &text,
                                              const std::string &project,
                                              const std::string &environment);

} // namespace gate::config

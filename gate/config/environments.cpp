#include "config/environments.hpp"

#include "util/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <set>
#include <vector>

namespace gate::config {

using util::ErrorKind;
using util::Result;

namespace {

// The top-level lists whose entries have names and merge by them.
const std::vector<std::pair<std::string, std::string>> k_named_lists = {
    {"databases", "database"}, {"volumes", "volume"}, {"stages", "stage"}};

std::optional<std::pair<Node, Node>> find_entry(const Node &map, const std::string &key) {
  for (auto &entry : map.entries())
    if (entry.first.raw() == key) return entry;
  return std::nullopt;
}

std::optional<Node> find_value(const Node &map, const std::string &key) {
  auto entry = find_entry(map, key);
  if (!entry) return std::nullopt;
  return entry->second;
}

Node without_key(const Node &map, const std::string &key) {
  std::vector<std::pair<Node, Node>> kept;
  for (auto &entry : map.entries())
    if (entry.first.raw() != key) kept.push_back(entry);
  return Node::make_map(std::move(kept), map.location());
}

const std::string *singular_of(const std::string &list) {
  for (auto &[plural, singular] : k_named_lists)
    if (plural == list) return &singular;
  return nullptr;
}

std::string joined(const std::vector<std::string> &names) {
  std::string out;
  for (const auto &n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Mappings merge key by key, the base's order first; anything else is replaced.
Node deep_merge(const Node &base, const Node &over) {
  if (!base.is_map() || !over.is_map()) return over;
  std::vector<std::pair<Node, Node>> merged;
  for (auto &[key, value] : base.entries()) {
    auto o = find_entry(over, key.raw());
    merged.emplace_back(o ? o->first : key, o ? deep_merge(value, o->second) : value);
  }
  for (auto &entry : over.entries())
    if (!find_entry(base, entry.first.raw())) merged.push_back(entry);
  return Node::make_map(std::move(merged), base.location());
}

std::optional<std::string> entry_name(const Node &item) {
  if (!item.is_map()) return std::nullopt;
  auto name = find_value(item, "name");
  if (!name || !name->is_scalar()) return std::nullopt;
  return name->raw();
}

// An override's entries, by name; each must name an entry of the base, so
// that a misspelled name is an error rather than a target nobody asked for.
Result<std::map<std::string, Node>> overrides_by_name(const Node &base, const Node &over,
                                                      const std::string &list,
                                                      const std::string &env) {
  const std::string &what = *singular_of(list);
  std::vector<std::string> base_names;
  for (const auto &item : base.items())
    if (auto n = entry_name(item)) base_names.push_back(*n);
  std::map<std::string, Node> by_name;
  for (const auto &item : over.items()) {
    auto name = entry_name(item);
    if (!name)
      return std::unexpected(item.error(fmt::format(
          "environment '{}': an entry of {} is a mapping naming the {} it changes ({{name: ..., "
          "...}})",
          env, list, what)));
    Node name_node = *find_value(item, "name");
    if (std::find(base_names.begin(), base_names.end(), *name) == base_names.end()) {
      std::string message =
          fmt::format("environment '{}': there is no {} '{}' to change", env, what, *name);
      if (auto guess = util::closest_match(*name, base_names))
        message += " (did you mean '" + *guess + "'?)";
      message += fmt::format("\nhint: to have a {} in some environments only, list it at the top "
                             "with enabled: false and set enabled: true in those environments",
                             what);
      return std::unexpected(name_node.error(message));
    }
    if (!by_name.emplace(*name, item).second)
      return std::unexpected(name_node.error(
          fmt::format("environment '{}': {} '{}' is changed twice", env, what, *name)));
  }
  return by_name;
}

Result<Node> merge_named_list(const Node &base, const Node &over, const std::string &list,
                              const std::string &env) {
  if (!base.is_sequence() || !over.is_sequence()) return over; // the parser names a non-list
  TRY_ASSIGN(auto by_name, overrides_by_name(base, over, list, env));
  std::vector<Node> merged;
  for (const auto &item : base.items()) {
    auto name = entry_name(item);
    auto it = name ? by_name.find(*name) : by_name.end();
    if (it == by_name.end()) {
      merged.push_back(item);
      continue;
    }
    merged.push_back(deep_merge(item, it->second));
    by_name.erase(it); // a duplicate name in the base is left for the parser to report
  }
  return Node::make_sequence(std::move(merged), over.location());
}

// The base with one environment's overrides merged in.
Result<Node> merge_environment(const Node &base, const Node &over, const std::string &env) {
  if (over.is_null()) return base;
  if (!over.is_map())
    return std::unexpected(over.error(
        fmt::format("environment '{}' must be a mapping of the keys it changes (or empty)", env)));
  std::vector<std::pair<Node, Node>> merged;
  for (auto &[key, value] : over.entries()) {
    std::string k = key.raw();
    if (k == "version" || k == "environment" || k == "environments")
      return std::unexpected(
          key.error(fmt::format("environment '{}': '{}' cannot be set per environment{}", env, k,
                                k == "environment" ? " (the environment's name is its key)" : "")));
  }
  for (auto &[key, value] : base.entries()) {
    auto o = find_entry(over, key.raw());
    if (!o) {
      merged.emplace_back(key, value);
      continue;
    }
    Node v = deep_merge(value, o->second);
    if (singular_of(key.raw())) TRY_ASSIGN(v, merge_named_list(value, o->second, key.raw(), env));
    merged.emplace_back(o->first, v);
  }
  for (auto &entry : over.entries())
    if (!find_entry(base, entry.first.raw())) merged.push_back(entry);
  return Node::make_map(std::move(merged), base.location());
}

// Takes out the databases, volumes and stages whose `enabled` is false and
// drops the key from the others: the parser never sees it.
Result<Node> drop_disabled(const Node &root) {
  std::vector<std::pair<Node, Node>> entries;
  for (auto [key, value] : root.entries()) {
    if (singular_of(key.raw()) && value.is_sequence()) {
      std::vector<Node> kept;
      for (const auto &item : value.items()) {
        auto enabled = item.is_map() ? find_value(item, "enabled") : std::nullopt;
        if (!enabled) {
          kept.push_back(item);
          continue;
        }
        TRY_ASSIGN(bool on, enabled->as_bool());
        if (on) kept.push_back(without_key(item, "enabled"));
      }
      value = Node::make_sequence(std::move(kept), value.location());
    }
    entries.emplace_back(key, value);
  }
  return Node::make_map(std::move(entries), root.location());
}

Result<void> check_environment_name(const Node &key) {
  std::string name = key.raw();
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' && name[0] != '-';
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    return std::unexpected(key.error("invalid environment name '" + name +
                                     "': use letters, digits, '_', '-', '.' (it can become a "
                                     "directory name through {environment})"));
  return {};
}

// Every environment merged (so that a broken override is reported whichever
// environment is chosen), in the order written.
Result<std::vector<std::pair<std::string, Node>>> merge_all(const Node &base, const Node &key,
                                                            const Node &block) {
  if (!block.is_map() || block.entries().empty())
    return std::unexpected(
        (block.is_map() ? key : block)
            .error("environments must be a mapping from each environment's name to what it "
                   "changes, e.g. environments: {staging: {}, production: {...}}"));
  std::vector<std::pair<std::string, Node>> out;
  for (auto &[name, over] : block.entries()) {
    TRY(check_environment_name(name));
    for (auto &[seen, node] : out)
      if (seen == name.raw())
        return std::unexpected(name.error("environment '" + seen + "' is defined twice"));
    TRY_ASSIGN(Node merged, merge_environment(base, over, name.raw()));
    out.emplace_back(name.raw(), merged);
  }
  return out;
}

// Two environments writing to one backup_root or record would mix their sets,
// and a rollback in one could restore the other's data.
Result<void> check_separate_paths(const Node &envs_key,
                                  const std::vector<std::pair<std::string, Node>> &merged) {
  for (const char *key : {"backup_root", "record"}) {
    std::map<std::string, std::string> owner; // resolved text -> environment
    for (auto &[env, root] : merged) {
      auto value = find_value(root, key);
      std::string text = value && value->is_scalar() ? value->raw() : "";
      std::string resolved = text;
      for (size_t p; (p = resolved.find("{environment}")) != std::string::npos;)
        resolved.replace(p, 13, env);
      auto [it, fresh] = owner.emplace(resolved, env);
      if (fresh) continue;
      const Node &where = value ? *value : envs_key;
      std::string what =
          text.empty() ? fmt::format("the default {}", key) : fmt::format("{} '{}'", key, text);
      return std::unexpected(where.error(fmt::format(
          "environments '{}' and '{}' share {}: their sets and records would mix\nhint: put "
          "{{environment}} in it (e.g. {}: {}) or set one per environment",
          it->second, env, what, key,
          std::string(key) == "record" ? ".last-deployment-backup-{environment}"
                                       : "/opt/backups/{project}/{environment}")));
    }
  }
  return {};
}

// A file without environments: an environment asked for must be its own.
Result<void> check_plain_choice(const Node &root, const std::optional<EnvironmentRequest> &chosen) {
  if (!chosen) return {};
  auto own = find_value(root, "environment");
  auto own_name = own ? own->as_string() : Result<std::string>(std::string());
  if (own_name && *own_name == chosen->name) return {};
  return util::fail(
      ErrorKind::usage,
      fmt::format("{}: {} asks for environment '{}', but this pipeline defines no "
                  "'environments:'{}\nhint: drop --env / unset GATE_ENV, or add an environments: "
                  "block",
                  root.location().file, chosen->source, chosen->name,
                  own_name && !own_name->empty() ? " (its environment is '" + *own_name + "')"
                                                 : std::string()));
}

Result<std::string> choose(const Node &envs_key, const std::vector<std::string> &names,
                           const std::optional<EnvironmentRequest> &chosen) {
  if (!chosen)
    return util::fail(ErrorKind::usage,
                      fmt::format("{}: this pipeline defines the environments {}: choose one with "
                                  "--env NAME or GATE_ENV=NAME",
                                  envs_key.location().to_string(), joined(names)));
  if (std::find(names.begin(), names.end(), chosen->name) != names.end()) return chosen->name;
  std::string message = fmt::format("{}: unknown environment '{}' (from {})",
                                    envs_key.location().to_string(), chosen->name, chosen->source);
  auto guess = util::closest_match(chosen->name, names);
  for (const auto &n : names) // "prod" for "production" is no typo but a short form
    if (!guess && n.starts_with(chosen->name)) guess = n;
  if (guess) message += "; did you mean '" + *guess + "'?";
  return util::fail(ErrorKind::usage, message + "\nthe environments are: " + joined(names));
}

} // namespace

std::optional<EnvironmentRequest> requested_environment(const std::string &flag) {
  if (!flag.empty()) return EnvironmentRequest{flag, "--env"};
  const char *from_env = std::getenv("GATE_ENV");
  if (from_env && *from_env) return EnvironmentRequest{from_env, "GATE_ENV"};
  return std::nullopt;
}

Result<EnvironmentView> apply_environment(const Node &root,
                                          const std::optional<EnvironmentRequest> &chosen) {
  if (!root.is_map()) return EnvironmentView{root, ""}; // the parser says what is wrong
  auto envs = find_entry(root, "environments");
  if (!envs) {
    TRY(check_plain_choice(root, chosen));
    TRY_ASSIGN(Node plain, drop_disabled(root));
    return EnvironmentView{plain, ""};
  }
  if (auto own = find_entry(root, "environment"))
    return std::unexpected(own->first.error(
        "'environment' and 'environments' do not go together: the environment is the one "
        "chosen with --env NAME or GATE_ENV"));
  Node base = without_key(root, "environments");
  TRY_ASSIGN(auto merged, merge_all(base, envs->first, envs->second));
  TRY(check_separate_paths(envs->first, merged));
  std::vector<std::string> names;
  for (auto &entry : merged)
    names.push_back(entry.first);
  TRY_ASSIGN(std::string name, choose(envs->first, names, chosen));
  for (auto &[env, node] : merged)
    if (env == name) {
      TRY_ASSIGN(Node view, drop_disabled(node));
      return EnvironmentView{view, name};
    }
  return util::fail("environment '" + name + "' vanished"); // unreachable: choose() checked it
}

namespace {
Result<std::string> placeholder_value(const Node &node, const std::string &name,
                                      const std::string &project, const std::string &environment) {
  static const std::vector<std::string> k_names = {"project", "environment"};
  if (name != "project" && name != "environment") {
    std::string message = "unknown placeholder '{" + name + "}'";
    if (auto guess = util::closest_match(name, k_names))
      message += " (did you mean '{" + *guess + "}'?)";
    return std::unexpected(
        node.error(message + "; gate fills in {project} and {environment} (write {{ for '{')"));
  }
  const std::string &value = name == "project" ? project : environment;
  if (value.empty())
    return std::unexpected(node.error(
        name == "project" ? "this path uses {project}, but 'project' is not set"
                          : "this path uses {environment}, but no environment is set (define "
                            "'environments:' and choose one, or set 'environment:')"));
  if (value == "." || value == ".." || value.find('/') != std::string::npos)
    return std::unexpected(
        node.error("{" + name + "} is '" + value + "', which is not a single directory name"));
  return value;
}
} // namespace

Result<std::string> expand_placeholders(const Node &node, const std::string &text,
                                        const std::string &project,
                                        const std::string &environment) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    bool doubled = i + 1 < text.size() && text[i + 1] == text[i];
    if ((text[i] == '{' || text[i] == '}') && doubled) {
      out.push_back(text[i++]);
      continue;
    }
    if (text[i] != '{') {
      out.push_back(text[i]);
      continue;
    }
    size_t close = text.find('}', i + 1);
    if (close == std::string::npos)
      return std::unexpected(node.error("unterminated '{' in this path (write {{ for '{')"));
    TRY_ASSIGN(std::string value,
               placeholder_value(node, text.substr(i + 1, close - i - 1), project, environment));
    out += value;
    i = close;
  }
  return out;
}

} // namespace gate::config

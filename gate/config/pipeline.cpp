#include "config/pipeline.hpp"

#include "util/fs.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace gate::config {

using util::Result;

const char *to_string(Compression c) {
  switch (c) {
  case Compression::zstd:
    return "zstd";
  case Compression::gzip:
    return "gzip";
  case Compression::none:
    return "none";
  }
  return "zstd";
}

const char *to_string(DumpFormat f) {
  switch (f) {
  case DumpFormat::custom:
    return "custom";
  case DumpFormat::sql:
    return "sql";
  case DumpFormat::directory:
    return "directory";
  case DumpFormat::csv:
    return "csv";
  }
  return "custom";
}

const DatabaseTarget *PipelineConfig::find_database(const std::string &name) const {
  for (const auto &d : databases)
    if (d.name == name) return &d;
  return nullptr;
}

const RemoteConfig *PipelineConfig::find_remote(const std::string &name) const {
  for (const auto &r : remotes)
    if (r.name == name) return &r;
  return nullptr;
}

const VolumeTarget *PipelineConfig::find_volume(const std::string &name) const {
  for (const auto &v : volumes)
    if (v.name == name) return &v;
  return nullptr;
}

std::vector<std::string> PipelineConfig::target_names() const {
  std::vector<std::string> out;
  for (const auto &d : databases)
    out.push_back(d.name);
  for (const auto &v : volumes)
    out.push_back(v.name);
  return out;
}

namespace {

// Picks one of `choices` for a scalar, with a "did you mean" on a typo.
template <typename E>
Result<E> parse_choice(const Node &node, const std::vector<std::pair<std::string, E>> &choices,
                       const std::string &what) {
  TRY_ASSIGN(std::string s, node.as_string());
  std::vector<std::string> names;
  for (auto &[name, value] : choices) {
    if (s == name) return value;
    names.push_back(name);
  }
  std::string message = "invalid " + what + " '" + s + "' (expected ";
  for (size_t i = 0; i < names.size(); ++i)
    message += (i ? ", " : "") + names[i];
  message += ")";
  if (auto guess = util::closest_match(s, names)) message += "; did you mean '" + *guess + "'?";
  return std::unexpected(node.error(message));
}

Result<std::string> parse_target_name(const Node &node) {
  TRY_ASSIGN(std::string name, node.as_string());
  bool ok = !name.empty() && name.size() <= 64 && name != "all" && name[0] != '.' && name[0] != '-';
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    return std::unexpected(
        node.error("invalid name '" + name +
                   "': use letters, digits, '_', '-', '.' (it becomes a file name); "
                   "'all' is reserved"));
  return name;
}

const std::vector<std::pair<std::string, Compression>> k_compressions = {
    {"zstd", Compression::zstd}, {"gzip", Compression::gzip}, {"none", Compression::none}};

Result<VolumeTarget> parse_volume(const Node &node, const std::filesystem::path &base) {
  TRY_ASSIGN(auto map,
             MapReader::open(node, "a volume",
                             {"name", "path", "volume", "compression", "level", "exclude",
                              "min_size", "allow_empty", "stop_containers", "stop_timeout",
                              "container_configs", "standby", "rto_budget"}));
  VolumeTarget v;
  v.where = node.location();
  TRY_ASSIGN(auto name_node, map.require("name"));
  TRY_ASSIGN(v.name, parse_target_name(name_node));
  auto path = map.take("path");
  auto volume = map.take("volume");
  if (path && volume)
    return std::unexpected(
        volume->error("volume '" + v.name + "' has both 'path' and 'volume'; give one"));
  if (!path && !volume)
    return std::unexpected(node.error("volume '" + v.name +
                                      "' needs 'path' (a directory) or 'volume' (a named volume)"));
  if (path) {
    TRY_ASSIGN(std::string p, path->as_string());
    if (p.empty()) return std::unexpected(path->error("empty path"));
    v.path = util::resolve_against(base, p);
  }
  if (volume) TRY_ASSIGN(v.volume, volume->as_string());
  if (auto n = map.take("compression"))
    TRY_ASSIGN(v.compression, parse_choice(*n, k_compressions, "compression"));
  if (auto n = map.take("level")) {
    TRY_ASSIGN(v.level, n->as_int(1, 19));
    if (v.compression == Compression::gzip && v.level > 9)
      return std::unexpected(n->error("gzip levels go from 1 to 9"));
  }
  if (auto n = map.take("exclude")) TRY_ASSIGN(v.exclude, n->as_string_list());
  if (auto n = map.take("min_size")) TRY_ASSIGN(v.min_size, n->as_size());
  if (auto n = map.take("allow_empty")) TRY_ASSIGN(v.allow_empty, n->as_bool());
  if (auto n = map.take("stop_containers")) {
    std::string s = n->raw();
    if (s == "pause") {
      v.quiesce = Quiesce::pause;
    } else {
      TRY_ASSIGN(bool stop, n->as_bool());
      v.quiesce = stop ? Quiesce::stop : Quiesce::none;
    }
  }
  if (auto n = map.take("stop_timeout")) TRY_ASSIGN(v.stop_timeout, n->as_duration());
  if (auto n = map.take("container_configs")) TRY_ASSIGN(v.container_configs, n->as_bool());
  if (auto n = map.take("standby")) TRY_ASSIGN(v.standby, n->as_bool());
  if (auto n = map.take("rto_budget")) TRY_ASSIGN(v.rto_budget, n->as_duration());
  if (!v.path.empty() && (v.quiesce != Quiesce::none || v.container_configs))
    return std::unexpected(node.error(
        "volume '" + v.name + "': stop_containers and container_configs need a named 'volume'"));
  TRY(map.finish());
  return v;
}

Result<DatabaseTarget> parse_database(const Node &node) {
  TRY_ASSIGN(auto map,
             MapReader::open(node, "a database",
                             {"name", "url", "formats", "globals", "schema_only", "tables",
                              "exclude_tables", "min_size", "jobs", "max_shrink", "verify_url",
                              "mode", "compression", "connect_timeout", "standby", "rto_budget"}));
  DatabaseTarget d;
  d.where = node.location();
  TRY_ASSIGN(auto name_node, map.require("name"));
  TRY_ASSIGN(d.name, parse_target_name(name_node));
  TRY_ASSIGN(auto url_node, map.require("url"));
  TRY_ASSIGN(d.url, url_node.as_deferred_string());
  if (d.url.known() && d.url.value_or_empty().empty())
    return std::unexpected(url_node.error("database '" + d.name + "': empty url"));
  util::register_url_secrets(d.url.value_or_empty());
  if (auto n = map.take("formats")) {
    d.formats.clear();
    static const std::vector<std::pair<std::string, DumpFormat>> k_formats = {
        {"custom", DumpFormat::custom},
        {"sql", DumpFormat::sql},
        {"directory", DumpFormat::directory},
        {"csv", DumpFormat::csv}};
    std::vector<Node> items = n->is_sequence() ? n->items() : std::vector<Node>{*n};
    for (const auto &item : items) {
      TRY_ASSIGN(DumpFormat f, parse_choice(item, k_formats, "format"));
      if (std::find(d.formats.begin(), d.formats.end(), f) != d.formats.end())
        return std::unexpected(
            item.error("format '" + std::string(to_string(f)) + "' listed twice"));
      d.formats.push_back(f);
    }
    if (d.formats.empty())
      return std::unexpected(n->error("database '" + d.name + "': formats is empty"));
  }
  if (auto n = map.take("globals")) TRY_ASSIGN(d.globals, n->as_bool());
  if (auto n = map.take("schema_only")) TRY_ASSIGN(d.schema_only, n->as_bool());
  if (auto n = map.take("tables")) TRY_ASSIGN(d.tables, n->as_string_list());
  if (auto n = map.take("exclude_tables")) TRY_ASSIGN(d.exclude_tables, n->as_string_list());
  if (auto n = map.take("min_size")) TRY_ASSIGN(d.min_size, n->as_size());
  if (auto n = map.take("jobs")) TRY_ASSIGN(d.jobs, n->as_int(1, 64));
  if (auto n = map.take("max_shrink")) TRY_ASSIGN(d.max_shrink, n->as_percent());
  if (auto n = map.take("verify_url")) {
    TRY_ASSIGN(d.verify_url, n->as_deferred_string());
    util::register_url_secrets(d.verify_url.value_or_empty());
  }
  if (auto n = map.take("mode")) {
    static const std::vector<std::pair<std::string, RestoreMode>> k_modes = {
        {"clean", RestoreMode::clean}, {"recreate", RestoreMode::recreate}};
    TRY_ASSIGN(d.mode, parse_choice(*n, k_modes, "restore mode"));
  }
  if (auto n = map.take("compression"))
    TRY_ASSIGN(d.compression, parse_choice(*n, k_compressions, "compression"));
  if (auto n = map.take("connect_timeout")) TRY_ASSIGN(d.connect_timeout, n->as_duration());
  if (auto n = map.take("standby")) TRY_ASSIGN(d.standby, n->as_bool());
  if (auto n = map.take("rto_budget")) TRY_ASSIGN(d.rto_budget, n->as_duration());
  TRY(map.finish());
  return d;
}

// Header values must stay on one line: a CR or LF would inject headers.
Result<std::string> header_value(const Node &n) {
  TRY_ASSIGN(std::string v, n.as_string());
  if (v.find_first_of("\r\n") != std::string::npos)
    return std::unexpected(n.error("a line break is not allowed here"));
  if (v.empty()) return std::unexpected(n.error("empty value"));
  return v;
}

Result<EmailConfig> parse_email(const Node &node, const std::filesystem::path &base) {
  TRY_ASSIGN(auto map, MapReader::open(node, "an email alert", {"to", "from", "sendmail"}));
  EmailConfig e;
  TRY_ASSIGN(auto to, map.require("to"));
  std::vector<Node> items = to.is_sequence() ? to.items() : std::vector<Node>{to};
  for (const auto &item : items) {
    TRY_ASSIGN(std::string address, header_value(item));
    if (address.find('@') == std::string::npos)
      return std::unexpected(item.error("'" + address + "' is not an email address"));
    e.to.push_back(address);
  }
  if (e.to.empty())
    return std::unexpected(to.error("an email alert needs at least one address in 'to'"));
  if (auto n = map.take("from")) TRY_ASSIGN(e.from, header_value(*n));
  if (auto n = map.take("sendmail")) {
    TRY_ASSIGN(std::string path, n->as_string());
    e.sendmail = util::resolve_against(base, path).string();
  }
  TRY(map.finish());
  return e;
}

// A webhook URL is a secret in whole and in parts: Slack- and Discord-style
// URLs carry their token in the path.
void register_webhook_secrets(const std::string &url, bool known) {
  util::register_url_secrets(url);
  util::register_secret(url);
  if (size_t path = url.find('/', url.find("://") + 3); known && path != std::string::npos)
    util::register_secret(url.substr(path));
}

// Where an alert goes: exactly one of 'webhook', 'command' and 'email'.
Result<void> parse_alert_destination(MapReader &map, const Node &node,
                                     const std::filesystem::path &base, AlertConfig &a) {
  auto webhook = map.take("webhook");
  auto command = map.take("command");
  auto email = map.take("email");
  if (int(bool(webhook)) + int(bool(command)) + int(bool(email)) > 1)
    return std::unexpected(
        node.error("an alert has more than one of 'webhook', 'command' and 'email'; give one"));
  if (!webhook && !command && !email)
    return std::unexpected(
        node.error("an alert needs 'webhook' (a URL), 'command' (argv) or 'email'"));
  if (email) {
    TRY_ASSIGN(a.email, parse_email(*email, base));
    a.command = {a.email->sendmail, "-t", "-oi"};
  }
  if (webhook) {
    TRY_ASSIGN(a.webhook, webhook->as_deferred_string());
    std::string url = a.webhook.value_or_empty();
    if (a.webhook.known() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      return std::unexpected(webhook->error("webhook must be an http:// or https:// URL"));
    register_webhook_secrets(url, a.webhook.known());
  }
  if (command) {
    TRY_ASSIGN(a.command, command->as_string_list());
    if (a.command.empty() || a.command[0].empty())
      return std::unexpected(command->error("empty command"));
  }
  return {};
}

Result<std::vector<AlertEvent>> parse_alert_events(const Node &n) {
  static const std::vector<std::pair<std::string, AlertEvent>> k_events = {
      {"failure", AlertEvent::failure},
      {"success", AlertEvent::success},
      {"rollback", AlertEvent::rollback}};
  std::vector<AlertEvent> events;
  std::vector<Node> items = n.is_sequence() ? n.items() : std::vector<Node>{n};
  for (const auto &item : items) {
    TRY_ASSIGN(AlertEvent e, parse_choice(item, k_events, "alert event"));
    events.push_back(e);
  }
  return events;
}

Result<AlertConfig> parse_alert(const Node &node, const std::filesystem::path &base) {
  TRY_ASSIGN(auto map, MapReader::open(node, "an alert",
                                       {"webhook", "command", "email", "format", "on", "secret",
                                        "ca_file", "timeout", "retries"}));
  AlertConfig a;
  a.where = node.location();
  TRY(parse_alert_destination(map, node, base, a));
  if (auto n = map.take("format")) {
    static const std::vector<std::pair<std::string, AlertFormat>> k_formats = {
        {"json", AlertFormat::json}, {"slack", AlertFormat::slack}};
    TRY_ASSIGN(a.format, parse_choice(*n, k_formats, "alert format"));
  }
  if (auto n = map.take("on")) TRY_ASSIGN(a.on, parse_alert_events(*n));
  if (auto n = map.take("secret")) {
    TRY_ASSIGN(a.secret, n->as_deferred_string());
    util::register_secret(a.secret.value_or_empty());
  }
  if (auto n = map.take("ca_file")) {
    TRY_ASSIGN(std::string ca, n->as_string());
    a.ca_file = util::resolve_against(base, ca).string();
  }
  if (auto n = map.take("timeout")) TRY_ASSIGN(a.timeout, n->as_duration());
  if (auto n = map.take("retries")) TRY_ASSIGN(a.retries, n->as_int(0, 10));
  TRY(map.finish());
  return a;
}

Result<HealthcheckConfig> parse_healthcheck(const Node &node) {
  TRY_ASSIGN(auto map,
             MapReader::open(node, "a health check", {"url", "format", "timeout", "retries"}));
  HealthcheckConfig h;
  h.where = node.location();
  TRY_ASSIGN(auto url, map.require("url"));
  TRY_ASSIGN(h.url, url.as_string());
  if (h.url.rfind("http://", 0) != 0 && h.url.rfind("https://", 0) != 0)
    return std::unexpected(url.error("a health check url must be an http:// or https:// URL"));
  util::register_url_secrets(h.url);
  util::register_secret(h.url); // the ping UUID or push token is in the path
  if (size_t path = h.url.find('/', h.url.find("://") + 3); path != std::string::npos)
    util::register_secret(h.url.substr(path));
  if (auto n = map.take("format")) {
    static const std::vector<std::pair<std::string, PingFormat>> k_formats = {
        {"healthchecks", PingFormat::healthchecks}, {"uptime-kuma", PingFormat::uptime_kuma}};
    TRY_ASSIGN(h.format, parse_choice(*n, k_formats, "health check format"));
  }
  if (auto n = map.take("timeout")) TRY_ASSIGN(h.timeout, n->as_duration());
  if (auto n = map.take("retries")) TRY_ASSIGN(h.retries, n->as_int(0, 10));
  TRY(map.finish());
  return h;
}

Result<StageConfig> parse_stage(const Node &node) {
  TRY_ASSIGN(auto map, MapReader::open(node, "a stage", {"name", "parallel", "steps"}));
  StageConfig s;
  s.where = node.location();
  TRY_ASSIGN(auto name_node, map.require("name"));
  TRY_ASSIGN(s.name, name_node.as_string());
  if (s.name.empty()) return std::unexpected(name_node.error("empty stage name"));
  if (auto n = map.take("parallel")) TRY_ASSIGN(s.parallel, n->as_bool());
  TRY_ASSIGN(auto steps, map.require("steps"));
  if (!steps.is_sequence() || steps.items().empty())
    return std::unexpected(steps.error("stage '" + s.name + "': steps must be a non-empty list"));
  for (const auto &step : steps.items()) {
    if (!step.is_map())
      return std::unexpected(step.error("a step is a mapping such as {backup: app}"));
    s.steps.push_back(StepSpec{step});
  }
  TRY(map.finish());
  return s;
}

// The file format's version: this gate reads version 1 only.
Result<void> parse_version(MapReader &map) {
  TRY_ASSIGN(auto version, map.require("version"));
  TRY_ASSIGN(long long v, version.as_int(1, 1000));
  if (v != 1)
    return std::unexpected(
        version.error("unsupported version " + std::to_string(v) + " (this gate reads version 1)"));
  return {};
}

// The top-level settings: names, paths (relative to the file's directory),
// limits and retention.
Result<void> parse_settings(MapReader &map, PipelineConfig &c, const std::string &chosen_env) {
  if (auto n = map.take("project")) TRY_ASSIGN(c.project, n->as_string());
  if (auto n = map.take("environment")) TRY_ASSIGN(c.environment, n->as_string());
  if (!chosen_env.empty()) c.environment = chosen_env;
  if (auto n = map.take("backup_root")) {
    TRY_ASSIGN(std::string p, n->as_string());
    if (p.empty()) return std::unexpected(n->error("empty backup_root"));
    TRY_ASSIGN(p, expand_placeholders(*n, p, c.project, c.environment));
    c.backup_root = util::resolve_against(c.base_dir, p);
  }
  if (auto n = map.take("record")) {
    TRY_ASSIGN(std::string p, n->as_string());
    if (p.empty()) return std::unexpected(n->error("empty record path"));
    TRY_ASSIGN(p, expand_placeholders(*n, p, c.project, c.environment));
    c.record = util::resolve_against(c.base_dir, p);
  }
  if (auto n = map.take("git_dir")) {
    TRY_ASSIGN(std::string p, n->as_string());
    c.git_dir = util::resolve_against(c.base_dir, p);
  }
  if (auto n = map.take("lock_wait")) TRY_ASSIGN(c.lock_wait, n->as_duration());
  if (auto n = map.take("rto_budget")) TRY_ASSIGN(c.rto_budget, n->as_duration());
  if (auto n = map.take("keep_replaced")) TRY_ASSIGN(c.keep_replaced, n->as_int(0, 1000));
  if (auto n = map.take("min_free")) TRY_ASSIGN(c.min_free, n->as_size());
  if (auto n = map.take("space_factor")) {
    TRY_ASSIGN(c.space_factor, n->as_number());
    if (c.space_factor < 0 || c.space_factor > 1e6)
      return std::unexpected(n->error("space_factor must be between 0 and 1000000"));
  }
  if (auto n = map.take("pg_bindir")) {
    TRY_ASSIGN(std::string p, n->as_string());
    c.pg_bindir = util::resolve_against(c.base_dir, p).string();
  }
  if (auto n = map.take("socket")) TRY_ASSIGN(c.engine_socket, n->as_string());
  if (auto n = map.take("metrics_file")) {
    TRY_ASSIGN(std::string p, n->as_string());
    TRY_ASSIGN(p, expand_placeholders(*n, p, c.project, c.environment));
    c.metrics_file = util::resolve_against(c.base_dir, p);
  }
  if (auto n = map.take("retention")) TRY_ASSIGN(c.retention, parse_retention(*n));
  if (auto n = map.take("encryption")) TRY_ASSIGN(c.encryption, parse_encryption(*n, c.base_dir));
  return {};
}

// What is backed up: databases and volumes, one namespace of names.
Result<void> parse_targets(MapReader &map, PipelineConfig &c) {
  std::set<std::string> names;
  auto check_unique = [&](const std::string &name, const Location &where) -> Result<void> {
    if (!names.insert(name).second)
      return util::fail(util::ErrorKind::config,
                        where.to_string() + ": the name '" + name +
                            "' is used twice (databases and volumes share names)");
    return {};
  };
  if (auto n = map.take("databases")) {
    if (!n->is_sequence()) return std::unexpected(n->error("databases must be a list"));
    for (const auto &item : n->items()) {
      TRY_ASSIGN(auto d, parse_database(item));
      TRY(check_unique(d.name, d.where));
      c.databases.push_back(std::move(d));
    }
  }
  if (auto n = map.take("volumes")) {
    if (!n->is_sequence()) return std::unexpected(n->error("volumes must be a list"));
    for (const auto &item : n->items()) {
      TRY_ASSIGN(auto vol, parse_volume(item, c.base_dir));
      TRY(check_unique(vol.name, vol.where));
      c.volumes.push_back(std::move(vol));
    }
  }
  return {};
}

Result<void> parse_stages(MapReader &map, PipelineConfig &c) {
  if (auto n = map.take("stages")) {
    if (!n->is_sequence()) return std::unexpected(n->error("stages must be a list"));
    std::set<std::string> stage_names;
    for (const auto &item : n->items()) {
      TRY_ASSIGN(auto s, parse_stage(item));
      if (!stage_names.insert(s.name).second)
        return std::unexpected(item.error("stage name '" + s.name + "' is used twice"));
      c.stages.push_back(std::move(s));
    }
  }
  return {};
}

// Who hears about a run: alerts and health-check pings.
Result<void> parse_notifications(MapReader &map, PipelineConfig &c) {
  if (auto n = map.take("alerts")) {
    if (!n->is_sequence()) return std::unexpected(n->error("alerts must be a list"));
    for (const auto &item : n->items()) {
      TRY_ASSIGN(auto a, parse_alert(item, c.base_dir));
      c.alerts.push_back(std::move(a));
    }
  }
  if (auto n = map.take("healthchecks")) {
    if (!n->is_sequence()) return std::unexpected(n->error("healthchecks must be a list"));
    for (const auto &item : n->items()) {
      TRY_ASSIGN(auto h, parse_healthcheck(item));
      c.healthchecks.push_back(std::move(h));
    }
  }
  return {};
}

} // namespace

Result<PipelineConfig> parse_pipeline(const std::string &text,
                                      const std::filesystem::path &file_name,
                                      const std::optional<EnvironmentRequest> &environment) {
  TRY_ASSIGN(Node parsed, Node::parse(text, file_name.string()));
  if (parsed.is_null()) return std::unexpected(parsed.error("the pipeline file is empty"));
  TRY_ASSIGN(EnvironmentView view, apply_environment(parsed, environment));
  const Node &root = view.root;
  TRY_ASSIGN(auto map, MapReader::open(root, "the pipeline",
                                       {"version",    "project",      "environment", "backup_root",
                                        "record",     "git_dir",      "lock_wait",   "space_factor",
                                        "min_free",   "pg_bindir",    "socket",      "metrics_file",
                                        "retention",  "databases",    "volumes",     "stages",
                                        "alerts",     "healthchecks", "encryption",  "remotes",
                                        "rto_budget", "keep_replaced"}));
  PipelineConfig c;
  c.file = file_name;
  c.base_dir = std::filesystem::absolute(file_name).parent_path();
  c.backup_root = c.base_dir / "backups";
  c.record = c.base_dir / ".last-deployment-backup";
  c.git_dir = c.base_dir;

  TRY(parse_version(map));
  TRY(parse_settings(map, c, view.environment));
  TRY(parse_targets(map, c));
  TRY(parse_stages(map, c));
  TRY(parse_notifications(map, c));
  if (auto n = map.take("remotes")) TRY_ASSIGN(c.remotes, parse_remotes(*n, c.base_dir));
  TRY(map.finish());
  if (c.databases.empty() && c.volumes.empty())
    return std::unexpected(root.error("nothing to back up: add 'databases' or 'volumes'"));
  return c;
}

Result<PipelineConfig> load_pipeline(const std::filesystem::path &path,
                                     const std::optional<EnvironmentRequest> &environment) {
  auto text = util::read_file(path);
  if (!text)
    return util::fail(util::ErrorKind::config,
                      "unable to read configuration '" + path.string() + "': " +
                          text.error().message.substr(text.error().message.rfind(": ") + 2) +
                          "\nhint: pass --config FILE or run gate where pipeline.yml is");
  return parse_pipeline(*text, path, environment);
}

} // namespace gate::config

#include "config/remotes.hpp"

#include "util/fs.hpp"
#include "util/redact.hpp"
#include "util/s3_parts.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace gate::config {

using util::Result;

namespace {

const std::vector<std::string> k_keys = {"name",          "url",
                                         "endpoint",      "region",
                                         "url_style",     "part_size",
                                         "max_parts",     "required",
                                         "retention",     "storage_class",
                                         "ca_file",       "timeout",
                                         "access_key_id", "secret_access_key",
                                         "session_token"};

Result<std::string> parse_name(const Node &node) {
  TRY_ASSIGN(std::string name, node.as_string());
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' && name[0] != '-';
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    return std::unexpected(
        node.error("invalid remote name '" + name + "': use letters, digits, '_', '-', '.'"));
  return name;
}

bool bucket_char(unsigned char c) {
  return std::islower(c) || std::isdigit(c) || c == '.' || c == '-' || c == '_';
}

// s3://BUCKET[/PREFIX] into bucket and prefix (slashes trimmed at both ends).
Result<void> parse_url(const Node &node, RemoteConfig &r) {
  TRY_ASSIGN(r.url, node.as_string());
  const std::string scheme = "s3://";
  if (r.url.rfind(scheme, 0) != 0)
    return std::unexpected(node.error("remote '" + r.name + "': url must be s3://BUCKET/PREFIX"));
  std::string rest = r.url.substr(scheme.size());
  size_t slash = rest.find('/');
  r.bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/')
    prefix.pop_back();
  r.prefix = prefix;
  bool bucket_ok = r.bucket.size() >= 3 && r.bucket.size() <= 63 &&
                   std::all_of(r.bucket.begin(), r.bucket.end(), bucket_char);
  if (!bucket_ok)
    return std::unexpected(node.error("remote '" + r.name + "': invalid bucket name '" + r.bucket +
                                      "' (3-63 lowercase letters, digits, '.', '-')"));
  for (const std::string &segment : util::split(r.prefix, '/'))
    if (!r.prefix.empty() && (segment.empty() || segment == "." || segment == ".."))
      return std::unexpected(node.error("remote '" + r.name + "': the prefix '" + r.prefix +
                                        "' has an empty, '.' or '..' segment"));
  return {};
}

Result<std::string> parse_endpoint(const Node &node, const std::string &remote) {
  TRY_ASSIGN(std::string e, node.as_string());
  bool scheme = e.rfind("http://", 0) == 0 || e.rfind("https://", 0) == 0;
  std::string authority = scheme ? e.substr(e.find("://") + 3) : "";
  if (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (!scheme || authority.empty() || authority.find_first_of("/?#@ ") != std::string::npos)
    return std::unexpected(node.error("remote '" + remote + "': endpoint must be " +
                                      "http(s)://HOST[:PORT] (no path)"));
  return e;
}

Result<util::S3UrlStyle> parse_url_style(const Node &node) {
  static const std::vector<std::pair<std::string, util::S3UrlStyle>> k_styles = {
      {"auto", util::S3UrlStyle::automatic},
      {"path", util::S3UrlStyle::path},
      {"virtual", util::S3UrlStyle::virtual_hosted}};
  TRY_ASSIGN(std::string s, node.as_string());
  std::vector<std::string> names;
  for (const auto &[name, style] : k_styles) {
    if (s == name) return style;
    names.push_back(name);
  }
  std::string message = "invalid url_style '" + s + "' (expected auto, path, virtual)";
  if (auto guess = util::closest_match(s, names)) message += "; did you mean '" + *guess + "'?";
  return std::unexpected(node.error(message));
}

Result<uint64_t> parse_part_size(const Node &node) {
  TRY_ASSIGN(uint64_t size, node.as_size());
  if (size < util::k_s3_min_part_size || size > util::k_s3_max_part_size)
    return std::unexpected(node.error("part_size must be between 5MiB and 5GiB (S3's limits)"));
  return size;
}

Result<DeferredString> parse_secret(const Node &node, bool secret) {
  TRY_ASSIGN(DeferredString value, node.as_deferred_string());
  if (value.known() && value.value_or_empty().empty())
    return std::unexpected(node.error("empty value"));
  if (secret) util::register_secret(value.value_or_empty());
  return value;
}

std::string default_region(const util::EnvLookup &env) {
  for (const char *name : {"AWS_REGION", "AWS_DEFAULT_REGION"})
    if (auto v = env(name); v && !v->empty()) return *v;
  return "us-east-1";
}

} // namespace

namespace {

Result<void> parse_connection(MapReader &map, RemoteConfig &r,
                              const std::filesystem::path &base_dir) {
  if (auto n = map.take("endpoint")) TRY_ASSIGN(r.endpoint, parse_endpoint(*n, r.name));
  if (auto n = map.take("region")) {
    TRY_ASSIGN(r.region, n->as_string());
    if (r.region.empty()) return std::unexpected(n->error("empty region"));
  }
  if (auto n = map.take("url_style")) TRY_ASSIGN(r.url_style, parse_url_style(*n));
  if (auto n = map.take("ca_file")) {
    TRY_ASSIGN(std::string ca, n->as_string());
    if (ca.empty()) return std::unexpected(n->error("empty ca_file"));
    r.ca_file = util::resolve_against(base_dir, ca).string();
  }
  if (auto n = map.take("timeout")) {
    TRY_ASSIGN(r.timeout, n->as_duration());
    if (r.timeout.count() <= 0) return std::unexpected(n->error("timeout must be above 0"));
  }
  if (auto n = map.take("access_key_id")) TRY_ASSIGN(r.access_key_id, parse_secret(*n, false));
  if (auto n = map.take("secret_access_key"))
    TRY_ASSIGN(r.secret_access_key, parse_secret(*n, true));
  if (auto n = map.take("session_token")) TRY_ASSIGN(r.session_token, parse_secret(*n, true));
  if (bool(r.access_key_id) != bool(r.secret_access_key))
    return std::unexpected(map.node().error("remote '" + r.name +
                                            "': give access_key_id and secret_access_key "
                                            "together (or neither, for the AWS conventions)"));
  return {};
}

Result<RemoteConfig> parse_remote(const Node &node, const std::filesystem::path &base_dir,
                                  const util::EnvLookup &env) {
  TRY_ASSIGN(auto map, MapReader::open(node, "a remote", k_keys));
  RemoteConfig r;
  r.where = node.location();
  r.region = default_region(env);
  TRY_ASSIGN(auto name, map.require("name"));
  TRY_ASSIGN(r.name, parse_name(name));
  TRY_ASSIGN(auto url, map.require("url"));
  TRY(parse_url(url, r));
  TRY(parse_connection(map, r, base_dir));
  if (auto n = map.take("part_size")) TRY_ASSIGN(r.part_size, parse_part_size(*n));
  if (auto n = map.take("max_parts")) TRY_ASSIGN(r.max_parts, n->as_int(1, util::k_s3_max_parts));
  if (auto n = map.take("required")) TRY_ASSIGN(r.required, n->as_bool());
  if (auto n = map.take("retention")) TRY_ASSIGN(r.retention, parse_retention(*n));
  if (auto n = map.take("storage_class")) {
    TRY_ASSIGN(r.storage_class, n->as_string());
    if (r.storage_class.find_first_of("\r\n") != std::string::npos)
      return std::unexpected(n->error("a line break is not allowed here"));
  }
  TRY(map.finish());
  return r;
}

} // namespace

Result<std::vector<RemoteConfig>>
parse_remotes(const Node &node, const std::filesystem::path &base_dir, const util::EnvLookup &env) {
  if (!node.is_sequence())
    return std::unexpected(node.error("remotes must be a list (- name: offsite ...)"));
  std::vector<RemoteConfig> out;
  std::set<std::string> names;
  for (const auto &item : node.items()) {
    TRY_ASSIGN(auto r, parse_remote(item, base_dir, env));
    if (!names.insert(r.name).second)
      return std::unexpected(item.error("the remote name '" + r.name + "' is used twice"));
    out.push_back(std::move(r));
  }
  return out;
}

std::string remote_key(const RemoteConfig &remote, const std::string &relative) {
  return remote.prefix.empty() ? relative : remote.prefix + "/" + relative;
}

util::S3ClientOptions s3_client_options(const RemoteConfig &r) {
  util::S3ClientOptions o;
  o.remote = r.name;
  o.bucket = r.bucket;
  o.endpoint = r.endpoint;
  o.region = r.region;
  o.url_style = r.url_style;
  o.ca_file = r.ca_file;
  o.timeout = r.timeout;
  o.storage_class = r.storage_class;
  o.max_parts = r.max_parts;
  o.part_size = r.part_size;
  return o;
}

Result<util::S3Credentials> remote_credentials(const RemoteConfig &r, const util::EnvLookup &env) {
  util::ExplicitS3Keys keys;
  if (r.access_key_id) TRY_ASSIGN(keys.access_key_id, r.access_key_id->value());
  if (r.secret_access_key) TRY_ASSIGN(keys.secret_access_key, r.secret_access_key->value());
  if (r.session_token) TRY_ASSIGN(keys.session_token, r.session_token->value());
  return util::resolve_s3_credentials(r.name, keys, env);
}

} // namespace gate::config

#include "util/s3_credentials.hpp"

#include "util/fs.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

namespace gate::util {

namespace {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// The `key = value` lines of section `section` in an AWS INI file. nullopt
// when the section is absent; fails on a line that is neither a section, a
// comment nor a key = value (with file:line, never the line's text: it may
// hold a secret).
Result<std::optional<std::map<std::string, std::string>>>
read_ini_section(const std::string &text, const std::string &path, const std::string &section) {
  std::optional<std::map<std::string, std::string>> found;
  bool inside = false;
  int number = 0;
  for (const std::string &raw : split(text, '\n')) {
    ++number;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return fail(ErrorKind::config,
                    path + ":" + std::to_string(number) + ": malformed section header");
      inside = trim(line.substr(1, line.size() - 2)) == section;
      if (inside && !found) found.emplace();
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      // Nested values (s3 =\n  max_concurrent_requests = 10) are indented lines.
      if (raw[0] == ' ' || raw[0] == '\t') continue;
      return fail(ErrorKind::config,
                  path + ":" + std::to_string(number) + ": expected 'key = value'");
    }
    if (inside) (*found)[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return found;
}

std::string home_file(const EnvLookup &env, const char *variable, const char *default_name) {
  if (auto v = env(variable); v && !v->empty()) return *v;
  auto home = env("HOME");
  return (std::filesystem::path(home ? *home : "/") / ".aws" / default_name).string();
}

// Keys of `profile` in one file; `where` gets what was looked at and why it
// gave nothing.
Result<std::optional<S3Credentials>> keys_in_file(const std::string &path,
                                                  const std::string &section,
                                                  const std::string &label, std::string &where) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    where = label + " (no file)";
    return std::nullopt;
  }
  auto text = read_file(path);
  if (!text) return fail(ErrorKind::config, "unable to read " + path + ": " + text.error().message);
  TRY_ASSIGN(auto values, read_ini_section(*text, path, section));
  if (!values) {
    where = label + " (no section [" + section + "])";
    return std::nullopt;
  }
  auto get = [&](const char *key) {
    auto it = values->find(key);
    return it == values->end() ? std::string() : it->second;
  };
  S3Credentials c{get("aws_access_key_id"), get("aws_secret_access_key"), get("aws_session_token")};
  if (c.access_key_id.empty() && c.secret_access_key.empty()) {
    where = label + " (no aws_access_key_id in [" + section + "])";
    return std::nullopt;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return fail(ErrorKind::config, path + " [" + section +
                                       "]: aws_access_key_id and aws_secret_access_key "
                                       "must be given together");
  return c;
}

Result<std::optional<S3Credentials>> from_explicit(const std::string &remote,
                                                   const ExplicitS3Keys &k) {
  if (!k.access_key_id && !k.secret_access_key) return std::nullopt;
  if (!k.access_key_id || !k.secret_access_key || k.access_key_id->empty() ||
      k.secret_access_key->empty())
    return fail(ErrorKind::config, "remote '" + remote +
                                       "': access_key_id and secret_access_key must both be "
                                       "given (and not empty), or neither");
  return S3Credentials{*k.access_key_id, *k.secret_access_key, k.session_token.value_or("")};
}

Result<std::optional<S3Credentials>> from_environment(const EnvLookup &env) {
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  bool has_id = id && !id->empty(), has_secret = secret && !secret->empty();
  if (!has_id && !has_secret) return std::nullopt;
  if (!has_id || !has_secret)
    return fail(ErrorKind::config,
                std::string(has_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") +
                    " is set but " + (has_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                    " is not");
  auto token = env("AWS_SESSION_TOKEN");
  return S3Credentials{*id, *secret, token.value_or("")};
}

void register_secrets(const S3Credentials &c) {
  register_secret(c.secret_access_key);
  if (!c.session_token.empty()) register_secret(c.session_token);
}

} // namespace

EnvLookup process_environment() {
  return [](const std::string &name) -> std::optional<std::string> {
    const char *v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<S3Credentials> resolve_s3_credentials(const std::string &remote,
                                             const ExplicitS3Keys &explicit_keys,
                                             const EnvLookup &env) {
  std::optional<S3Credentials> found;
  TRY_ASSIGN(found, from_explicit(remote, explicit_keys));
  if (!found) TRY_ASSIGN(found, from_environment(env));
  std::vector<std::string> looked = {"access_key_id/secret_access_key in the remote (not set)",
                                     "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)"};
  auto profile_env = env("AWS_PROFILE");
  std::string profile = profile_env && !profile_env->empty() ? *profile_env : "default";
  if (!found) {
    std::string path = home_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    std::string where;
    TRY_ASSIGN(found, keys_in_file(path, profile, path + " [" + profile + "]", where));
    if (!found) looked.push_back(where);
  }
  if (!found) {
    std::string path = home_file(env, "AWS_CONFIG_FILE", "config");
    std::string section = profile == "default" ? profile : "profile " + profile;
    std::string where;
    TRY_ASSIGN(found, keys_in_file(path, section, path + " [" + section + "]", where));
    if (!found) looked.push_back(where);
  }
  if (!found)
    return fail("no credentials for remote '" + remote + "'; looked in: " + join(looked, ", ") +
                "\nhint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or "
                "access_key_id/secret_access_key: ${VAR} in the remote");
  register_secrets(*found);
  return *found;
}

} // namespace gate::util

#include "util/redact.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <vector>

namespace gate::util {

namespace {

std::mutex g_secrets_mutex;
std::vector<std::string> g_secrets;

bool is_secret_param(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  static const char *const k_markers[] = {"pass", "token", "secret",    "key",
                                          "sig",  "auth",  "credential"};
  return std::any_of(std::begin(k_markers), std::end(k_markers),
                     [&](const char *m) { return lower.find(m) != std::string::npos; });
}

// Masks secret values in a query string or a libpq keyword string.
std::string mask_params(std::string_view text, char separator) {
  std::string out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(separator, pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = text.substr(pos, end - pos);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = part.substr(0, eq);
      while (!name.empty() && name.back() == ' ')
        name.remove_suffix(1);
      while (!name.empty() && name.front() == ' ')
        name.remove_prefix(1);
      if (is_secret_param(name)) {
        out.append(part.substr(0, eq + 1));
        out.append("***");
      } else {
        out.append(part);
      }
    } else {
      out.append(part);
    }
    if (end < text.size()) out.push_back(separator);
    pos = end + 1;
  }
  return out;
}

// Masks a quoted or bare value after `password =` in a libpq keyword string.
std::string mask_keyword_string(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    // read key
    size_t key_start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ' ')
      ++i;
    std::string_view key = s.substr(key_start, i - key_start);
    size_t after_key = i;
    while (i < s.size() && s[i] == ' ')
      ++i;
    if (i >= s.size() || s[i] != '=') {
      out.append(s.substr(key_start, i - key_start));
      if (i < s.size()) out.push_back(s[i++]);
      continue;
    }
    ++i; // '='
    while (i < s.size() && s[i] == ' ')
      ++i;
    size_t value_start = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        ++i;
      }
      if (i < s.size()) ++i;
    } else {
      while (i < s.size() && s[i] != ' ')
        ++i;
    }
    out.append(s.substr(key_start, after_key - key_start));
    out.push_back('=');
    if (is_secret_param(key))
      out.append("***");
    else
      out.append(s.substr(value_start, i - value_start));
    while (i < s.size() && s[i] == ' ')
      out.push_back(s[i++]);
  }
  return out;
}

} // namespace

std::string sanitize_url(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    if (url.find('=') != std::string_view::npos) return redact(mask_keyword_string(url));
    return redact(url);
  }
  std::string out(url.substr(0, scheme_end + 3));
  std::string_view rest = url.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos)
      out.append(userinfo.substr(0, colon)).append(":***");
    else
      out.append(userinfo);
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  if (authority_end != std::string_view::npos) {
    std::string_view tail = rest.substr(authority_end);
    size_t q = tail.find('?');
    if (q == std::string_view::npos) {
      out.append(tail);
    } else {
      out.append(tail.substr(0, q + 1));
      std::string_view query = tail.substr(q + 1);
      size_t hash = query.find('#');
      out.append(mask_params(query.substr(0, hash), '&'));
      if (hash != std::string_view::npos) out.append(query.substr(hash));
    }
  }
  return redact(out);
}

std::string describe_endpoint(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "***";
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos)
    authority = authority.substr(at + 1);
  std::string out(url.substr(0, scheme_end + 3));
  out.append(authority);
  if (authority.size() < rest.size()) out.append("/…");
  return out;
}

void register_secret(std::string_view secret) {
  if (secret.size() < 3) return; // too short to mask without destroying ordinary text
  std::lock_guard lock(g_secrets_mutex);
  if (std::find(g_secrets.begin(), g_secrets.end(), secret) == g_secrets.end())
    g_secrets.emplace_back(secret);
  // Longest first, so that a secret containing another is masked whole.
  std::sort(g_secrets.begin(), g_secrets.end(),
            [](const std::string &a, const std::string &b) { return a.size() > b.size(); });
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::lock_guard lock(g_secrets_mutex);
  for (const auto &secret : g_secrets) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return out;
}

} // namespace gate::util

namespace gate::util {

namespace {
std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void register_value(std::string_view v) {
  register_secret(v);
  register_secret(percent_decode(v));
}
} // namespace

void register_url_secrets(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    // libpq keyword string: password=VALUE or password='VALUE'
    size_t pos = 0;
    while ((pos = url.find("password", pos)) != std::string_view::npos) {
      size_t i = pos + 8;
      while (i < url.size() && url[i] == ' ')
        ++i;
      if (i < url.size() && url[i] == '=') {
        ++i;
        while (i < url.size() && url[i] == ' ')
          ++i;
        std::string value;
        if (i < url.size() && url[i] == '\'') {
          for (++i; i < url.size() && url[i] != '\''; ++i) {
            if (url[i] == '\\' && i + 1 < url.size()) ++i;
            value.push_back(url[i]);
          }
        } else {
          while (i < url.size() && url[i] != ' ')
            value.push_back(url[i++]);
        }
        register_value(value);
      }
      pos = i;
    }
    return;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    if (size_t colon = userinfo.find(':'); colon != std::string_view::npos)
      register_value(userinfo.substr(colon + 1));
  }
  if (size_t q = url.find('?'); q != std::string_view::npos) {
    std::string_view query = url.substr(q + 1);
    query = query.substr(0, query.find('#'));
    for (size_t pos = 0; pos <= query.size();) {
      size_t end = query.find('&', pos);
      if (end == std::string_view::npos) end = query.size();
      std::string_view part = query.substr(pos, end - pos);
      if (size_t eq = part.find('=');
          eq != std::string_view::npos && is_secret_param(part.substr(0, eq)))
        register_value(part.substr(eq + 1));
      pos = end + 1;
    }
  }
}

} // namespace gate::util

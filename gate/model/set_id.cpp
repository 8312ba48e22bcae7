#include "model/set_id.hpp"

#include <algorithm>
#include <cctype>

namespace gate::model {

std::string host_tag(const std::string &host) {
  std::string short_name = host.substr(0, host.find('.')); // web1.example.com -> web1
  std::string tag;
  for (char c : short_name) {
    auto u = static_cast<unsigned char>(c);
    char keep = std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
    if (keep == '-' && (tag.empty() || tag.back() == '-')) continue;
    tag.push_back(keep);
  }
  if (tag.size() > 32) tag.resize(32);
  while (!tag.empty() && tag.back() == '-')
    tag.pop_back();
  return tag.empty() ? "host" : tag;
}

bool id_has_host_tag(const std::string &id, const std::string &tag) {
  const std::string mark = "-" + tag + "-";
  auto digits = [](const std::string &s, size_t from, size_t n) {
    return s.size() >= from + n && std::all_of(s.begin() + from, s.begin() + from + n,
                                               [](char c) { return c >= '0' && c <= '9'; });
  };
  for (size_t at = id.find(mark); at != std::string::npos; at = id.find(mark, at + 1)) {
    std::string rest = id.substr(at + mark.size()); // YYYYMMDD_HHMMSS[-N]
    if (!digits(rest, 0, 8) || rest.size() < 15 || rest[8] != '_' || !digits(rest, 9, 6)) continue;
    if (rest.size() == 15) return true;
    if (rest[15] == '-' && rest.size() > 16 && digits(rest, 16, rest.size() - 16)) return true;
  }
  return false;
}

} // namespace gate::model

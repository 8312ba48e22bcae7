#include "model/retention.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>

namespace gate::model {

namespace {

std::tm utc(util::Clock::time_point t) {
  std::time_t tt = util::Clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  return tm;
}

std::string day_key(util::Clock::time_point t) {
  auto tm = utc(t);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::string week_key(util::Clock::time_point t) {
  auto tm = utc(t);
  char buf[16];
  std::strftime(buf, sizeof buf, "%G-W%V", &tm); // ISO week
  return buf;
}

std::string month_key(util::Clock::time_point t) {
  auto tm = utc(t);
  return fmt::format("{:04}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1);
}

// Keeps the newest set of each of the `count` newest buckets.
template <typename KeyFn>
void keep_buckets(const std::vector<const RetentionCandidate *> &newest_first, int count, KeyFn key,
                  const char *reason, std::map<std::string, std::string> &keep) {
  std::string last;
  int kept = 0;
  for (const auto *c : newest_first) {
    if (kept >= count) break;
    std::string k = key(c->created);
    if (k == last) continue;
    last = k;
    ++kept;
    keep.emplace(c->id, fmt::format("{} {}", reason, k));
  }
}

} // namespace

RetentionDecision apply_retention(const std::vector<RetentionCandidate> &sets,
                                  const config::Retention &policy,
                                  const std::set<std::string> &protected_ids) {
  RetentionDecision d;
  std::map<std::string, std::vector<const RetentionCandidate *>> by_kind;
  for (const auto &s : sets)
    by_kind[s.kind].push_back(&s);
  for (auto &[kind, group] : by_kind) {
    std::sort(group.begin(), group.end(),
              [](const RetentionCandidate *a, const RetentionCandidate *b) {
                if (a->created != b->created) return a->created > b->created;
                return a->id > b->id;
              });
    for (int i = 0; i < policy.keep_last && i < static_cast<int>(group.size()); ++i)
      d.keep.emplace(group[i]->id, fmt::format("last {}", i + 1));
    keep_buckets(group, policy.keep_daily, day_key, "daily", d.keep);
    keep_buckets(group, policy.keep_weekly, week_key, "weekly", d.keep);
    keep_buckets(group, policy.keep_monthly, month_key, "monthly", d.keep);
  }
  for (const auto &id : protected_ids)
    for (const auto &s : sets)
      if (s.id == id) d.keep.emplace(id, "protected");
  std::vector<const RetentionCandidate *> all;
  for (const auto &s : sets)
    all.push_back(&s);
  std::sort(all.begin(), all.end(), [](const RetentionCandidate *a, const RetentionCandidate *b) {
    return a->created > b->created;
  });
  for (const auto *s : all)
    if (!d.keep.count(s->id)) d.remove.push_back(s->id);
  return d;
}

} // namespace gate::model

// Which sets a retention policy keeps (keep_last, keep_daily, keep_weekly,
// keep_monthly, as restic's forget does), applied per set kind, never
// removing a protected set (the record's, the newest verified one).
#pragma once

#include "config/pipeline.hpp"
#include "util/time.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace gate::model {

struct RetentionCandidate {
  std::string id;
  std::string kind; // sets of one kind are counted together
  util::Clock::time_point created;
};

struct RetentionDecision {
  std::map<std::string, std::string> keep; // id -> why
  std::vector<std::string> remove;         // oldest last
};

RetentionDecision apply_retention(const std::vector<RetentionCandidate> &sets,
                                  const config::Retention &policy,
                                  const std::set<std::string> &protected_ids);

} // namespace gate::model

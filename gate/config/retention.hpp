// The `retention:` policy, shared by the local backup root and each remote.
#pragma once

#include "config/node.hpp"
#include "util/expected.hpp"

namespace gate::config {

struct Retention {
  int keep_last = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
};

// Reads a retention map (keep_last, keep_daily, keep_weekly, keep_monthly).
// Fails with file:line:col on an unknown key, a bad count, or a policy that
// keeps nothing.
util::Result<Retention> parse_retention(const Node &node);

} // namespace gate::config

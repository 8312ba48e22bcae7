#include "config/retention.hpp"

namespace gate::config {

util::Result<Retention> parse_retention(const Node &node) {
  TRY_ASSIGN(auto map, MapReader::open(node, "retention",
                                       {"keep_last", "keep_daily", "keep_weekly", "keep_monthly"}));
  Retention r;
  if (auto n = map.take("keep_last")) TRY_ASSIGN(r.keep_last, n->as_int(0, 100000));
  if (auto n = map.take("keep_daily")) TRY_ASSIGN(r.keep_daily, n->as_int(0, 100000));
  if (auto n = map.take("keep_weekly")) TRY_ASSIGN(r.keep_weekly, n->as_int(0, 100000));
  if (auto n = map.take("keep_monthly")) TRY_ASSIGN(r.keep_monthly, n->as_int(0, 100000));
  TRY(map.finish());
  if (r.keep_last + r.keep_daily + r.keep_weekly + r.keep_monthly == 0)
    return std::unexpected(
        node.error("retention keeps nothing: set keep_last, keep_daily, keep_weekly or "
                   "keep_monthly above 0 (or remove 'retention' to keep every set)"));
  return r;
}

} // namespace gate::config

// What `gate status` and the Prometheus metrics file report about a backup
// root: the newest set a rollback would trust and how long restoring it is
// predicted to take.
#pragma once

#include "config/pipeline.hpp"
#include "model/backup_set.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gate::cli {

// The newest set a rollback would trust: verified, never failed, not a
// safety snapshot; nothing when there is none.
std::optional<model::SetInfo> newest_verified(const std::vector<model::SetInfo> &sets);

// The rollback time predicted from what the set measured (restore and safety
// snapshot); nothing when a part of it was never measured.
std::optional<long long> predicted_rollback_ms(const model::Manifest &manifest);

// How old a manifest's set is now, in milliseconds; -1 when its created_at
// cannot be read.
long long set_age_ms(const model::Manifest &manifest);

// One Prometheus gauge (its labels are the caller's).
struct Gauge {
  const char *name;
  const char *help;
  std::string value;
};

// The facts of `gate status` as gauges for the metrics file: whether a
// verified set exists, its time, age and size, the predicted rollback time
// where known, and the free space on backup_root. A backup root that cannot
// be read gives no gauges (the run's own metrics still go out).
std::vector<Gauge> status_gauges(const config::PipelineConfig &config);

} // namespace gate::cli

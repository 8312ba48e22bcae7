// The rollback of a database: the best dump of the set (custom, directory,
// then sql) restored in the target's mode (steps/postgres/restore.hpp), with a
// snapshot of the live database first and a plan that names the tables that
// come back, go, or are replaced.
#pragma once

#include "steps/restore_job.hpp"

namespace gate::steps {

// Null when the set holds no restorable dump of `artifact`'s database; an
// error (nothing changed) when the database is not in the configuration.
util::Result<std::unique_ptr<RestoreJob>>
make_database_restore_job(const config::PipelineConfig &config, const model::Manifest &manifest,
                          const model::Artifact &artifact, const RestoreDestination &destination);

} // namespace gate::steps

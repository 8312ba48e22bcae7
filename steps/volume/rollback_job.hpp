// The rollback of a volume: the archive extracted beside the destination,
// checked, and swapped in whole (steps/volume/restore.hpp), with the named
// volume's containers stopped for the swap and started again, a snapshot of
// the live directory first, and a plan that names what is replaced and kept.
#pragma once

#include "steps/restore_job.hpp"

namespace gate::steps {

// An error (nothing changed) when the volume is neither configured nor
// redirected with --target NAME=DIR, or its named volume cannot be resolved.
util::Result<std::unique_ptr<RestoreJob>>
make_volume_restore_job(const config::PipelineConfig &config, const model::Manifest &manifest,
                        const model::Artifact &artifact, const RestoreDestination &destination);

} // namespace gate::steps

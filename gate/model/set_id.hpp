// Set ids of a pipeline with remotes carry a host tag
// (`pre-deployment-web1-20261201_161530`): many hosts' gates may share one
// bucket prefix, and a tag of the host that wrote a set keeps their ids from
// colliding and tells each gate which sets without a manifest (uploads cut
// short) are its own to clean up.
#pragma once

#include <string>

namespace gate::model {

// The tag of the host named `host`: lowercase letters, digits and '-', at
// most 32 characters ("host" when nothing is left).
std::string host_tag(const std::string &host);

// True when `id` was made with `tag`: "KIND-TAG-YYYYMMDD_HHMMSS", maybe
// with the "-N" a second set in the same second gets. The timestamp right
// after the tag keeps host "web" from claiming the sets of host "web-2".
bool id_has_host_tag(const std::string &id, const std::string &tag);

} // namespace gate::model

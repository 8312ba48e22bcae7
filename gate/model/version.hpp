// gate's own version: the project version, plus `git describe` when built from
// a checkout (packaging/version.cmake writes gate_version.h on every build).
#pragma once

#include "gate_version.h"

namespace gate::model {
inline constexpr const char *k_gate_version = GATE_VERSION;
}

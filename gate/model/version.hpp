// gate's own version (from CMake's project version).
#pragma once

namespace gate::model {
inline constexpr const char *k_gate_version = GATE_VERSION;
}

# Read by cpack when it runs (CPACK_PROJECT_CONFIG_FILE): the package version is
# the one the build compiled into gate (packaging/version.cmake), not the one
# CMake saw when it configured the build tree.
file(READ "${CPACK_GATE_VERSION_FILE}" gate_version)
string(STRIP "${gate_version}" gate_version)
set(CPACK_PACKAGE_VERSION "${gate_version}")
set(CPACK_DEBIAN_PACKAGE_VERSION "${gate_version}")

# Shared by ci/demo, ci/test and bench/run: install what is missing, build.
# Works as root or as a user with sudo; every step is idempotent.

GATE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATE_BUILD=${GATE_BUILD:-$GATE_ROOT/build}

# Debian packages gate needs to build, test and demo.
GATE_PACKAGES=(
  g++ cmake make pkg-config git
  libcpp-httplib-dev libpq-dev libarchive-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev
  libcli11-dev libfmt-dev libgtest-dev libgmock-dev
  postgresql-15 postgresql-client-15 zstd tar python3 acl
  age zlib1g-dev  # the real age CLI for interop tests; zlib for the CCTV age vectors
  systemd clang-format  # systemd-analyze verifies contrib/systemd; ci/check-format
  awscli rclone  # read back what gate uploads to the S3 test server (tests/s3)
  dpkg-dev lintian go-md2man man-db  # ci/package: cpack's dpkg-shlibdeps, checks, man pages
  python3-jsonschema python3-yaml zsh  # tests/packaging: the schema test, zsh completion
  clang-16 libclang-rt-16-dev  # ci/fuzz: libFuzzer (clang 14 cannot compile libstdc++ 12's <expected>)
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "ci: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Node.js and npm run the CI-template validators (ci/check-ci-templates) and
# the S3 test server (tests/s3/s3rver installs its pinned packages with npm ci).
install_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
  install_packages nodejs npm
}

# GATE_WERROR=ON (ci/test) makes every compiler warning an error; GATE_UNITY=ON
# (ci/test) compiles the libraries in batches, faster from scratch.
build_gate() {
  cmake -S "$GATE_ROOT" -B "$GATE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGATE_WERROR="${GATE_WERROR:-OFF}" \
    -DGATE_UNITY="${GATE_UNITY:-OFF}" >/dev/null
  cmake --build "$GATE_BUILD" -j "$(nproc)" "$@"
}

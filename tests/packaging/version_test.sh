#!/usr/bin/env bash
# tests/packaging/version_test.sh GATE SOURCE_DIR PROJECT_VERSION
# `gate version` (and --json) reports the package version: the project version,
# plus `git describe` (naming HEAD's commit) when built from a git checkout.
set -euo pipefail
gate=$1 src=$2 project=$3
got=$("$gate" version | head -n 1)
json=$("$gate" version --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["gate"])')
[ "$got" = "gate $json" ] || { echo "FAIL: 'gate version' says '$got', --json '$json'"; exit 1; }
if describe=$(git -C "$src" describe --tags --always --match 'v[0-9]*' 2>/dev/null); then
  if [ "$describe" = "v$project" ]; then
    want="^$project(\.dirty)?\$"
  else
    want="^$project\+git\.(.*\.g)?$(git -C "$src" rev-parse --short HEAD)"
  fi
else
  want="^$project\$"
fi
grep -Eq "$want" <<<"$json" || { echo "FAIL: gate version '$json' does not match /$want/"; exit 1; }
echo "gate version: $json"

#!/usr/bin/env bash
# tests/packaging/completion_test.sh GATE SOURCE_DIR
# Drives completion/gate.bash's _gate the way bash does on TAB (COMP_WORDS,
# COMP_CWORD) against the real gate: every command and flag its --help lists,
# and the ids of real sets (a volume-only pipeline backed up here) for show,
# verify and rollback, from the default pipeline and from --config.
set -uo pipefail
gate=$(realpath "$1") src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# shellcheck source=../../completion/gate.bash
source "$src/completion/gate.bash"
complete_line() { # complete_line WORD... (the last word is the one being completed)
  COMP_WORDS=("$gate" "$@")
  COMP_CWORD=$#
  COMPREPLY=()
  _gate
  printf '%s\n' "${COMPREPLY[@]}"
}
expect_has() { # expect_has WHAT EXPECTED -- WORD...
  local what=$1 expected=$2
  shift 3
  complete_line "$@" | grep -xF -- "$expected" >/dev/null || fail "$what: '$expected' not offered for 'gate $*' (got: $(complete_line "$@" | tr '\n' ' '))"
}
expect_only() { # expect_only WHAT "A B" -- WORD...
  local what=$1 expected=$2 got
  shift 3
  got=$(complete_line "$@" | sort | tr '\n' ' ')
  [ "$got" = "$(tr ' ' '\n' <<<"$expected" | sort | tr '\n' ' ')" ] || fail "$what: 'gate $*' offered '$got', not '$expected'"
}

# What --help lists, in CLI11's layout ("Subcommands:" and "Options:" sections).
help_words() { # W=SECTION: help_words GATE [CMD]: the first column of that section
  "$@" --help | awk -v want="$W" '/^[^ ]/ { inside = ($0 == want); next } inside && /^  [^ ]/ { print $1 }'
}
commands=$(W=Subcommands: help_words "$gate")
[ "$(wc -l <<<"$commands")" -ge 10 ] || fail "gate --help lists only: $commands"
for c in $commands; do
  expect_has "command" "$c" -- ""
  for flag in $(W=Options: help_words "$gate" "$c" | tr ',' ' '); do
    expect_has "flag of $c" "$flag" -- "$c" -
  done
done
for flag in $(W=Options: help_words "$gate" | tr ',' ' '); do
  expect_has "global flag" "$flag" -- -
done
expect_only "prefix" "rollback" -- rol
expect_only "--only" "db volumes" -- rollback --only ""
expect_only "a value after --stage" "" -- run --stage ""

# Real sets: a volume-only pipeline, backed up twice (two ids), and another
# file with one set of its own for --config.
mkdir -p "$work/p/data" "$work/p/other-data"
head -c 4000 /dev/urandom >"$work/p/data/a.bin"
head -c 4000 /dev/urandom >"$work/p/other-data/b.bin"
printf 'version: 1\nproject: comp\nvolumes:\n  - {name: data, path: ./data}\n' >"$work/p/pipeline.yml"
printf 'version: 1\nproject: other\nbackup_root: ./other-backups\nrecord: ./.other-record\nvolumes:\n  - {name: data, path: ./other-data}\n' >"$work/p/other.yml"
cd "$work/p" || exit 1
"$gate" -q backup >/dev/null && "$gate" -q run >/dev/null && "$gate" -q --config other.yml run >/dev/null ||
  { echo "FAIL: gate could not back up the sample pipelines"; exit 1; }
ids=$(ls backups)
other=$(ls other-backups)
[ "$(wc -w <<<"$ids")" -eq 2 ] || fail "expected two sets, found: $ids"
for cmd in show verify rollback; do
  expect_only "set ids for $cmd" "$(tr '\n' ' ' <<<"$ids" | sed 's/ $//')" -- "$cmd" ""
  expect_only "set ids for $cmd --config other.yml" "$other" -- --config other.yml "$cmd" ""
done
expect_only "set ids after show --env" "$(tr '\n' ' ' <<<"$ids" | sed 's/ $//')" -- show --env ""
expect_only "no ids for list" "" -- list ""
expect_has "--config offers pipeline files" other.yml -- --config ""

if [ "$failures" -ne 0 ]; then
  echo "completion: $failures failure(s)"
  exit 1
fi
echo "completion: all passed"

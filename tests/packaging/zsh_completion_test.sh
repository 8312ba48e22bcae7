#!/usr/bin/env bash
# tests/packaging/zsh_completion_test.sh GATE SOURCE_DIR
# completion/_gate in a real interactive zsh (zsh/zpty, compinit): TAB after
# "gate rol", "gate rollback --no-s" and "gate show " (one real set) must
# complete to rollback, --no-safety-backup and the set's id.
set -euo pipefail
gate=$(realpath "$1") src=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
head -c 4000 /dev/urandom >"$work/data/a.bin"
printf 'version: 1\nproject: zsh\nvolumes:\n  - {name: data, path: ./data}\n' >"$work/pipeline.yml"
(cd "$work" && "$gate" -q run >/dev/null)
id=$(ls "$work/backups")
mkdir -p "$work/bin"
ln -s "$gate" "$work/bin/gate"
cat >"$work/test.zsh" <<'ZSH'
zmodload zsh/zpty
zpty -b z 'zsh -f -i'
zpty -w z "PS1='> '; PATH=$BIN:\$PATH; fpath=($SRC/completion \$fpath); autoload -U compinit; compinit -u -D; cd $WORK"
expect() { # expect TYPED WANTED: TAB after TYPED shows WANTED
  local line
  zpty -w -n z "$1"$'\t'
  if zpty -r z line "*$2*"; then print -r -- "ok: '$1<TAB>' gave $2"; fi
  zpty -w -n z $'\C-u' # clear the line
}
expect 'gate rol' rollback
expect 'gate rollback --no-s' --no-safety-backup
expect 'gate show ' "$ID"
zpty -d z
ZSH
# zpty -r waits for the pattern: a completion that never comes is the timeout.
out=$(BIN="$work/bin" SRC="$src" WORK="$work" ID="$id" timeout 15 zsh -f "$work/test.zsh" 2>&1) || true
echo "$out"
[ "$(grep -c '^ok: ' <<<"$out")" -eq 3 ] || { echo "FAIL: zsh completion (3 checks expected)"; exit 1; }
echo "zsh completion: all passed"

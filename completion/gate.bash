# bash completion for gate(1). Installed as
# /usr/share/bash-completion/completions/gate; or source it from ~/.bashrc.
#
# Commands and flags come from the gate being completed (`gate --help`,
# `gate CMD --help`), so they are never out of date; set ids for show, verify
# and rollback from `gate list --json`, read with the --config (or --env) on
# the command line.

# The words of a CLI11 help section ("Options:", "Subcommands:"): its first column.
_gate_help_words() { # _gate_help_words SECTION GATE [ARGS...]
  local section=$1
  shift
  "$@" --help 2>/dev/null | awk -v section="$section:" '
    /^[^ ]/ { inside = ($0 == section); next }
    inside && /^  [^ ]/ { print $1 }'
}

# Flags: "-c,--config" gives -c and --config.
_gate_flags() { # _gate_flags GATE [CMD]
  _gate_help_words Options "$@" | tr ',' '\n' | grep -E '^-'
}

# The ids of the sets, newest first, of the pipeline named on the command line.
_gate_set_ids() { # _gate_set_ids GATE [GLOBAL OPTIONS...]
  "$@" list --json 2>/dev/null | grep -oE '"id" *: *"[^"]+"' | sed -E 's/.*"([^"]+)"$/\1/'
}

# COMPREPLY: one candidate per line of the command's output (no mapfile: zsh
# runs this file too, through bashcompinit).
_gate_reply() {
  local line
  COMPREPLY=()
  while IFS= read -r line; do COMPREPLY+=("$line"); done < <("$@")
}

_gate_pipeline_files() { # pipeline files and directories for --config
  compgen -f -X '!*.yml' -- "$1"
  compgen -f -X '!*.yaml' -- "$1"
  compgen -d -- "$1"
}

_gate() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
  local gate=${COMP_WORDS[0]}
  gate=${gate/#\~/$HOME}
  COMPREPLY=()

  # The command, and the global options before it (kept to run `gate list`).
  local i word command="" globals=()
  local commands
  commands=$(_gate_help_words Subcommands "$gate")
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case "$word" in
    -c | --config | --config-dir | --env)
      globals+=("$word" "${COMP_WORDS[i + 1]}")
      ((i++))
      continue
      ;;
    -*) continue ;;
    esac
    if grep -qxF -- "$word" <<<"$commands"; then
      command=$word
      break
    fi
  done

  case "$prev" in
  -c | --config)
    _gate_reply _gate_pipeline_files "$cur"
    compopt -o filenames 2>/dev/null
    return 0
    ;;
  --config-dir)
    _gate_reply compgen -d -- "$cur"
    compopt -o filenames 2>/dev/null
    return 0
    ;;
  --junit | --dotenv)
    _gate_reply compgen -f -- "$cur"
    compopt -o filenames 2>/dev/null
    return 0
    ;;
  --only)
    _gate_reply compgen -W "db volumes" -- "$cur"
    return 0
    ;;
  --stage | --target | --allow-shrink | --max-age | --remote) return 0 ;; # a value
  --env) [ -z "$command" ] && return 0 ;; # gate --env NAME; `show --env` takes none
  esac

  if [ -z "$command" ]; then
    if [[ $cur == -* ]]; then
      _gate_reply compgen -W "$(_gate_flags "$gate")" -- "$cur"
    else
      _gate_reply compgen -W "$commands" -- "$cur"
    fi
    return 0
  fi
  if [[ $cur == -* ]]; then
    _gate_reply compgen -W "$(_gate_flags "$gate" "$command")" -- "$cur"
    return 0
  fi
  case "$command" in
  show | verify | rollback)
    _gate_reply compgen -W "$(_gate_set_ids "$gate" "${globals[@]}")" -- "$cur"
    ;;
  esac
  return 0
}
complete -F _gate gate

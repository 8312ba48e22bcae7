#!/usr/bin/env bash
# deploy.sh: no migration runs before gate has backed up the databases and
# volumes, proved the backup restorable and recorded it.
#
# gate's exit codes (docs/exit-codes.md). Only 0 means "go":
#   0    backup verified, sealed and recorded in .last-deployment-backup
#   1    a check, backup, verification or gate-run step failed: abort
#   2    pipeline.yml or command-line error, nothing changed: fix it (gate check)
#   3    another gate holds the backup root's lock: retry later, or set lock_wait
#   4    a rollback failed or was incomplete: a human is needed now
#   130  interrupted: the partial backup was removed, the record is untouched
#
# Usage:
#   ./deploy.sh                          gate backs up, then this script migrates
#   GATE_RUNS_MIGRATION=yes ./deploy.sh  gate runs the migration itself (variant B)
#
# During an incident: gate rollback --last

set -euo pipefail

cd "$(dirname "$0")" # where pipeline.yml, migrate.sh and release.sh live

if [[ "${GATE_RUNS_MIGRATION:-no}" != yes ]]; then
  # Variant A: pipeline.yml has no exec stage (the default pipeline is fine).
  # gate exits non-zero on any failed check; stop the deploy right there.
  gate run --config pipeline.yml || exit 1
  ./migrate.sh
else
  # Variant B: pipeline.yml ends with a stage that runs the migration under
  # the gate, for example:
  #
  #   - name: migrate
  #     steps:
  #       - exec: ["./migrate.sh"]
  #         timeout: 15m
  #         on_failure: rollback
  #
  # gate seals and records the verified set before that stage starts. If the
  # migration fails, times out or is interrupted, gate restores the data from
  # that set and checks it (exit 1), or exits 4 if the rollback failed.
  status=0
  gate run --config pipeline.yml || status=$?
  case "$status" in
    0) ;;
    4)
      echo "deploy: migration failed and ROLLBACK FAILED: page on-call now" >&2
      exit 4
      ;;
    *)
      echo "deploy: gate exited $status; not deploying (see its verdict above)" >&2
      exit 1
      ;;
  esac
fi

./release.sh # ship the new code: only reached when gate said yes

#!/usr/bin/env bash
# Export ENV's audit events from SINCE (until UNTIL, default now) across the hot, warm and cold tiers,
# with a manifest beside the file. Same as: amops audit export --env ENV --since SINCE [--until UNTIL]
# e.g.  scripts/export-audit-logs.sh prod 2026-11-01 2026-11-30 --team team-alpha --out nov.jsonl
set -euo pipefail
source "$(dirname "$0")/_amops.sh"
[ $# -ge 2 ] || usage "ENV SINCE [UNTIL] [amops audit export options: --team --actor --action --outcome --format --out --wait]"
env="$1"; since="$2"; shift 2
args=()
if [ $# -ge 1 ] && [[ "$1" != -* ]]; then args+=(--until "$1"); shift; fi
exec "${amops[@]}" audit export --env "$env" --since "$since" "${args[@]}" "$@"

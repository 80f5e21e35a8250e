#!/usr/bin/env bash
# Health checks of ENV: aliases, /health in every region, alarms, tables. Same as: amops health ENV
set -euo pipefail
source "$(dirname "$0")/_amops.sh"
[ $# -ge 1 ] || usage "ENV [--junit PATH]"
env="$1"; shift
exec "${amops[@]}" health "$env" "$@"

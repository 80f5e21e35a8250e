#!/usr/bin/env bash
# Roll ENV's Lambda functions back to the versions before the last deployment, verify, and write
# the incident update. Same as: amops rollback lambda ENV [--function FUNCTION [--to-version VERSION]]
set -euo pipefail
source "$(dirname "$0")/_amops.sh"
[ $# -ge 1 ] || usage "ENV [FUNCTION [VERSION]] [amops rollback lambda options]"
env="$1"; shift
args=()
if [ $# -ge 1 ] && [[ "$1" != -* ]]; then args+=(--function "$1"); shift; fi
if [ $# -ge 1 ] && [[ "$1" != -* ]]; then args+=(--to-version "$1"); shift; fi
exec "${amops[@]}" rollback lambda "$env" "${args[@]}" "$@"

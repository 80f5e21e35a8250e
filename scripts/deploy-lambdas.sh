#!/usr/bin/env bash
# Deploy the Lambda functions of ENV: package, upload, publish, move the live aliases, verify.
# Same as: amops deploy ENV --only lambdas [options]
set -euo pipefail
source "$(dirname "$0")/_amops.sh"
[ $# -ge 1 ] || usage "ENV [amops deploy options]"
env="$1"; shift
exec "${amops[@]}" deploy "$env" --only lambdas "$@"

#!/usr/bin/env bash
# Run the end-to-end smoke tests against ENV's API. Same as: amops smoke ENV [--junit PATH]
set -euo pipefail
source "$(dirname "$0")/_amops.sh"
[ $# -ge 1 ] || usage "ENV [--junit PATH]"
env="$1"; shift
exec "${amops[@]}" smoke "$env" "$@"

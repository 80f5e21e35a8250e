# Sourced by the scripts beside it: find amops (on PATH, in the repository's .venv, or as a module).
# Global options come from the environment: AMOPS_SANDBOX=1, AMOPS_YES=1, AMOPS_CONFIRM_ENV=prod,
# AMOPS_DRY_RUN=1, AMOPS_OUTPUT=json, AMOPS_CONFIG=path; everything after the script's own
# arguments is passed to the amops command unchanged.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${AMOPS:-}" ]; then
  amops=("$AMOPS")
elif command -v amops >/dev/null 2>&1; then
  amops=(amops)
elif [ -x "$here/../.venv/bin/amops" ]; then
  amops=("$here/../.venv/bin/amops")
else
  amops=(python3 -m amops)
fi
usage() {
  echo "usage: $(basename "$0") $1" >&2
  exit 2
}

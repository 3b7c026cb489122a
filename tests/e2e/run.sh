#!/usr/bin/env bash
# run.sh [--quick] [args for run.py] - the end-to-end suite against real S3 servers.
# --quick: moto only (used for the sanitizer build of the binary).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
if [ "${1:-}" = --quick ]; then shift; set -- --servers moto "$@"; fi
exec "$py" "$here/run.py" "$@"

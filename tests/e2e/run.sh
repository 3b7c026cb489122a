#!/usr/bin/env bash
# run.sh [--quick] [args for run.py] - the end-to-end suite against real S3 servers.
# --quick: moto only (used for the sanitizer build of the binary).
# The python is the first with boto3 of $PYTHON, python3, Debian's /usr/bin/python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=$("$here/../harness/python-boto3")
if [ "${1:-}" = --quick ]; then shift; set -- --servers moto "$@"; fi
exec "$py" "$here/run.py" "$@"

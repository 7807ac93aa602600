#!/usr/bin/env bash
# Build the HTML documentation, failing on any warning (a broken cross-reference included).
# The example scripts in examples/ run during the build.
#
#   bash docs/build.sh            # output in docs/_build/html
#   PYTHON=/path/to/python bash docs/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
export MPLBACKEND=Agg
exec "$PYTHON" -m sphinx -W --keep-going -b html docs docs/_build/html "$@"

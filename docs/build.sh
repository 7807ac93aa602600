#!/usr/bin/env bash
# Build the HTML documentation, failing on any warning (a broken cross-reference included).
# The example scripts in examples/ run during the build and draw the user guide's figures;
# then the quick start and learned aggregation pages run as doctests, so their code and
# printed results stay true.
#
#   bash docs/build.sh            # output in docs/_build/html
#   PYTHON=/path/to/python bash docs/build.sh
#
# Needs the docs extra: pip install ".[docs]".
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
export MPLBACKEND=Agg
# Small models on a small shared machine: one BLAS thread is faster and gives the same
# numbers everywhere (conf.py sets the same limit for the examples).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

"$PYTHON" -m sphinx -W --keep-going -b html docs docs/_build/html "$@"
"$PYTHON" -m doctest -o ELLIPSIS -o NORMALIZE_WHITESPACE docs/quickstart.rst \
    docs/user_guide/learned_aggregation.rst
echo "docs/quickstart.rst, docs/user_guide/learned_aggregation.rst: every example passed"

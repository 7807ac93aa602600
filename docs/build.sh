#!/usr/bin/env bash
# Build the HTML documentation, failing on any warning (a broken cross-reference included).
# The example scripts in examples/ run during the build and draw the user guide's figures;
# then the pages' code runs as doctests, so the code and printed results stay true, and the
# built site is checked to load nothing from the network.
#
#   bash docs/build.sh            # output in docs/_build/html
#   PYTHON=/path/to/python bash docs/build.sh
#
# Needs the docs extra: pip install ".[docs]".
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
export MPLBACKEND=Agg

# A fresh output directory, so that no page left over from an earlier build is published or
# checked. (The examples' results are cached in docs/auto_examples, not here.)
rm -rf docs/_build/html
"$PYTHON" -m sphinx -W --keep-going -b html docs docs/_build/html "$@"

# The code of these pages runs as doctests ("pycon" blocks starting with >>>). Code shown
# as a plain literal block is not run; each such block says why in a comment next to it
# (it needs files on disk, a cluster, or the long computations the examples already run).
# As python -m doctest -o ELLIPSIS -o NORMALIZE_WHITESPACE, except that the last digit of a
# printed decimal may differ by one, as it does on another CPU (docs/_doctest.py).
DOCTESTED=(docs/index.rst docs/quickstart.rst docs/user_guide/*.rst)
"$PYTHON" docs/_doctest.py "${DOCTESTED[@]}"
echo "doctests passed: ${DOCTESTED[*]}"

# No page may load a script, stylesheet, font or image from the network, and code shown on
# the pages must fit their column (docs/_check_site.py).
"$PYTHON" docs/_check_site.py docs/_build/html

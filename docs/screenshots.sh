#!/usr/bin/env bash
# Photograph pages of the built site in headless Chromium with the network off, to check by
# eye that formulas render and figures read well offline. For maintainers; CI does not run it.
#
#   bash docs/build.sh                      # first build the site
#   bash docs/screenshots.sh OUT_DIR [PAGE[@WIDTH,HEIGHT] ...]
#
# Without pages, it takes the landing page, a page full of formulas and an example down to its
# figure. Each PAGE is a path under docs/_build/html; the screenshot, OUT_DIR/<page>.png, is
# the top of the page in a window of WIDTH x HEIGHT pixels (default WINDOW_SIZE=1280,1600).
#
# Needs Chromium (Debian: apt-get install chromium; CHROMIUM=/path/to/chrome for another).
# The network is off: as root the script re-runs itself in a new network namespace that has
# only the loopback interface (unshare -n); otherwise Chromium resolves no host but 127.0.0.1
# and sends any other request to a closed proxy port. The site is served on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
    sed -n '2,16p' "$0" >&2
    exit 2
fi

if [ -z "${SCREENSHOTS_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null \
    && unshare -n true 2>/dev/null; then
    exec env SCREENSHOTS_NETNS=1 unshare -n bash "$0" "$@"
fi
if [ -n "${SCREENSHOTS_NETNS:-}" ]; then
    ip link set lo up
fi

OUT_DIR=$1
shift
PAGES=("$@")
if [ ${#PAGES[@]} -eq 0 ]; then
    PAGES=(
        index.html
        user_guide/relative_projections.html
        "auto_examples/plot_compare_invariances.html@1280,4000"
    )
fi
SITE=docs/_build/html
PORT="${PORT:-8731}"
WINDOW_SIZE="${WINDOW_SIZE:-1280,1600}"
CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
PYTHON="${PYTHON:-python3}"

if [ ! -f "$SITE/index.html" ]; then
    echo "screenshots.sh: $SITE/index.html: no built site; run bash docs/build.sh first" >&2
    exit 2
fi
if [ -z "$CHROMIUM" ]; then
    echo "screenshots.sh: Chromium not found; install it or set CHROMIUM" >&2
    exit 2
fi
mkdir -p "$OUT_DIR"
PROFILE=$(mktemp -d)

"$PYTHON" -m http.server "$PORT" --bind 127.0.0.1 --directory "$SITE" >/dev/null 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$PROFILE"' EXIT
for _ in $(seq 50); do
    if "$PYTHON" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/')" \
        2>/dev/null; then
        break
    fi
    sleep 0.1
done

for page in "${PAGES[@]}"; do
    size=$WINDOW_SIZE
    if [[ $page == *@* ]]; then
        size=${page##*@}
        page=${page%@*}
    fi
    name=${page%.html}
    out="$OUT_DIR/${name//\//_}.png"
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
        --proxy-server="127.0.0.1:9" --proxy-bypass-list="127.0.0.1" \
        --user-data-dir="$PROFILE" --hide-scrollbars --virtual-time-budget=5000 \
        --window-size="$size" --screenshot="$out" \
        "http://127.0.0.1:$PORT/$page" 2>/dev/null
    echo "$out"
done

#!/usr/bin/env bash
# Render a run's report.html to a PNG in headless Chromium (Debian's `chromium` package), as a reviewer's browser
# shows it: scripts/render-report.sh RUN_DIR/report.html OUT.png [WIDTH [HEIGHT]] (CSS pixels; default 1280 x 9000,
# enough for the report's tables and first figures; the page itself has no height limit).
#
# Chromium is installed when missing and this runs as root with apt-get (a fresh CI machine); otherwise the script
# stops and says how to install it. The page is self-contained, and the browser runs with a fresh empty profile
# and every background network service off, so nothing is fetched.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT_HTML OUT_PNG [WIDTH [HEIGHT]]" >&2
  exit 2
fi
html=$1
png=$2
width=${3:-1280}
height=${4:-9000}
if [ ! -f "$html" ]; then
  echo "error: $html does not exist; 'blurry-to-clear report RUN_DIR' writes RUN_DIR/report.html" >&2
  exit 1
fi

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "render-report: installing Debian's chromium (apt-get install chromium)" >&2
    apt-get update -qq > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
    browser=$(command -v chromium)
  else
    echo "error: chromium is not installed; install Debian's chromium package ('apt-get install chromium' as root)," >&2
    echo "       or put a chromium on PATH, then rerun $0" >&2
    exit 1
  fi
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
html_abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
mkdir -p "$(dirname "$png")"
png_abs=$(cd "$(dirname "$png")" && pwd)/$(basename "$png")
rm -f "$png_abs"
# Chromium's own chatter (D-Bus, GPU probing) goes to a log, shown only when it fails.
log=$profile/chromium.log
if ! timeout 180 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
  --user-data-dir="$profile" --window-size="$width,$height" --screenshot="$png_abs" "file://$html_abs" > "$log" 2>&1; then
  cat "$log" >&2
  echo "error: chromium failed to render $html" >&2
  exit 1
fi
if [ ! -s "$png_abs" ]; then
  cat "$log" >&2
  echo "error: chromium wrote no picture of $html to $png" >&2
  exit 1
fi
echo "render-report: $png ($(stat -c %s "$png_abs") bytes)"

#!/usr/bin/env bash
# Browser tests of /, /support, /console and /api/v1/docs: starts the real server on a free
# port with a temporary SQLite database, drives Debian's Chromium with playwright-core
# (no browser download), then stops the server.
#
# Environment: CONCIERGE_BIN (default: built with cargo into target/debug/concierge),
# CHROMIUM (default /usr/bin/chromium), SCREENSHOTS=<dir> to also write a screenshot per page.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
# Screenshots land where the caller meant, whichever folder the tests run in.
if [ -n "${SCREENSHOTS:-}" ]; then
  mkdir -p "$SCREENSHOTS" && SCREENSHOTS="$(cd "$SCREENSHOTS" && pwd)" && export SCREENSHOTS
fi

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "installing chromium"
  apt-get update -qq && apt-get install -y -qq chromium python3 curl
fi
if ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
if [ ! -d "$here/node_modules/playwright-core" ] || [ "${CI:-}" = "true" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi

# shellcheck source=tests/serve.sh
source tests/serve.sh
serve_concierge
export BASE_URL="$base" ADMIN_USERNAME=admin ADMIN_PASSWORD="$password"

status=0
(cd "$here" && node --test --test-concurrency=1 "$@" pages.test.mjs) || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"

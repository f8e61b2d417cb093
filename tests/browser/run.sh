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

bin="${CONCIERGE_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet -p concierge-server --bin concierge
  bin="${CARGO_TARGET_DIR:-target}/debug/concierge"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export BASE_URL="http://127.0.0.1:$port"
export ADMIN_USERNAME=admin
export ADMIN_PASSWORD="browser-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"

env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
  HOST=127.0.0.1 PORT="$port" WORKERS=2 \
  DATABASE_URL="sqlite://$work/concierge.db" UPLOAD_DIR="$work/uploads" \
  JWT_SECRET="browser-tests-secret-$(date +%s)-0123456789abcdef" \
  SUPER_ADMIN_USERNAME="$ADMIN_USERNAME" SUPER_ADMIN_PASSWORD="$ADMIN_PASSWORD" BCRYPT_COST=4 \
  LOG_LEVEL=warn \
  RATE_LIMIT_REQUESTS=1000000 RATE_LIMIT_LOGIN_IP=1000000 RATE_LIMIT_LOGIN_ACCOUNT=1000000 RATE_LIMIT_LOGIN_ACCOUNT_IP=1000000 \
  RATE_LIMIT_DONOR_QUERIES=1000000 \
  "$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
  curl -fsS "$BASE_URL/api/v1/health/ping" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "concierge did not start" >&2; exit 1; }
  sleep 0.2
done

status=0
(cd "$here" && node --test --test-concurrency=1 "$@" pages.test.mjs) || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"

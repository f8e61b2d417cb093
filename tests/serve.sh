# Sourced by the scripts that test a running server (tests/schemathesis.sh,
# tests/browser/run.sh). `serve_concierge [VAR=value ...]` starts `concierge serve` on a free
# port with a temporary SQLite database and upload directory, a fresh super admin `admin` and
# generous rate limits (the extra variables are added to its environment), waits until it
# answers, and stops it when the calling script exits. CONCIERGE_BIN skips the cargo build.
# Sets `work` (the temporary directory, with server.log), `base` (http://127.0.0.1:PORT),
# `password` (the super admin's) and `server_pid`.

stop_concierge() {
  if [ -n "${server_pid:-}" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "${work:-}" ]; then rm -rf "$work"; fi
}

serve_concierge() {
  local bin="${CONCIERGE_BIN:-}"
  if [ -z "$bin" ]; then
    cargo build --quiet -p concierge-server --bin concierge
    bin="${CARGO_TARGET_DIR:-target}/debug/concierge"
  fi
  work="$(mktemp -d)"
  server_pid=""
  trap stop_concierge EXIT
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  password="test-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
  base="http://127.0.0.1:$port"
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
    HOST=127.0.0.1 PORT="$port" WORKERS=2 \
    DATABASE_URL="sqlite://$work/concierge.db" UPLOAD_DIR="$work/uploads" \
    JWT_SECRET="test-secret-$(date +%s)-0123456789abcdef" \
    SUPER_ADMIN_USERNAME=admin SUPER_ADMIN_PASSWORD="$password" BCRYPT_COST=4 LOG_LEVEL=warn \
    RATE_LIMIT_REQUESTS=1000000 RATE_LIMIT_LOGIN_IP=1000000 RATE_LIMIT_LOGIN_ACCOUNT=1000000 \
    RATE_LIMIT_LOGIN_ACCOUNT_IP=1000000 RATE_LIMIT_REGISTER=1000000 RATE_LIMIT_DONOR_QUERIES=1000000 \
    "$@" "$bin" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "$base/api/v1/health/ping" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  cat "$work/server.log" >&2
  echo "concierge did not start" >&2
  return 1
}

#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with schemathesis (from PyPI): no
# 5xx and no response that breaks the schema. Starts `concierge` on a free port with a temporary
# SQLite database, logs in as the seeded super admin and passes the token to every request.
#
# Environment: SCHEMATHESIS_VENV (default target/schemathesis-venv), SCHEMATHESIS_MAX_EXAMPLES
# (default 25 per operation), SCHEMATHESIS_MAX_TIME (seconds, default 240), SCHEMATHESIS_ARGS
# (extra arguments), CONCIERGE_BIN (default: built with cargo into target/debug/concierge).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "installing schemathesis into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "schemathesis>=4,<5"
fi
"$venv/bin/schemathesis" --version

# shellcheck source=tests/serve.sh
source tests/serve.sh
# The fuzzer sends thousands of requests from one address (serve.sh lifts the limits).
serve_concierge ALLOW_SIGNUP=true

token="$(curl -fsS -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" "$base/api/v1/auth/login" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')"

# Some objects for the fuzzer to find: a donor query with a message, a task.
curl -fsS -H 'Content-Type: application/json' \
  -d '{"donor":"Dana","donorId":"d-1","message":"hello"}' "$base/api/v1/donor-queries" >/dev/null
curl -fsS -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
  -d '{"title":"First task","priority":"HIGH"}' "$base/api/v1/tasks" >/dev/null

status=0
# shellcheck disable=SC2086
"$venv/bin/schemathesis" --config-file tests/schemathesis.toml run "$base/api/v1/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --header "Authorization: Bearer $token" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  --max-time "${SCHEMATHESIS_MAX_TIME:-240}" \
  --request-timeout 30 \
  --seed "${SCHEMATHESIS_SEED:-$RANDOM}" \
  --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-target/schemathesis-report}" \
  ${SCHEMATHESIS_ARGS:-} || status=$?

if [ "$status" -ne 0 ]; then
  echo "--- server log (errors) ---" >&2
  grep -E 'ERROR|panicked' "$work/server.log" | tail -n 50 >&2 || true
fi
exit "$status"

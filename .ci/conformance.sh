#!/usr/bin/env bash
# Runs Microsoft's SCIM reference postman collection against a freshly
# started scimbridge with an empty store, and fails on any failed check
# (none is allowed to fail: see README "Conformance").
set -euo pipefail
cd "$(dirname "$0")/.."

collection="${CONFORMANCE_COLLECTION:-../shared/conformance/azuread-scim-reference.postman_collection.json}"
if [ ! -f "$collection" ]; then
  echo "conformance collection not found at $collection" >&2
  exit 1
fi

newman=.ci/node/node_modules/.bin/newman
if [ ! -x "$newman" ]; then
  npm install --prefix .ci/node --no-audit --no-fund --loglevel=error newman@6.2.2
fi

work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; wait "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/scimbridge" ./cmd/scimbridge

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
token=ci-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
SCIMBRIDGE_LISTEN=127.0.0.1:$port SCIMBRIDGE_DATA_DIR="$work/data" SCIMBRIDGE_TOKENS="$token" \
  SCIMBRIDGE_EXTERNAL_URL=http://127.0.0.1:$port SCIMBRIDGE_ADMIN_TOKEN=ci-admin \
  "$work/scimbridge" serve --config config.yaml >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server did not start:"; cat "$work/server.log"; exit 1; }

set +e
"$newman" run "$collection" \
  --env-var Protocol=http --env-var Server=127.0.0.1 --env-var Port=":$port" \
  --env-var Api=scim/v2 --env-var token="$token" \
  --reporters cli,json --reporter-json-export "$work/newman.json" --color off
rc=$?
set -e
failed=$(node -e 'const r=require(process.argv[1]); const s=r.run.stats.assertions; console.log(s.failed)' "$work/newman.json" 2>/dev/null || echo unknown)
total=$(node -e 'const r=require(process.argv[1]); console.log(r.run.stats.assertions.total)' "$work/newman.json" 2>/dev/null || echo unknown)
echo "conformance: $((total - failed)) passed, $failed failed"
if [ "$rc" -ne 0 ] || [ "$failed" != "0" ]; then
  echo "--- server log (tail)"; tail -50 "$work/server.log"
  exit 1
fi

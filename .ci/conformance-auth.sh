#!/usr/bin/env bash
# Runs Microsoft's SCIM reference collection twice more, signing in as Okta
# and Entra's gallery would: once with HTTP Basic (a scim.clients basic:
# client) and once with an OAuth access token from /oauth/token (client
# credentials). Each run gets a fresh server and an empty store; none of the
# checks may fail. See docs/notes/auth.md.
set -euo pipefail
cd "$(dirname "$0")/.."

collection="${CONFORMANCE_COLLECTION:-../shared/conformance/azuread-scim-reference.postman_collection.json}"
[ -f "$collection" ] || { echo "conformance collection not found at $collection" >&2; exit 1; }
newman=.ci/node/node_modules/.bin/newman
if [ ! -x "$newman" ]; then
  npm install --prefix .ci/node --no-audit --no-fund --loglevel=error newman@6.2.2
fi

work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; wait "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/scimbridge" ./cmd/scimbridge
rand() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export CI_BASIC_PASSWORD="ci-basic-$(rand)" CI_CLIENT_SECRET="ci-secret-$(rand)"

# start MODE: a fresh server with a basic and an oauth client.
start() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  rm -rf "$work/data"
  cat >"$work/config.yaml" <<YAML
listen: 127.0.0.1:$port
data_dir: $work/data
external_url: $base
admin_token: ci-admin-$1
scim:
  clients:
    - name: ci-basic
      basic: {username: ci-basic, password: "\${CI_BASIC_PASSWORD}"}
    - name: ci-oauth
      oauth: {client_id: ci-oauth, client_secrets: ["\${CI_CLIENT_SECRET}"], access_token_ttl: 1h}
YAML
  "$work/scimbridge" serve --config "$work/config.yaml" >"$work/server-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "server did not start:"; cat "$work/server-$1.log"; exit 1
}

stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# run MODE COLLECTION [newman args...]
run() {
  local mode=$1 coll=$2; shift 2
  set +e
  "$newman" run "$coll" --env-var Protocol=http --env-var Server=127.0.0.1 --env-var Port=":$port" \
    --env-var Api=scim/v2 "$@" --reporters cli,json --reporter-json-export "$work/newman-$mode.json" --color off >"$work/newman-$mode.txt"
  local rc=$?
  set -e
  local stats
  stats=$(node -e 'const s=require(process.argv[1]).run.stats.assertions; console.log(s.total, s.failed)' "$work/newman-$mode.json" 2>/dev/null || echo "0 unknown")
  read -r total failed <<<"$stats"
  echo "conformance ($mode): $((total - ${failed//unknown/0})) passed, $failed failed"
  # The requests really signed in as this mode's client.
  if ! grep -q "\"client\":\"ci-$mode\"" "$work/server-$mode.log"; then
    echo "no request of client ci-$mode in the server log"; rc=1
  fi
  if [ "$rc" -ne 0 ] || [ "$failed" != "0" ]; then
    tail -60 "$work/newman-$mode.txt"; echo "--- server log (tail)"; tail -30 "$work/server-$mode.log"; exit 1
  fi
}

# Basic: the collection's bearer auth replaced by HTTP Basic.
python3 - "$collection" "$work/basic.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
def fix(node):
    if isinstance(node, dict):
        if node.get("auth", {}) and node["auth"].get("type") == "bearer":
            node["auth"] = {"type": "basic", "basic": [
                {"key": "username", "value": "{{user}}", "type": "string"},
                {"key": "password", "value": "{{password}}", "type": "string"}]}
        for v in node.values():
            fix(v)
    elif isinstance(node, list):
        for v in node:
            fix(v)
fix(c)
json.dump(c, open(sys.argv[2], "w"))
PY
start basic
run basic "$work/basic.json" --env-var user=ci-basic --env-var password="$CI_BASIC_PASSWORD"
stop

# OAuth: an access token from the client credentials grant.
start oauth
token=$(curl -fsS -u "ci-oauth:$CI_CLIENT_SECRET" -d grant_type=client_credentials "$base/oauth/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
run oauth "$collection" --env-var token="$token"
stop

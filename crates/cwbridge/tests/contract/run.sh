#!/usr/bin/env bash
# Runs schemathesis, with every check, against the OpenAPI document of a live
# `cwbridge demo --auto`: once with the demo tenant's token (every tenant route), once with the
# operator token (tenant administration). Fails on any finding.
#
# Usage: run.sh CWBRIDGE_BINARY SCHEMATHESIS_BINARY
set -euo pipefail
cwbridge=$1
st=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api=$(port)
sandbox=$(port)
"$cwbridge" demo --auto --json --dir "$work/demo" --listen "127.0.0.1:$api" \
    --sandbox-listen "127.0.0.1:$sandbox" >"$work/demo.out" 2>"$work/demo.err" &
demo=$!
trap 'kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$api/api/openapi.json" -o /dev/null && [ -s "$work/demo/demo.json" ] && break
    sleep 1
done
token() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/demo/demo.json" "$1"; }
run() {
    # schemathesis keeps a cache in the directory it runs in: the work directory, not the clone.
    (cd "$work" && "$st" --config-file "$here/schemathesis.toml" run "http://127.0.0.1:$api/api/openapi.json" \
        --checks all --max-examples "${ST_EXAMPLES:-25}" --seed 1 --max-time "${ST_SECONDS:-60}" \
        --request-timeout 60 --no-color "$@")
}
# The request timeout matches max_response_time in schemathesis.toml.
failed=0
run -H "Authorization: Bearer $(token tenant_token)" --exclude-path-regex '^/api/v1/tenants' || failed=1
run -H "Authorization: Bearer $(token operator_token)" --include-path-regex '^/api/v1/tenants' || failed=1
exit $failed

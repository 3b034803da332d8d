#!/usr/bin/env bash
# Bad-input campaign over the native API: starts `herald serve --demo` on a throw-away SQLite
# database and a free loopback port, gives schemathesis an owner's API key, and lets it generate
# requests from /api/openapi.json (a bounded number per operation). Fails on any 5xx, any status
# the document does not list, or any answer that breaks its declared schema or content type.
#   scripts/schemathesis.sh [path/to/herald]   (default: target/debug/herald)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/herald}
examples=${SCHEMATHESIS_EXAMPLES:-30}

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HERALD_LOG=warn "$bin" serve --demo --listen "127.0.0.1:$port" --data-dir "$dir" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$dir"' EXIT
python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
PY
key=$("$bin" --data-dir "$dir" api-key create --name schemathesis --role owner | tail -1)

set +e
schemathesis run "http://127.0.0.1:$port/api/openapi.json" \
  -H "Authorization: Bearer $key" \
  --phases examples,coverage,fuzzing \
  --max-examples "$examples" -w 2 \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --no-color
status=$?
set -e
if grep -q "panicked" "$dir/server.log"; then
  echo "the server panicked:"
  grep -A3 "panicked" "$dir/server.log"
  exit 1
fi
exit $status

#!/usr/bin/env bash
# Read-path benchmark: Herald's public responses against the bare server in
# ../shared/bench/limit (one fixed body, no work per request: the practical ceiling here).
# Both serve the very same bytes, both run in this script, both get the same wrk load:
#   wrk -t2 -c64 -d10s  on /api/v2/summary.json, / and /incidents/{id}.
# Prints req/s, p99 latency and Herald's ratio to the ceiling for each path.
# Everything stays on 127.0.0.1 and every run is bounded by wrk's duration.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIMIT_DIR=${LIMIT_DIR:-$ROOT/../shared/bench/limit}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}

command -v wrk >/dev/null || {
  if [ "$(id -u)" = 0 ]; then apt-get update && apt-get install -y wrk; else sudo apt-get update && sudo apt-get install -y wrk; fi
}

cargo build --release --locked --bin herald >&2
cargo build --release --manifest-path "$LIMIT_DIR/Cargo.toml" --target-dir "$ROOT/target/limit" >&2
LIMIT_BIN=$ROOT/target/limit/release/limit

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

hport=$(free_port)
HERALD_LOG=warn ./target/release/herald serve --demo --listen "127.0.0.1:$hport" --data-dir "$work/data" &
pids+=($!)
wait_up "http://127.0.0.1:$hport/healthz"

incident=$(curl -fsS "http://127.0.0.1:$hport/api/v2/incidents.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["incidents"][-1]["id"])')
paths=("/api/v2/summary.json" "/" "/incidents/$incident")

# wrk's output → "req/s p99" (p99 in milliseconds).
measure() {
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$1" | awk '
    /Requests\/sec/ {rps=$2}
    /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p99=v}
    END {printf "%s %s\n", rps, p99}'
}

printf '%-34s %12s %10s %12s %10s %8s\n' path herald_rps p99_ms limit_rps p99_ms ratio
for path in "${paths[@]}"; do
  url="http://127.0.0.1:$hport$path"
  curl -fsS -D "$work/headers" -o "$work/body" "$url"
  ctype=$(awk -F': ' 'tolower($1)=="content-type" {sub(/\r$/,"",$2); print $2}' "$work/headers")
  lport=$(free_port)
  "$LIMIT_BIN" "127.0.0.1:$lport" "$work/body" "$ctype" 2>/dev/null &
  lpid=$!
  pids+=($lpid)
  wait_up "http://127.0.0.1:$lport/"
  read -r h_rps h_p99 < <(measure "$url")
  read -r l_rps l_p99 < <(measure "http://127.0.0.1:$lport$path")
  kill "$lpid" 2>/dev/null || true
  ratio=$(python3 -c "print(f'{$h_rps/$l_rps:.2f}')")
  label=$path
  [ "$path" = "/incidents/$incident" ] && label="/incidents/{id}"
  printf '%-34s %12s %10s %12s %10s %8s\n' "$label" "$h_rps" "$h_p99" "$l_rps" "$l_p99" "$ratio"
  echo "RESULT path=$label herald_rps=$h_rps herald_p99_ms=$h_p99 limit_rps=$l_rps limit_p99_ms=$l_p99 ratio=$ratio" >> "$work/results"
done
cat "$work/results"

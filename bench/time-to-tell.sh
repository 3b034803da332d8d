#!/usr/bin/env bash
# Time to tell: how long from a failure to the public knowing, and from recovery to resolved.
#
# A fresh Herald (embedded SQLite) holds one component watched by one HTTP monitor (10 s
# interval; defaults otherwise: down after 3 failed probes, re-probing every 2 s while unsure,
# up after 2 good ones) with automatic incidents set to publish and a QUIET-second quiet period
# before resolving (default 30). The flapping guard is off (FLAP=0) so the figure measures
# detection, not the guard; set FLAP to see its effect.
#
# The script stops the local target, then polls /api/v2/summary.json every 100 ms until the
# component leaves "operational" and an unresolved incident is listed; it starts the target
# again and polls until the incident is gone from the unresolved list. Bounded: each wait gives
# up after 120 s. Only 127.0.0.1 is contacted. The last line reads
#   RESULT time_to_status_s=.. time_to_incident_s=.. time_to_resolve_s=..
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIMIT_DIR=${LIMIT_DIR:-$ROOT/../shared/bench/limit}
QUIET=${QUIET:-30}
FLAP=${FLAP:-0}

cargo build --release --locked --bin herald >&2
cargo build --release --manifest-path "$LIMIT_DIR/Cargo.toml" --target-dir "$ROOT/target/limit" >&2
HERALD=$ROOT/target/release/herald
LIMIT_BIN=$ROOT/target/limit/release/limit

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 200); do curl -fsS -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

tport=$(free_port)
printf 'ok' >"$work/body"
start_target() {
  "$LIMIT_BIN" "127.0.0.1:$tport" "$work/body" "text/plain" 2>/dev/null &
  tpid=$!
  pids+=($tpid)
  wait_up "http://127.0.0.1:$tport/"
}
start_target

cat >"$work/page.toml" <<TOML
version = 1

[page]
id = "ttellpage001"
name = "Time to tell"
url = "http://127.0.0.1"
time_zone = "Etc/UTC"

[[components]]
id = "ttellwebsite"
name = "Website"
status = "operational"
created_at = "2026-01-01T00:00:00Z"
updated_at = "2026-01-01T00:00:00Z"

[[monitors]]
id = "ttellmonitor"
name = "Website home page"
component_id = "ttellwebsite"
interval_seconds = 10
timeout_ms = 2000
flap_window_seconds = $FLAP

[monitors.probe]
type = "http"
url = "http://127.0.0.1:$tport/"

[[automation]]
component_id = "ttellwebsite"
incidents = "publish"
quiet_period_seconds = $QUIET
TOML

export HERALD_LOG=warn
"$HERALD" import --data-dir "$work/data" "$work/page.toml" >&2
hport=$(free_port)
"$HERALD" serve --listen "127.0.0.1:$hport" --data-dir "$work/data" &
pids+=($!)
wait_up "http://127.0.0.1:$hport/healthz"
summary="http://127.0.0.1:$hport/api/v2/summary.json"

# Prints "component_status unresolved_incidents" from the summary.
state() {
  curl -fsS "$summary" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["components"][0]["status"], len(s["incidents"]))'
}

# Let the monitor settle: a first good probe within one interval.
sleep 12
read -r status open < <(state)
[ "$status" = operational ] && [ "$open" = 0 ] || { echo "not settled: $status $open" >&2; exit 1; }

now() { date +%s.%N; }
kill "$tpid"; wait "$tpid" 2>/dev/null || true
t0=$(now); t_status=""; t_incident=""
while :; do
  read -r status open < <(state)
  t=$(now)
  [ -z "$t_status" ] && [ "$status" != operational ] && t_status=$t
  [ -z "$t_incident" ] && [ "$open" -gt 0 ] && t_incident=$t
  [ -n "$t_status" ] && [ -n "$t_incident" ] && break
  python3 -c "import sys; sys.exit(0 if $t - $t0 < 120 else 1)" || { echo "gave up waiting for the incident" >&2; exit 1; }
  sleep 0.1
done
echo "component $status, incident open" >&2

start_target
t1=$(now)
while :; do
  read -r status open < <(state)
  t=$(now)
  [ "$open" = 0 ] && [ "$status" = operational ] && break
  python3 -c "import sys; sys.exit(0 if $t - $t1 < 120 + $QUIET else 1)" || { echo "gave up waiting for the resolution" >&2; exit 1; }
  sleep 0.1
done
t_resolved=$(now)
python3 -c "
print(f'RESULT time_to_status_s={$t_status - $t0:.1f} time_to_incident_s={$t_incident - $t0:.1f} time_to_resolve_s={$t_resolved - $t1:.1f}')"

#!/usr/bin/env bash
# Monitor scheduling benchmark: MONITORS HTTP monitors (default 10,000) at a 30 s interval,
# all probing the bare local server from ../shared/bench/limit on 127.0.0.1.
#
# The monitors come from a data file imported before `herald serve` starts, so the scheduler
# spreads their first runs over one interval the way it does on any restart. After WARMUP
# seconds the drift samples are reset; over the next MEASURE seconds the script samples
# Herald's CPU time (from /proc) and resident memory, then reads the scheduler's drift figures
# (how late each probe started after its due instant) from /api/herald/v1/monitoring/stats.
#
# Bounded: the run lasts WARMUP + MEASURE seconds (default 40 + 90) and touches only
# 127.0.0.1. The last line reads
#   RESULT monitors=N drift_p50_ms=.. drift_p99_ms=.. cpu_pct=.. rss_mb=..
# where cpu_pct is per cent of one core and rss_mb the peak resident set during the run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIMIT_DIR=${LIMIT_DIR:-$ROOT/../shared/bench/limit}
MONITORS=${MONITORS:-10000}
INTERVAL=${INTERVAL:-30}
WARMUP=${WARMUP:-40}
MEASURE=${MEASURE:-90}

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

# The target: one fixed body for every path, no work per request.
tport=$(free_port)
printf 'ok' >"$work/body"
"$LIMIT_BIN" "127.0.0.1:$tport" "$work/body" "text/plain" 2>/dev/null &
pids+=($!)
wait_up "http://127.0.0.1:$tport/"

python3 - "$work/monitors.json" "$MONITORS" "$INTERVAL" "$tport" <<'PY'
import json, sys
path, n, interval, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
doc = {
    "version": 1,
    "page": {"id": "benchpage001", "name": "Bench", "url": "http://127.0.0.1", "time_zone": "Etc/UTC"},
    "components": [{"id": "benchcompo01", "name": "Target", "status": "operational",
                    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}],
    "monitors": [
        {
            "id": f"m{i:011d}",
            "name": f"target {i}",
            "probe": {"type": "http", "url": f"http://127.0.0.1:{port}/check/{i}"},
            "interval_seconds": interval,
            "timeout_ms": 5000,
        }
        for i in range(n)
    ],
}
json.dump(doc, open(path, "w"))
PY

export HERALD_LOG=warn
"$HERALD" import --data-dir "$work/data" "$work/monitors.json" >&2
key=$("$HERALD" api-key create --data-dir "$work/data" --name bench --role editor | tail -n 1 | awk '{print $NF}')
hport=$(free_port)
"$HERALD" serve --listen "127.0.0.1:$hport" --data-dir "$work/data" &
hpid=$!
pids+=($hpid)
wait_up "http://127.0.0.1:$hport/healthz"
stats() { curl -fsS -H "Authorization: Bearer $key" "http://127.0.0.1:$hport/api/herald/v1/monitoring/stats"; }

echo "warming up for ${WARMUP}s with $MONITORS monitors every ${INTERVAL}s" >&2
sleep "$WARMUP"
curl -fsS -X DELETE -H "Authorization: Bearer $key" "http://127.0.0.1:$hport/api/herald/v1/monitoring/stats" >/dev/null

ticks() { awk '{print $14 + $15}' "/proc/$hpid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(date +%s.%N); c0=$(ticks); peak=0
end=$(( $(date +%s) + MEASURE ))
while [ "$(date +%s)" -lt "$end" ]; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$hpid/status")
  [ "$rss" -gt "$peak" ] && peak=$rss
  sleep 1
done
t1=$(date +%s.%N); c1=$(ticks)
stats >"$work/stats.json"
cat "$work/stats.json" >&2; echo >&2

python3 - "$work/stats.json" "$MONITORS" "$t0" "$t1" "$c0" "$c1" "$hz" "$peak" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2]); t0, t1 = float(sys.argv[3]), float(sys.argv[4])
c0, c1, hz, peak_kb = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
cpu = (c1 - c0) / hz / (t1 - t0) * 100
print(f"probes measured: {s['drift_samples']} (expected about {n * (t1 - t0) / 30:.0f})")
print(f"RESULT monitors={n} drift_p50_ms={s['drift_p50_ms']} drift_p99_ms={s['drift_p99_ms']} "
      f"cpu_pct={cpu:.1f} rss_mb={peak_kb / 1024:.0f}")
PY

#!/usr/bin/env bash
# Chaos: several Herald instances on one throw-away PostgreSQL under a steady write load with
# webhook fan-out, instances killed with SIGKILL at random moments and restarted, and PostgreSQL
# stopped and restarted mid-run. The driver is crates/herald/examples/chaos.rs; it checks that
# every acknowledged write is stored, every subscriber was told of every acknowledged incident
# (counted by delivery id at a local HTTP sink) and that all instances end up serving the same
# summary. Only 127.0.0.1 is contacted; the run is bounded by SECONDS (first argument, default 60) plus at most
# 90 s of draining. The last line reads
#   RESULT writes_acked=.. writes_lost=.. notifications_lost=.. stale_served=.. snapshots_agree=..
#   bench/chaos.sh [SECONDS]   (INSTANCES=3 SUBSCRIBERS=50 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
run_seconds=${SECONDS_TO_RUN:-${1:-60}}
instances=${INSTANCES:-3}
subscribers=${SUBSCRIBERS:-50}

cargo build --release --locked --bin herald --example chaos >&2
target/release/examples/chaos --herald target/release/herald \
  --seconds "$run_seconds" --instances "$instances" --subscribers "$subscribers"

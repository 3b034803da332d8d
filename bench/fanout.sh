#!/usr/bin/env bash
# Fan-out: how fast one incident reaches N subscribers (default 100,000).
#
# The driver (crates/herald/examples/fanout.rs) writes the example page and N active
# subscribers into a fresh SQLite database, starts `herald serve` on it (release build), opens
# an incident through the native API and waits until a local HTTP sink has taken one delivery
# per subscriber; then it does the same on a fresh database with email subscribers and a local
# SMTP sink. Time runs from the API call to the last delivery taken; CPU and peak RSS are read
# from /proc for the Herald process. Only 127.0.0.1 is contacted; each phase gives up after
# LIMIT seconds (default 300). The last line reads
#   RESULT subscribers=N webhook_s=.. email_s=.. lost=.. duplicates=.. rss_mb=..
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-${1:-100000}}
LIMIT=${LIMIT:-300}

cargo build --release --locked --bin herald --example fanout >&2
target/release/examples/fanout --herald target/release/herald --subscribers "$N" --limit-seconds "$LIMIT"

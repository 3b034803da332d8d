#!/usr/bin/env bash
# Runs every fuzz target for a bounded time with cargo-fuzz (libFuzzer; needs a nightly
# toolchain): the Markdown renderer, the data-file importer's parser, the configuration loader,
# the alert payload parsers and the form parser. Seeds come from fuzz/seeds; the corpus grows
# in fuzz/corpus.
#   FUZZ_SECONDS=60 bench/fuzz.sh [target...]
# Prints one line per target, `RESULT target=.. seconds=.. runs=.. crashes=..`, and exits non-zero
# when a target found a crash (its input is kept under fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-60}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(markdown datafile config payloads form)

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true
  log=$(mktemp)
  set +e
  cargo "+$toolchain" fuzz run "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | awk '{print $2}' | tail -1 || true)
  crashes=0
  if [ "$rc" != 0 ]; then
    crashes=1
    status=1
    tail -40 "$log"
  fi
  echo "RESULT target=$t seconds=$seconds runs=${runs:-0} crashes=$crashes"
  rm -f "$log"
done
exit $status

#!/usr/bin/env bash
# Herald's whole test suite, from a fresh Debian machine with Rust:
#   installs what the tests need (PostgreSQL server binaries, Prometheus Alertmanager, Chromium,
#   Node.js, the e2e npm packages, schemathesis, moto), then runs formatting and lint checks, every Rust test on SQLite and on a
#   throw-away PostgreSQL cluster the tests start themselves, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

need_packages=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_packages+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium chromium-driver)
command -v node >/dev/null 2>&1 || need_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || need_packages+=(npm)
# A real Prometheus Alertmanager delivers alerts to Herald in tests/it/monitors.rs.
command -v prometheus-alertmanager >/dev/null 2>&1 || need_packages+=(prometheus-alertmanager)
if [ "${#need_packages[@]}" -gt 0 ]; then
  log "installing ${need_packages[*]}"
  as_root apt-get update
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y "${need_packages[@]}"
fi

if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
  log "openapi-spec-validator (checks /api/openapi.json)"
  python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator
fi
if ! python3 -c 'import moto.server, flask' 2>/dev/null; then
  log "moto (a local S3-compatible server for the bucket mirror test)"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
fi
if ! command -v schemathesis >/dev/null 2>&1; then
  log "schemathesis (generated requests against /api/openapi.json)"
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

log "npm packages for the browser tests"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test (SQLite and PostgreSQL)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo build --locked --bin herald
set +e
cargo test --workspace --locked 2>&1 | tee "$out"
rust_status=${PIPESTATUS[0]}
set -e
sqlite_n=$(grep -cE '^test sqlite::.* ok$' "$out" || true)
postgres_n=$(grep -cE '^test postgres::.* ok$' "$out" || true)
rust_passed=$(awk '/^test result:/ {for (i=1;i<=NF;i++) if ($(i)=="passed;") s+=$(i-1)} END {print s+0}' "$out")
rust_failed=$(awk '/^test result:/ {for (i=1;i<=NF;i++) if ($(i)=="failed;") s+=$(i-1)} END {print s+0}' "$out")
echo "store contract tests passed: sqlite ${sqlite_n}, postgres ${postgres_n}"
[ -f target/tmp/fanout-crash.txt ] && cat target/tmp/fanout-crash.txt
if [ "$rust_status" != 0 ]; then
  echo "cargo test failed"
  exit "$rust_status"
fi
if [ "$sqlite_n" = 0 ] || [ "$postgres_n" = 0 ]; then
  echo "the store contract suite did not run on both engines"
  exit 1
fi

log "schemathesis over /api/openapi.json"
scripts/schemathesis.sh target/debug/herald

log "browser tests (Chromium)"
set +e
HERALD_BIN="$PWD/target/debug/herald" node --test --test-reporter=spec e2e/ 2>&1 | tee "$out"
e2e_status=${PIPESTATUS[0]}
set -e
e2e_passed=$(grep -E '^ℹ pass ' "$out" | awk '{print $3}' | tail -1)
e2e_failed=$(grep -E '^ℹ fail ' "$out" | awk '{print $3}' | tail -1)
if [ "$e2e_status" != 0 ]; then
  echo "browser tests failed"
  exit "$e2e_status"
fi

echo
echo "tests: $((rust_passed + ${e2e_passed:-0})) passed, $((rust_failed + ${e2e_failed:-0})) failed"

#!/usr/bin/env bash
# End-to-end worker benchmark on the dev broker, release build: bulk (200 commands of 1000
# lines), single-line commands (100 000 by default) against a passthrough worker in the same
# run, and the worker's peak memory; on SQLite, then the bulk and single-line runs again on a
# throwaway PostgreSQL server. Usage: ops/bench-worker.sh [SINGLE_COMMANDS]
set -euo pipefail
cd "$(dirname "$0")/.."

ops/setup.sh
swift build -c release --product payment-worker
swift build -c release --product payment-bench
pw=.build/release/payment-worker
bench=.build/release/payment-bench
single=${1:-100000}
work=$(mktemp -d "${TMPDIR:-/tmp}/payment-worker-bench.XXXXXX")
pids=()
pg_dir=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [ -n "$pg_dir" ]; then ops/postgres.sh stop "$pg_dir"; fi
  rm -rf "$work"
}
trap cleanup EXIT

# One run of a worker on a fresh broker and a fresh store (SQLite file, or a new database on
# $pg_url when set): prints the benchmark's line and the peak memory.
measure() {
  local label=$1 commands=$2 lines=$3; shift 3
  "$pw" broker --partitions 4 >"$work/broker.out" 2>/dev/null &
  local broker=$!; pids+=("$broker")
  until [ -s "$work/broker.out" ]; do sleep 0.1; done
  local address; address=$(head -n 1 "$work/broker.out")
  rm -f "$work"/*.sqlite*
  local store="sqlite:$work/$label.sqlite"
  if [ -n "${pg_url:-}" ]; then
    psql -q "$pg_url" -c "CREATE DATABASE bench_${label//-/_}" >/dev/null
    store="${pg_url/\/postgres\?//bench_${label//-/_}?}"
  fi
  "$pw" run --bootstrap-servers "$address" --dev --store "$store" "$@" 2>"$work/$label.err" &
  local worker=$!; pids+=("$worker")
  # The clock starts with the worker in its group.
  until grep -q "partitions assigned" "$work/$label.err"; do sleep 0.1; done
  "$bench" worker --bootstrap-servers "$address" --commands "$commands" --lines "$lines" --label "$label" | tee "$work/$label.result"
  echo "$label: worker peak memory $(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' /proc/$worker/status)"
  kill -TERM "$worker"; wait "$worker" || true
  kill -TERM "$broker"; wait "$broker" || true
  rm -f "$work/broker.out"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
measure bulk 200 1000
measure passthrough "$single" 1 --passthrough
measure single "$single" 1
# The single-line target is a ratio to the passthrough run of the same invocation.
rate() { grep -o '= [0-9]* commands/s' "$work/$1.result" | grep -o '[0-9]*'; }
awk -v single="$(rate single)" -v passthrough="$(rate passthrough)" \
  'BEGIN { printf "single: %.2fx the passthrough run (target 0.9x)\n", single / passthrough }'

# What SQLite alone takes for the rows of both runs on this machine (README, "Ceilings"):
# single-line needs the passthrough's CPU a command plus at least SQLite's own time, and
# the one SQLite writer thread cannot go faster than SQLite's time a command either.
"$bench" sqlite-floor --folder "$work" | tee "$work/floor.result"
floor() { grep "sqlite-floor $1, $2" "$work/floor.result" | grep -o "[0-9.]* us a $3" | grep -o "^[0-9.]*"; }
busy=$(grep -o "busy [0-9]*" "$work/passthrough.result" | grep -o "[0-9]*")
awk -v passthrough="$(rate passthrough)" -v busy="$busy" -v cores="$(nproc)" \
    -v inserts="$(floor single "inserts only" command)" -v lookups="$(floor single "inserts and" command)" \
    -v bulk="$(floor bulk "inserts only" line)" '
  function ceiling(store) { cpu = 1 / (busy / 100 + passthrough * store / 1e6 / cores); one = 1e6 / store / passthrough; return cpu < one ? cpu : one }
  BEGIN {
    printf "ceiling: passthrough used %.1f us of CPU a command (%d%% of %d cores); with SQLite alone taking %.1f us (inserts only) to %.1f us (with the lookups) more, single-line reaches at most %.2fx to %.2fx of it (target 0.9x)\n", 1e6 * cores * busy / 100 / passthrough, busy, cores, inserts, lookups, ceiling(inserts), ceiling(lookups)
    printf "ceiling: SQLite alone writes the bulk run rows at %.0f lines/s on its one writer (target 200000)\n", 1e6 / bulk }'

pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/payment-worker-bench-pg.XXXXXX")
pg_url=$(ops/postgres.sh start "$pg_dir" | tail -n 1)
measure pg-bulk 200 1000
measure pg-single "$single" 1

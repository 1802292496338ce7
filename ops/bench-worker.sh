#!/usr/bin/env bash
# End-to-end worker benchmark on the dev broker, release build: bulk (200 commands of 1000
# lines), single-line commands (100 000 by default), and the same single-line stream through
# `payment-bench passthrough` (a consume-and-reply loop on the same Kafka layer, no parsing,
# no store: the baseline). For each: throughput, the measured process's CPU time a command
# and a line (utime + stime from /proc/PID/stat over the measured span) and its peak RSS
# (VmHWM), as medians of RUNS rounds (default 3) taken in turn; then bulk and single-line on
# a throwaway PostgreSQL server. Usage: [RUNS=n] ops/bench-worker.sh [SINGLE_COMMANDS]
set -euo pipefail
cd "$(dirname "$0")/.."

ops/setup.sh
swift build -c release --product payment-worker
swift build -c release --product payment-bench
pw=.build/release/payment-worker
bench=.build/release/payment-bench
single=${1:-100000}
runs=${RUNS:-3}
ticks=$(getconf CLK_TCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/payment-worker-bench.XXXXXX")
pids=()
pg_dir=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [ -n "$pg_dir" ]; then ops/postgres.sh stop "$pg_dir"; fi
  rm -rf "$work"
}
trap cleanup EXIT

# CPU time a process has used so far, in clock ticks (utime + stime; the fields after the
# parenthesised name, which may hold spaces).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# One run on a fresh broker and a fresh store (SQLite file, or a new database on $pg_url when
# set): `worker` runs payment-worker, `passthrough` the baseline. Prints the benchmark's lines
# and appends "label commands/s lines/s cpu-us/command cpu-us/line peak-MiB" to the summary.
measure() {
  local label=$1 commands=$2 lines=$3 process=$4
  "$pw" broker --partitions 4 >"$work/broker.out" 2>/dev/null &
  local broker=$!; pids+=("$broker")
  until [ -s "$work/broker.out" ]; do sleep 0.1; done
  local address; address=$(head -n 1 "$work/broker.out")
  rm -f "$work"/*.sqlite*
  local store="sqlite:$work/$label.sqlite"
  if [ -n "${pg_url:-}" ]; then
    PGOPTIONS=--client-min-messages=warning psql -q "$pg_url" -c "DROP DATABASE IF EXISTS bench_${label//-/_}" -c "CREATE DATABASE bench_${label//-/_}" >/dev/null
    store="${pg_url/\/postgres\?//bench_${label//-/_}?}"
  fi
  if [ "$process" = passthrough ]; then
    "$bench" passthrough --bootstrap-servers "$address" 2>"$work/$label.err" &
  else
    "$pw" run --bootstrap-servers "$address" --dev --store "$store" 2>"$work/$label.err" &
  fi
  local measured=$!; pids+=("$measured")
  # The clock starts with the process in its group.
  until grep -q "partitions assigned" "$work/$label.err"; do sleep 0.1; done
  local before; before=$(cpu_ticks "$measured")
  "$bench" worker --bootstrap-servers "$address" --commands "$commands" --lines "$lines" --label "$label" | tee "$work/$label.result"
  local after; after=$(cpu_ticks "$measured")
  local peak; peak=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$measured/status")
  local rate; rate=$(grep -o '= [0-9]* commands/s, [0-9]* lines/s' "$work/$label.result" | grep -o '[0-9]*' | tr '\n' ' ')
  awk -v label="$label" -v rate="$rate" -v cpu="$((after - before))" -v ticks="$ticks" -v commands="$commands" \
      -v lines="$((commands * lines))" -v peak="$peak" 'BEGIN {
    split(rate, r, " "); seconds = cpu / ticks
    printf "%s: %s CPU %.2f s = %.1f us a command, %.2f us a line; peak RSS %d MiB\n", label, (label ~ /passthrough/ ? "passthrough" : "worker"), seconds, 1e6 * seconds / commands, 1e6 * seconds / lines, peak
    printf "%s %s %s %.1f %.2f %d\n", label, r[1], r[2], 1e6 * seconds / commands, 1e6 * seconds / lines, peak >> "'"$work/summary"'" }'
  kill -TERM "$measured"; wait "$measured" || true
  kill -TERM "$broker"; wait "$broker" || true
  rm -f "$work/broker.out"
}

# The median of each column over the rounds, per label.
medians() {
  for label in "$@"; do
    local rows; rows=$(awk -v label="$label" '$1 == label' "$work/summary")
    [ -n "$rows" ] || continue
    local count; count=$(echo "$rows" | wc -l)
    local line="| $label | $count |"
    for column in 2 3 4 5 6; do
      line="$line $(echo "$rows" | awk -v c="$column" '{ print $c }' | sort -g | sed -n "$(( (count + 1) / 2 ))p") |"
    done
    echo "$line"
  done
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
for round in $(seq "$runs"); do
  echo "round $round of $runs"
  measure bulk 200 1000 worker
  measure passthrough "$single" 1 passthrough
  measure single "$single" 1 worker
done
# What SQLite alone takes for exactly these rows on this machine: the floor under the
# worker's time a command and a line (docs/benchmarks.md).
"$bench" sqlite-floor --folder "$work"

pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/payment-worker-bench-pg.XXXXXX")
pg_url=$(ops/postgres.sh start "$pg_dir" | tail -n 1)
for round in $(seq "$runs"); do
  echo "round $round of $runs (PostgreSQL)"
  measure pg-bulk 200 1000 worker
  measure pg-single "$single" 1 worker
done
# What PostgreSQL alone takes for exactly these rows, one account's transactions one at a
# time as the account's lock makes them: the floor under the PostgreSQL figures.
"$bench" postgres-floor --url "$pg_url" 2>/dev/null

echo
echo "medians of $runs rounds ($(nproc) cores):"
echo "| run | rounds | commands/s | lines/s | CPU us a command | CPU us a line | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|"
medians bulk passthrough single pg-bulk pg-single

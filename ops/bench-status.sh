#!/usr/bin/env bash
# What status reports cost: the worker's CPU time a single-line command with a report every
# second (five times the default) against one an hour, alternated in the same run so that
# the machine's drift falls on both. Release build, dev broker, 100 000 commands a round.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/setup.sh
swift build -c release --product payment-worker
swift build -c release --product payment-bench
pw=.build/release/payment-worker
bench=.build/release/payment-bench
ticks=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
work=$(mktemp -d "${TMPDIR:-/tmp}/payment-worker-bench.XXXXXX")
for round in $(seq "${RUNS:-3}"); do
  for interval in 1 3600; do
    "$pw" broker --partitions 4 >"$work/broker.out" 2>/dev/null &
    broker=$!
    until [ -s "$work/broker.out" ]; do sleep 0.1; done
    address=$(head -n 1 "$work/broker.out")
    rm -f "$work"/*.sqlite*
    "$pw" run --bootstrap-servers "$address" --dev --store "sqlite:$work/b.sqlite" --status-interval-seconds "$interval" 2>"$work/w.err" &
    worker=$!
    until grep -q "partitions assigned" "$work/w.err"; do sleep 0.1; done
    before=$(cpu_ticks "$worker")
    "$bench" worker --bootstrap-servers "$address" --commands 100000 --lines 1 --label single > "$work/r.out"
    after=$(cpu_ticks "$worker")
    rate=$(grep -o '[0-9]* commands/s' "$work/r.out" | head -1)
    awk -v i="$interval" -v r="$round" -v c="$((after - before))" -v t="$ticks" -v rate="$rate" 'BEGIN { printf "round %d interval %4d s: %.1f us a command, %s\n", r, i, 1e6 * c / t / 100000, rate }'
    kill -TERM "$worker"; wait "$worker" || true
    kill -TERM "$broker"; wait "$broker" || true
    rm -f "$work/broker.out"
  done
done
rm -rf "$work"

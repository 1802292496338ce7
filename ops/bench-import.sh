#!/usr/bin/env bash
# Bulk-import benchmark, release build: a dev broker with 4 partitions and a worker on a
# fresh SQLite file; the same LINES-line UpdatePayments CSV (default 100 000, every line a
# new payment) posted through the HTTP gateway with curl, and sent with `payment-worker send`,
# RUNS times each (default 3), alternating, each run with its own PaymentImportedRefs. Prints
# lines/s of each run and the medians. Both cut the file into chunk commands of whole lines:
# the gateway by the producer's message.max.bytes and 10 000 lines, send by --chunk-lines.
# Every Kafka client fetches with fetch.wait.max.ms=FETCH_WAIT_MS (default 1), as in
# bench-gateway.sh.
# Usage: [LINES=n] [RUNS=n] [CHUNK_LINES=n] [FETCH_WAIT_MS=ms] ops/bench-import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ops/setup.sh >&2
swift build -c release --product payment-worker >&2
pw=.build/release/payment-worker
lines=${LINES:-100000}
runs=${RUNS:-3}
chunk_lines=${CHUNK_LINES:-10000}
kafka_args=(--kafka-property "fetch.wait.max.ms=${FETCH_WAIT_MS:-1}")
gateway_args=(--reply-timeout-seconds 600)
source ops/dev-stack.sh
api="http://127.0.0.1:$port/cloud/APILite/APILite.ashx?apiid=123&apikey=12345&action=UpdatePayments"

# A file of new payments for order Ref123, its refs prefixed so that no run updates another's.
make_file() {
  awk -v prefix="$1" -v n="$lines" 'BEGIN { print "OrderRef,PaymentImportedRef,Amount,Method"; for (i = 1; i <= n; i++) printf "Ref123,%s-%d,%d.25,Bench import\n", prefix, i, i % 1000 }' >"$work/$1.csv"
}
seconds_since() { awk -v now="$(date +%s.%N)" -v start="$1" 'BEGIN { print now - start }'; }
rate() { awk -v lines="$lines" -v seconds="$1" 'BEGIN { printf "%.0f", lines / seconds }'; }
check_rows() {
  local got
  got=$(($(wc -l <"$1") - 1))
  [ "$got" -eq "$lines" ] || { echo "bench-import: $2 answered $got rows, not $lines" >&2; exit 1; }
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); $lines lines ($(make_file size && du -h "$work/size.csv" | cut -f1)), $runs runs each"
echo "| run | gateway (curl) lines/s | send lines/s |"
echo "|---|---|---|"
gateway_rates=()
send_rates=()
for run in $(seq 1 "$runs"); do
  make_file "G$run"
  start=$(date +%s.%N)
  status=$(curl -s -o "$work/gateway.reply" -w '%{http_code}' -X POST "$api" --data-binary "@$work/G$run.csv")
  took=$(seconds_since "$start")
  [ "$status" = 200 ] || { echo "bench-import: the gateway answered $status: $(head -c 300 "$work/gateway.reply")" >&2; exit 1; }
  check_rows "$work/gateway.reply" gateway
  gateway_rates+=("$(rate "$took")")

  make_file "S$run"
  start=$(date +%s.%N)
  "$pw" send --bootstrap-servers "$address" --command UpdatePayments --apiid 123 --apikey 12345 \
    --chunk-lines "$chunk_lines" --progress never "$work/S$run.csv" >"$work/send.reply" 2>"$work/send.err"
  took=$(seconds_since "$start")
  check_rows "$work/send.reply" send
  send_rates+=("$(rate "$took")")
  echo "| $run | ${gateway_rates[-1]} | ${send_rates[-1]} |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
gateway_median=$(median "${gateway_rates[@]}")
send_median=$(median "${send_rates[@]}")
echo "| median | $gateway_median | $send_median |"
echo "gateway / send: $(awk -v g="$gateway_median" -v s="$send_median" 'BEGIN { printf "%.0f", 100 * g / s }') %"

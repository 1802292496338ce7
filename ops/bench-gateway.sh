#!/usr/bin/env bash
# HTTP gateway benchmark (DESIGN.md §8), release build: a dev broker with 4 partitions, a
# worker on a fresh SQLite file and a gateway, driven by wrk (a Debian package) with
# GetPayments and single-line UpdatePayments at 1, 64 and 512 connections, DURATION seconds
# each (default 10), and the same commands sent straight to Kafka by as many closed-loop
# clients (`payment-bench request-reply`), so that the gateway's own cost shows. Prints
# requests/s and latency p50/p99. Every Kafka client (worker, gateway, direct) fetches with
# fetch.wait.max.ms=FETCH_WAIT_MS (default 1): the dev broker answers a fetch only when that
# wait ends, so at the worker's 50 ms default every latency would come in 50 ms steps.
# Usage: [DURATION=s] [FETCH_WAIT_MS=ms] ops/bench-gateway.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ops/setup.sh >&2
swift build -c release --product payment-worker >&2
swift build -c release --product payment-bench >&2
pw=.build/release/payment-worker
bench=.build/release/payment-bench
duration=${DURATION:-10}
fetch_wait=(--kafka-property "fetch.wait.max.ms=${FETCH_WAIT_MS:-1}")
work=$(mktemp -d "${TMPDIR:-/tmp}/payment-gateway-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$pw" broker --partitions 4 >"$work/broker.out" 2>/dev/null &
pids+=("$!")
until [ -s "$work/broker.out" ]; do sleep 0.1; done
address=$(head -n 1 "$work/broker.out")
"$pw" run --bootstrap-servers "$address" "${fetch_wait[@]}" --dev --store "sqlite:$work/bench.sqlite" 2>"$work/worker.err" &
pids+=("$!")
until grep -q "partitions assigned" "$work/worker.err"; do sleep 0.1; done
"$pw" gateway --bootstrap-servers "$address" "${fetch_wait[@]}" --listen 127.0.0.1:0 2>"$work/gateway.err" &
pids+=("$!")
until grep -q "gateway listening" "$work/gateway.err"; do sleep 0.1; done
port=$(grep "gateway listening" "$work/gateway.err" | grep -o 'port=[0-9]*' | cut -d= -f2)
api="http://127.0.0.1:$port/cloud/APILite/APILite.ashx?apiid=123&apikey=12345"
curl -s -X POST "$api&action=UpdatePayments" --data-binary $'OrderRef,PaymentImportedRef,Amount\nRef123,Ref456,123.50\n' >/dev/null

# Each request a new payment: a PaymentImportedRef per thread and request.
cat >"$work/update.lua" <<'LUA'
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "text/csv" },
    "OrderRef,PaymentImportedRef,Amount\nRef123,W" .. id .. "-" .. counter .. "-" .. math.random(1000000000) .. ",1\n")
end
LUA
cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
LUA
cat "$work/report.lua" >>"$work/update.lua"

echo "fetch.wait.max.ms=${FETCH_WAIT_MS:-1} for every client; $duration s a cell"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); wrk $(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
echo "| command | path | connections | requests/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|"
row() { awk -v c="$1" -v p="$2" -v n="$3" '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", c, p, n, $2, $3, $4, $5 }'; }
for connections in 1 64 512; do
  threads=$(( connections < 2 ? 1 : 2 ))
  wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$work/report.lua" "$api&action=GetPayments&where=PaymentImportedRef%3D'Ref456'" \
    | grep '^RESULT' | row GetPayments "HTTP gateway" "$connections"
  "$bench" request-reply --bootstrap-servers "$address" "${fetch_wait[@]}" --command GetPayments --connections "$connections" --duration "$duration" \
    | grep '^RESULT' | row GetPayments "Kafka direct" "$connections"
  wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$work/update.lua" "$api&action=UpdatePayments" \
    | grep '^RESULT' | row "UpdatePayments, 1 line" "HTTP gateway" "$connections"
  "$bench" request-reply --bootstrap-servers "$address" "${fetch_wait[@]}" --command UpdatePayments --connections "$connections" --duration "$duration" \
    | grep '^RESULT' | row "UpdatePayments, 1 line" "Kafka direct" "$connections"
done

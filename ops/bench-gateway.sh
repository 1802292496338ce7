#!/usr/bin/env bash
# HTTP gateway benchmark (docs/contract.md §8), release build: a dev broker with 4 partitions, a
# worker on a fresh SQLite file and a gateway, driven by wrk (a Debian package) with
# GetPayments and single-line UpdatePayments at 1, 64 and 512 connections, DURATION seconds
# each (default 10), and the same commands sent straight to Kafka by as many closed-loop
# clients (`payment-bench request-reply`), so that the gateway's own cost shows. Prints
# requests/s and latency p50/p99. Every Kafka client (worker, gateway, direct) fetches with
# fetch.wait.max.ms=FETCH_WAIT_MS (default 1): the dev broker answers a fetch only when that
# wait ends, so at the worker's 50 ms default every latency would come in 50 ms steps.
# Each HTTP row also shows the serving process's CPU a request (utime + stime from
# /proc/PID/stat), and UpdatePayments runs once more against `payment-bench http-floor`:
# Hummingbird with the gateway's routes and a fixed answer, nothing behind it. The floor row
# is what HTTP alone costs on this machine, so the gateway's own share is the difference.
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
kafka_args=("${fetch_wait[@]}")
gateway_args=()
source ops/dev-stack.sh
"$bench" http-floor 2>"$work/floor.err" &
pids+=("$!")
floor_pid=$!
until grep -q "http floor listening" "$work/floor.err"; do sleep 0.1; done
floor_port=$(grep "http floor listening" "$work/floor.err" | grep -o 'port=[0-9]*' | cut -d= -f2)
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
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.requests))
end
LUA
cat "$work/report.lua" >>"$work/update.lua"

echo "fetch.wait.max.ms=${FETCH_WAIT_MS:-1} for every client; $duration s a cell"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); wrk $(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
echo "| command | path | connections | requests/s | p50 ms | p99 ms | errors | server CPU us/request |"
echo "|---|---|---|---|---|---|---|---|"
ticks_per_second=$(getconf CLK_TCK)
# CPU time a process has used so far, in clock ticks, as bench-worker.sh reads it (utime +
# stime; the fields after the parenthesised name, which may hold spaces).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# row COMMAND PATH CONNECTIONS [PID TICKS_BEFORE]: a RESULT line on stdin as a table row, with
# the CPU PID spent since TICKS_BEFORE a request when given.
row() {
  local result ticks=""
  result=$(cat) # all of it first: the pipe's writer has then finished
  if [ -n "${4:-}" ]; then ticks=$(( $(cpu_ticks "$4") - $5 )); fi
  echo "$result" | awk -v c="$1" -v p="$2" -v n="$3" -v t="$ticks" -v hz="$ticks_per_second" '{
    cpu = (t == "" || $6 == "" || $6 == 0) ? "-" : sprintf("%.0f", t * 1e6 / hz / $6)
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", c, p, n, $2, $3, $4, $5, cpu }'
}
for connections in 1 64 512; do
  threads=$(( connections < 2 ? 1 : 2 ))
  before=$(cpu_ticks "$gateway_pid")
  wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$work/report.lua" "$api&action=GetPayments&where=PaymentImportedRef%3D'Ref456'" \
    | grep '^RESULT' | row GetPayments "HTTP gateway" "$connections" "$gateway_pid" "$before"
  "$bench" request-reply --bootstrap-servers "$address" "${fetch_wait[@]}" --command GetPayments --connections "$connections" --duration "$duration" \
    | grep '^RESULT' | row GetPayments "Kafka direct" "$connections"
  before=$(cpu_ticks "$gateway_pid")
  wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$work/update.lua" "$api&action=UpdatePayments" \
    | grep '^RESULT' | row "UpdatePayments, 1 line" "HTTP gateway" "$connections" "$gateway_pid" "$before"
  "$bench" request-reply --bootstrap-servers "$address" "${fetch_wait[@]}" --command UpdatePayments --connections "$connections" --duration "$duration" \
    | grep '^RESULT' | row "UpdatePayments, 1 line" "Kafka direct" "$connections"
  before=$(cpu_ticks "$floor_pid")
  wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$work/update.lua" "http://127.0.0.1:$floor_port/cloud/APILite/APILite.ashx?apiid=123&apikey=12345&action=UpdatePayments" \
    | grep '^RESULT' | row "UpdatePayments, 1 line" "HTTP floor (no Kafka)" "$connections" "$floor_pid" "$before"
done

#!/usr/bin/env bash
# How long a worker killed with SIGKILL and restarted at once takes to answer again, with and
# without static membership (--instance-id), on the dev broker with the default session
# timeout (45 s). Prints one line per case.
#   ops/restart-time.sh [BINARY]   # default: a release build of payment-worker
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
  swift build -c release --product payment-worker >&2
  bin=$(swift build -c release --show-bin-path)/payment-worker
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/restart-time.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

send() { # prints the seconds send took to get its reply
  local start end
  start=$(date +%s%N)
  printf 'OrderRef,PaymentImportedRef,Amount\nRef123,%s,1\n' "$1" |
    "$bin" send --command UpdatePayments --apiid 123 --apikey 12345 --bootstrap-servers "$bootstrap" --timeout 300 >/dev/null
  end=$(date +%s%N)
  local ms=$(((end - start) / 1000000))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

for mode in ${MODES:-dynamic static}; do
  "$bin" broker >"$work/$mode.broker.out" 2>"$work/$mode.broker.err" &
  broker=$!
  until [ -s "$work/$mode.broker.out" ]; do sleep 0.1; done
  bootstrap=$(head -n 1 "$work/$mode.broker.out")
  extra=()
  [ "$mode" = static ] && extra=(--instance-id worker-1)
  start_worker() {
    "$bin" run --bootstrap-servers "$bootstrap" --dev --store "sqlite:$work/$mode.sqlite" --http-port 0 "${extra[@]}" \
      >/dev/null 2>>"$work/$mode.worker.err" &
    worker=$!
  }
  start_worker
  send "$mode-warm" >/dev/null
  kill -9 "$worker"
  wait "$worker" 2>/dev/null || true
  start_worker
  echo "$mode membership: first reply $(send "$mode-after") s after kill -9 and an immediate restart"
  kill -TERM "$worker"; wait "$worker" 2>/dev/null || true
  kill -TERM "$broker"; wait "$broker" 2>/dev/null || true
done

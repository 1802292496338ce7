#!/usr/bin/env bash
# Installs what is missing, builds in release mode, and runs the worker on its embedded
# default: a dev Kafka broker in-process (its address is the first line printed), a SQLite
# file under ./data, and the seed examples' account; beside it, the HTTP gateway on
# 127.0.0.1:8081 (PAYMENT_GATEWAY_LISTEN), serving the seeds' APIs. With arguments (or
# PAYMENT_WORKER_BOOTSTRAP_SERVERS set) it runs only `payment-worker run` with them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Set-up and build talk on standard error, so the worker's address stays the first line
# on standard output.
ops/setup.sh >&2
swift build -c release --product payment-worker >&2
pw=.build/release/payment-worker
if [ "$#" -gt 0 ] || [ -n "${PAYMENT_WORKER_BOOTSTRAP_SERVERS:-}" ]; then
  exec "$pw" run "$@"
fi

fifo=$(mktemp -u "${TMPDIR:-/tmp}/payment-worker-run.XXXXXX")
mkfifo "$fifo"
"$pw" run > "$fifo" &
worker=$!
exec 3< "$fifo"
rm -f "$fifo"
read -r address <&3
echo "$address"
cat <&3 &
"$pw" gateway --bootstrap-servers "$address" --listen "${PAYMENT_GATEWAY_LISTEN:-127.0.0.1:8081}" &
gateway=$!
# Ctrl-C or SIGTERM stops both: the gateway, then the worker (which drains and commits).
trap 'kill -TERM "$gateway" 2>/dev/null; wait "$gateway" || true; kill -TERM "$worker" 2>/dev/null' INT TERM
status=0
wait "$worker" || status=$?
kill -TERM "$gateway" 2>/dev/null || true
wait "$gateway" || true
exit "$status"

#!/usr/bin/env bash
# Installs what is missing, builds in release mode, and runs the worker on its embedded
# default: a dev Kafka broker in-process (its address is the first line printed), a SQLite
# file under ./data, and the seed examples' account; beside it, the HTTP gateway on
# 127.0.0.1:8081 (PAYMENT_GATEWAY_LISTEN), serving the seeds' APIs, and the operator console
# on 127.0.0.1:8082 (PAYMENT_CONSOLE_LISTEN) with a fresh random token, printed once on
# standard error. With arguments (or PAYMENT_WORKER_BOOTSTRAP_SERVERS set) it runs only
# `payment-worker run` with them.
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
# The console refuses to start without a token: a new one each run (32 random bytes in hex),
# handed over in the environment, not on the command line where ps shows it, and without a
# token file the caller may have set, so that the one printed is the one in force. It is
# printed beside the address, not in a URL: browser history and access logs keep URLs.
console_listen=${PAYMENT_CONSOLE_LISTEN:-127.0.0.1:8082}
token=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
env -u PAYMENT_CONSOLE_TOKEN_FILE PAYMENT_CONSOLE_TOKEN="$token" \
  "$pw" console --bootstrap-servers "$address" --listen "$console_listen" &
console=$!
echo "console: http://$console_listen  token: $token" >&2
# Ctrl-C or SIGTERM stops all three: the console and the gateway first, then the worker
# (which drains and commits). The worker ending by itself stops the other two.
stop_front() {
  kill -TERM "$console" "$gateway" 2>/dev/null || true
  wait "$console" "$gateway" 2>/dev/null || true
}
trap 'stop_front; kill -TERM "$worker" 2>/dev/null || true' INT TERM
status=0
wait "$worker" || status=$?
# A signal cuts that wait short while the worker is still draining: wait until it has ended,
# so the script returns after the worker, with its exit status.
while kill -0 "$worker" 2>/dev/null; do
  status=0
  wait "$worker" || status=$?
done
stop_front
exit "$status"

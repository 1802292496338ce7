# Sourced by the gateway and import benchmarks: a dev broker with 4 partitions, a worker on a
# fresh SQLite file and a gateway, every process stopped and the folder removed on exit.
# Needs `pw` (the payment-worker binary); takes extra arguments for every Kafka client in
# the array `kafka_args` and for the gateway in `gateway_args`. Sets `work` (the folder),
# `pids`, `address` (the broker), `port` and `gateway_pid`.
work=$(mktemp -d "${TMPDIR:-/tmp}/payment-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# Waits until FILE says PATTERN, failing at once if the process PID has ended and after 60 s.
wait_for() {
  local pattern=$1 file=$2 pid=$3 deadline=$((SECONDS + 60))
  until grep -q "$pattern" "$file"; do
    kill -0 "$pid" 2>/dev/null || { echo "dev-stack: the process ended before '$pattern':" >&2; tail -n 5 "$file" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "dev-stack: no '$pattern' within 60 s" >&2; exit 1; }
    sleep 0.1
  done
}

"$pw" broker --partitions 4 >"$work/broker.out" 2>/dev/null &
pids+=("$!")
until [ -s "$work/broker.out" ]; do sleep 0.1; done
address=$(head -n 1 "$work/broker.out")
"$pw" run --bootstrap-servers "$address" "${kafka_args[@]}" --dev --store "sqlite:$work/bench.sqlite" --http-port 0 2>"$work/worker.err" &
pids+=("$!")
wait_for "partitions assigned" "$work/worker.err" "$!"
"$pw" gateway --bootstrap-servers "$address" "${kafka_args[@]}" --listen 127.0.0.1:0 "${gateway_args[@]}" 2>"$work/gateway.err" &
pids+=("$!")
gateway_pid=$!
wait_for "gateway listening" "$work/gateway.err" "$gateway_pid"
port=$(grep "gateway listening" "$work/gateway.err" | grep -o 'port=[0-9]*' | cut -d= -f2)

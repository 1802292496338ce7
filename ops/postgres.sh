#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server (Debian's postgresql) on loopback for the tests, and
# prints its URL on the last line. `ops/postgres.sh stop DIR` stops one.
#   ops/postgres.sh start [DIR]   # DIR defaults to a new folder under ${TMPDIR:-/tmp}
#   ops/postgres.sh stop DIR
#   ops/postgres.sh down DIR      # stops the server and keeps its data (a fault test's outage)
#   ops/postgres.sh up DIR        # starts it again on the same port
# PG_EXTRA_OPTIONS adds server options, say "-c log_min_duration_statement=3" to find slow
# statements in DIR/server.log.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "postgres.sh: no PostgreSQL server; run ops/setup.sh" >&2; exit 1; }

# initdb and postgres refuse to run as root: run them as the postgres user then.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    dir=${2:-$(mktemp -d "${TMPDIR:-/tmp}/payment-worker-pg.XXXXXX")}
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # The first free port from 54320 on.
    port=54320
    while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
    options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 ${PG_EXTRA_OPTIONS:-}"
    echo "$options" >"$dir/options"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$options" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
  down)
    dir=${2:?usage: postgres.sh down DIR}
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  up)
    dir=${2:?usage: postgres.sh up DIR}
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/options")" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    dir=${2:?usage: postgres.sh stop DIR}
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: ops/postgres.sh start [DIR] | stop DIR | down DIR | up DIR" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Installs what is missing, starts a PostgreSQL server on loopback, then builds and runs
# every test (unit and integration, SQLite and PostgreSQL). Nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

ops/setup.sh

pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/payment-worker-pg.XXXXXX")
trap 'ops/postgres.sh stop "$pg_dir"' EXIT
PAYMENT_WORKER_TEST_POSTGRES_URL=$(ops/postgres.sh start "$pg_dir" | tail -n 1)
export PAYMENT_WORKER_TEST_POSTGRES_URL
echo "test: PostgreSQL at $PAYMENT_WORKER_TEST_POSTGRES_URL" >&2

swift build --build-tests
swift test "$@"

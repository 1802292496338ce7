#!/usr/bin/env bash
# Builds in release mode and prints the benchmark figures docs/benchmarks.md quotes: CSV reading
# (ours against CSV.swift), bulk upsert (SQLite and PostgreSQL stores against a bare GRDB
# loop) and single-line commands through the SQLite store. Starts a throwaway PostgreSQL
# server on loopback for the PostgreSQL figure.
set -euo pipefail
cd "$(dirname "$0")/.."

ops/setup.sh
swift build -c release --product payment-bench
bench=.build/release/payment-bench

pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/payment-worker-pg.XXXXXX")
trap 'ops/postgres.sh stop "$pg_dir"' EXIT
pg_url=$(ops/postgres.sh start "$pg_dir" | tail -n 1)

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
"$bench" csv "$@"
"$bench" upsert --postgres "$pg_url"
# Single-line commands as the worker batches them (a transaction of a partition's commands).
"$bench" upsert --batches 100000 --lines 1 --commands-per-transaction 200 --rounds 3

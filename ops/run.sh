#!/usr/bin/env bash
# Installs what is missing, builds in release mode, and runs the worker on its embedded
# default: a dev Kafka broker in-process (its address is the first line printed), a SQLite
# file under ./data, and the seed examples' account. Extra arguments go to `payment-worker run`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Set-up and build talk on standard error, so the worker's address stays the first line
# on standard output.
ops/setup.sh >&2
swift build -c release --product payment-worker >&2
exec .build/release/payment-worker run "$@"

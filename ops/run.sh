#!/usr/bin/env bash
# Installs what is missing, builds in release mode, and runs payment-worker on its embedded
# default: a dev Kafka broker on loopback, printed on the first line.
set -euo pipefail
cd "$(dirname "$0")/.."

ops/setup.sh
swift build -c release --product payment-worker
exec .build/release/payment-worker broker "$@"

#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test (unit and integration).
set -euo pipefail
cd "$(dirname "$0")/.."

ops/setup.sh
swift build --build-tests
swift test "$@"

#!/usr/bin/env bash
# Installs what building, running and testing payment-worker need on Debian, and nothing
# when all of it is there already.
set -euo pipefail

packages=(
  pkg-config librdkafka-dev   # the Kafka layer links Debian's librdkafka
  kcat                        # an outside Kafka client, used by the tests
  libsqlite3-dev sqlite3      # the embedded store
  postgresql                  # the server the PostgreSQL tests start on loopback
  e2fsprogs                   # mkfs.ext4 and chattr, for the read-only-file fault test
  wrk                         # the HTTP load tool of the gateway benchmark
  chromium chromium-driver    # a real headless browser, driven over WebDriver by the console's tests
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: no swift on PATH; install Swift 6.1 or later from swift.org first" >&2
  exit 1
fi

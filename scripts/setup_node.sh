#!/usr/bin/env bash
# Node packages for the server and web UI tests (tests/server): installs nodejs/npm from Debian if they are
# missing, then the pinned packages of tests/server/package-lock.json (the openai client, playwright-core;
# the browser itself is Debian's chromium from scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../tests/server"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

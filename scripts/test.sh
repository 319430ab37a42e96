#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Node packages for the server and web UI tests (the openai client, playwright-core), when that script exists.
[ -x scripts/setup_node.sh ] && scripts/setup_node.sh
cd build && ctest --output-on-failure --parallel "$(nproc)" --timeout 900

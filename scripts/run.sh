#!/usr/bin/env bash
# Installs dependencies, builds, and runs the main job: greedy generation with a bundled reference checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
./build/whale generate --model tests/fixtures/models/deepseek-v3-tiny --ids 0,17,42,99 -n 24

#!/usr/bin/env bash
# Builds whale with AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer (-DWHALE_SANITIZE=ON)
# into build-asan/ and runs the test suite there. Any report fails the test that triggered it.
#   scripts/sanitize.sh                  the whole suite
#   scripts/sanitize.sh -R 'Tokenizer'   extra arguments go to ctest (here: a subset)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DWHALE_SANITIZE=ON -DCMAKE_CXX_FLAGS=-g1 >/dev/null
cmake --build build-asan
source scripts/sanitizer_options.sh
cd build-asan
ctest --output-on-failure --parallel "$(nproc)" --timeout 1800 "$@"

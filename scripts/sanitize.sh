#!/usr/bin/env bash
# Builds whale with AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer (-DWHALE_SANITIZE=ON)
# into build-asan/ and runs the test suite there. Any report fails the test that triggered it.
#   scripts/sanitize.sh                  the whole suite
#   scripts/sanitize.sh -R 'Tokenizer'   extra arguments go to ctest (here: a subset)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DWHALE_SANITIZE=ON -DCMAKE_CXX_FLAGS=-g1 >/dev/null
cmake --build build-asan
# LeakSanitizer is part of ASan on Linux; detect_leaks=1 makes the choice explicit (a leak fails the test).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan
ctest --output-on-failure --parallel "$(nproc)" --timeout 1800 "$@"

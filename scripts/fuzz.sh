#!/usr/bin/env bash
# libFuzzer targets (fuzz/<target>.cc, seeds in fuzz/corpus/<target>/), built with clang + ASan + UBSan
# into build-fuzz/.
#   scripts/fuzz.sh --list             target names, one per line
#   scripts/fuzz.sh --build            configure (if needed) and build every target
#   scripts/fuzz.sh --tests            build and run the parser unit tests (whale_parser_tests) under the
#                                      same sanitizers: the fast sanitizer subset that CI runs
#   scripts/fuzz.sh TARGET SECONDS     build if needed, then fuzz TARGET for SECONDS starting from its seeds
# The run works on a scratch copy of the seeds (the committed corpus never grows). Exit status is non-zero
# on a crash, sanitizer report, leak, timeout (-timeout, a hang) or out-of-memory (-rss_limit_mb, and any
# single allocation above it); the reproducer is kept in build-fuzz/artifacts/TARGET/.
# Re-run a reproducer: build-fuzz/fuzz_TARGET build-fuzz/artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-fuzz

targets() { for f in fuzz/*.cc; do basename "$f" .cc; done; }

build_targets() {
  if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWHALE_FUZZ=ON \
      -DBUILD_TESTING=OFF -DCMAKE_CXX_FLAGS="-gline-tables-only" >/dev/null
  fi
  cmake --build "$build" --target "$@"
}

case "${1:-}" in
  --list) targets; exit 0 ;;
  --build) mapfile -t all < <(targets); build_targets "${all[@]/#/fuzz_}"; exit 0 ;;
  --tests)
    build_targets whale_parser_tests
    source scripts/sanitizer_options.sh
    exec "$build/whale_parser_tests" ;;
esac
if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]] || [ ! -f "fuzz/$1.cc" ]; then
  echo "usage: $0 --list | --build | --tests | TARGET SECONDS   (targets: $(targets | tr '\n' ' '))" >&2
  exit 2
fi
target=$1 seconds=$2
build_targets "fuzz_$target" >&2

# Tokenizer files are larger than the other inputs.
max_len=4096
[ "$target" = tokenizer_json ] && max_len=16384

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/corpus" "$build/artifacts/$target"
cp fuzz/corpus/"$target"/* "$scratch/corpus/"
set +e
"$build/fuzz_$target" "$scratch/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
  -timeout=20 -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$build/artifacts/$target/"
status=$?
set -e
if [ $status -ne 0 ]; then
  echo "fuzz.sh: $target FAILED (exit $status); reproducer in $build/artifacts/$target/" >&2
fi
exit $status

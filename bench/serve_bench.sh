#!/usr/bin/env bash
# Serving benchmark: aggregate generated tokens/s and time to first token at 1, 4 and 16 concurrent streams
# (greedy chat requests with 64 new tokens) against `whale serve --parallel 16`. One JSON line per level.
# Usage: bench/serve_bench.sh MODEL_DIR [MAX_TOKENS=64] [ROUNDS=2]
#   MODEL_DIR needs tokenizer files. For a random-weight model, tokenizer files can be copied in, e.g.:
#   build/whale init --config bench/deepseek-v2-lite-4layer.json --out /tmp/v2lite4 --seed 1
#   cp tests/fixtures/tokenizer/deepseek-v3/tokenizer*.json /tmp/v2lite4/
#   (the fixture-sized test model build/server_test_model is written by the server tests).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: bench/serve_bench.sh MODEL_DIR [MAX_TOKENS] [ROUNDS]}
max_tokens=${2:-64}
rounds=${3:-2}
whale=${WHALE:-build/whale}
log=$(mktemp)
"$whale" serve --model "$model" --port 0 --parallel 16 --ctx "${CTX:-0}" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 600); do
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log" || true)
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
[ -n "$url" ] || { echo "whale serve did not start" >&2; cat "$log"; exit 1; }
node bench/serve_load.mjs "$url" 1 "$max_tokens" 1 >/dev/null  # warm-up
for streams in 1 4 16; do
  node bench/serve_load.mjs "$url" "$streams" "$max_tokens" "$rounds"
done

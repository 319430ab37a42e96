#!/usr/bin/env bash
# whale against llama.cpp on the same GGUF file, same threads, alternating rounds: decode (tokens/s after a
# 64-token context) and prefill (256 tokens). Prints one JSON line per round and engine, then the median
# tokens/s of each and their ratio, with the load average before and after (llama.cpp's spinning threads
# suffer on a loaded machine: compare on a quiet one).
# Usage: bench/gguf_vs_llama_cpp.sh MODEL.gguf [THREADS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
threads=${2:-$(nproc)}
rounds=${3:-3}
peer=$(bench/llama_cpp_peer.sh)
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "{\"load_average_before\": \"$(load)\"}"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for mode in decode prefill; do
    if [ "$mode" = decode ]; then w_args=(--prompt 64 --tokens 32); l_args=(-p 0 -n 32 -d 64); else
      w_args=(--prompt 256 --repeats 1); l_args=(-p 256 -n 0); fi
    w=$(./build/whale bench "$mode" --model "$model" --threads "$threads" --no-bandwidth "${w_args[@]}")
    echo "$w"
    echo "whale $mode $(echo "$w" | sed -n 's/.*"tokens_per_s":\([0-9.e+-]*\).*/\1/p')" >>"$results"
    l=$("$peer/llama-bench" -m "$model" -t "$threads" -r 1 -o jsonl "${l_args[@]}" 2>/dev/null | tail -n 1)
    echo "$l"
    echo "llama.cpp $mode $(echo "$l" | sed -n 's/.*"avg_ts": *\([0-9.e+-]*\).*/\1/p')" >>"$results"
  done
done
echo "{\"load_average_after\": \"$(load)\"}"
for mode in decode prefill; do
  median() { grep "^$1 $mode " "$results" | awk '{print $3}' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
  w=$(median whale); l=$(median llama.cpp)
  echo "{\"mode\": \"$mode\", \"whale_tokens_per_s\": $w, \"llama_cpp_tokens_per_s\": $l, \"ratio\": $(awk -v a="$w" -v b="$l" 'BEGIN {printf "%.3f", a / b}')}"
done

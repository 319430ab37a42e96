#!/usr/bin/env bash
# HTTP load on `whale serve` with wrk (Debian's wrk): requests/s and p99 latency of short chat requests
# (8 new tokens, greedy and temperature 1) and of GET /health, at 1, 16, 64 and 256 connections. With a
# second binary (e.g. an older build) both servers run side by side and the rounds alternate between them.
# Usage: bench/serve_wrk.sh MODEL_DIR [OTHER_WHALE_BINARY]   (env: WHALE=build/whale, SECONDS_PER_RUN=5)
#   build/server_test_model (written by the server tests) is the tiny model of the README's table.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: bench/serve_wrk.sh MODEL_DIR [OTHER_WHALE_BINARY]}
command -v wrk >/dev/null || { echo "bench/serve_wrk.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for temperature in 0 1.0; do
  cat >"$work/t$temperature.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"messages":[{"role":"user","content":"Hello"}],"temperature":$temperature,"max_tokens":8}'
LUA
done
start() {  # binary name → prints the server's URL
  local queue=()  # an older build for comparison may predate --max-queue
  "$1" serve --help 2>&1 | grep -q -- --max-queue && queue=(--max-queue 256)
  "$1" serve --model "$model" --port 0 --threads 2 "${queue[@]}" >"$work/$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do
    url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/$2.log" || true)
    [ -n "$url" ] && { echo "$url"; return; }
    sleep 0.2
  done
  cat "$work/$2.log" >&2
  exit 1
}
names=(whale)
urls=("$(start "${WHALE:-build/whale}" whale)")
if [ -n "${2:-}" ]; then names+=(other); urls+=("$(start "$2" other)"); fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for what in health t0 t1.0; do
  for c in 1 16 64 256; do
    for i in "${!urls[@]}"; do
      path=/v1/chat/completions script=(-s "$work/$what.lua")
      [ "$what" = health ] && path=/health script=()
      result=$(wrk -t"$((c < 2 ? 1 : 2))" -c"$c" -d"${SECONDS_PER_RUN:-5}s" --timeout 30s --latency "${script[@]}" \
               "${urls[$i]}$path" 2>&1 | awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} /Non-2xx/ {e=$5} END {print r, p, e+0}')
      read -r rps p99 non2xx <<<"$result"
      echo "{\"server\":\"${names[$i]}\",\"request\":\"$what\",\"connections\":$c,\"req_per_s\":$rps,\"p99\":\"$p99\",\"non_2xx\":$non2xx}"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Decode/prefill benchmark on a random-weight model with DeepSeek-V2-Lite per-layer shapes, 4 layers, bf16.
# Usage: bench/decode_v2_lite.sh [MODEL_DIR]   (default: build/bench-v2-lite-4layer; created if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-build/bench-v2-lite-4layer}
[ -f "$model/model.safetensors" ] || ./build/whale init --config bench/deepseek-v2-lite-4layer.json --out "$model" --seed 1
./build/whale bench decode --model "$model" --prompt 64 --tokens 32
./build/whale bench prefill --model "$model" --prompt 256 --repeats 2

#!/usr/bin/env bash
# Builds llama.cpp's llama-bench and llama-server — the benchmark peer, never part of whale's build or tests —
# from the source bundled in the npm package node-llama-cpp@3.21.1 (a git bundle under llama/), CPU only,
# -march=native, into a scratch directory. Prints the directory holding the binaries.
# Usage: bench/llama_cpp_peer.sh [SCRATCH_DIR]   (default: /tmp/whale-peer)
set -euo pipefail
scratch=${1:-/tmp/whale-peer}
bin="$scratch/llama.cpp/build/bin"
if [ -x "$bin/llama-bench" ] && [ -x "$bin/llama-server" ]; then echo "$bin"; exit 0; fi
mkdir -p "$scratch"
cd "$scratch"
if [ ! -d llama.cpp ]; then
  [ -f node-llama-cpp-3.21.1.tgz ] || npm pack node-llama-cpp@3.21.1 --silent >/dev/null
  tar xzf node-llama-cpp-3.21.1.tgz package/llama/gitRelease.bundle
  git clone -q package/llama/gitRelease.bundle llama.cpp
fi
cmake -S llama.cpp -B llama.cpp/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >&2
cmake --build llama.cpp/build --target llama-bench llama-server --parallel "$(nproc)" >&2
echo "$bin"

#!/usr/bin/env bash
# Installs dependencies, builds, and runs the main job: whale-r0, the small reasoning model shipped in models/,
# answers a greeting and one question of each task family it was trained on (it thinks in <think>…</think>, then
# answers), then says how to chat with it and serve it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
questions=(
  "hi"
  "What is 347 + 589?"
  "Solve for x: 7x - 22 = 13."
  "Emil has 41 eggs. He gives 1 to a friend and packs the rest into boxes of 2. How many boxes does he fill?"
  "Using the numbers [20, 11, 17], create an equation that equals 340. You can use + - * / and parentheses, and each number can be used at most once. Answer with the expression only, for example (1 + 2) * 3."
)
for q in "${questions[@]}"; do
  printf '\n>>> %s\n' "$q"
  ./build/whale chat --model models/whale-r0 --seed 1 "$q"
done
cat <<'HOW'

whale-r0 has 5 M parameters: it gets most arithmetic right and the other families mostly wrong (held-out scores
and limits: models/whale-r0/README.md).

Chat with it:   ./build/whale chat --model models/whale-r0
Serve it:       ./build/whale serve --model models/whale-r0 --port 8080   (web chat: http://127.0.0.1:8080/,
                OpenAI API: http://127.0.0.1:8080/v1; real DeepSeek checkpoints: README, "Get a model")
HOW

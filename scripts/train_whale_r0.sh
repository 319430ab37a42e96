#!/usr/bin/env bash
# Reproduces models/whale-r0 from scratch with whale's own pipeline (RUNTIME on 2 cores): cold-start data of the four
# task families + hand-written chat turns → a byte-level BPE tokenizer → stage 1, chat SFT of a
# DeepSeek-V3-architecture model (MLA, 8 routed + 1 shared expert, MTP) on prompts that carry the format
# instruction → stage 2, continued SFT where half the prompts are the question alone, as users type them →
# stage 3, GRPO on 2-3 digit arithmetic asked that way → held-out eval per family and difficulty → the model
# directory. Usage: scripts/train_whale_r0.sh [WORK_DIR] (default /tmp/whale-r0-train); the result replaces
# models/whale-r0 only when every step succeeded.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
W=${WHALE:-$repo/build/whale}  # WHALE=/path/to/whale trains with a copy, so rebuilding meanwhile is safe
[ -x "$W" ] || scripts/setup.sh
work=${1:-/tmp/whale-r0-train}
mkdir -p "$work"
cp scripts/whale_r0/model.json scripts/whale_r0/sft.toml scripts/whale_r0/sft2.toml scripts/whale_r0/grpo.toml "$work/"
cd "$work"
start=$(date +%s)

# Data: 40,000 worked solutions — arithmetic up to 4 digits (16,000), Countdown with 3-4 numbers, linear
# equations and word problems up to difficulty 4 (8,000 each) — and the chat turns 40 times (~5%).
$W rl cold-start --task arithmetic --n 16000 --seed 1 --max-difficulty 4 --format chat --out a.jsonl
$W rl cold-start --task countdown --n 8000 --seed 2 --max-difficulty 3 --format chat --out c.jsonl
$W rl cold-start --task linear_equation --n 8000 --seed 3 --max-difficulty 4 --format chat --out l.jsonl
$W rl cold-start --task word_problem --n 8000 --seed 4 --max-difficulty 4 --format chat --out w.jsonl
for _ in $(seq 40); do cat "$repo/scripts/whale_r0/chat_turns.jsonl"; done > chat.jsonl
cat a.jsonl c.jsonl l.jsonl w.jsonl chat.jsonl > sft.jsonl
rm -rf tokenizer runs/sft
$W tokenizer train --input sft.jsonl --vocab-size 1024 --split-digits --out tokenizer
$W data build --tokenizer tokenizer --input sft.jsonl --out sft.tok

$W train --config sft.toml
ln -sfn "runs/sft/$(cat runs/sft/latest)" sft-final
$W plot runs/sft/metrics.jsonl -o sft.svg --y loss,eval_loss,mtp_loss

# Stage 2 data (other seeds): each family half without the instruction, half with it, and the chat turns 10 times.
for spec in "arithmetic 3000 4 21 22" "countdown 1500 3 23 24" "linear_equation 1500 4 25 26" \
            "word_problem 1500 4 27 28"; do
  set -- $spec
  $W rl cold-start --task "$1" --n "$2" --seed "$4" --max-difficulty "$3" --format chat --instruction none \
      --out "$1.bare.jsonl"
  $W rl cold-start --task "$1" --n "$2" --seed "$5" --max-difficulty "$3" --format chat --out "$1.told.jsonl"
done
for _ in $(seq 10); do cat "$repo/scripts/whale_r0/chat_turns.jsonl"; done > chat2.jsonl
cat ./*.bare.jsonl ./*.told.jsonl chat2.jsonl > sft2.jsonl
rm -rf runs/sft2 runs/grpo
$W data build --tokenizer sft-final --input sft2.jsonl --out sft2.tok
$W train --config sft2.toml
ln -sfn "runs/sft2/$(cat runs/sft2/latest)" sft2-final
$W plot runs/sft2/metrics.jsonl -o sft2.svg --y loss,eval_loss,mtp_loss

$W rl --config grpo.toml
final=runs/grpo/$(cat runs/grpo/latest)
$W plot runs/grpo/metrics.jsonl -o grpo.svg --y eval_pass_at_1,accuracy,response_length

# Held-out pass@1 (4 samples, temperature 0.6, top-p 0.95 as R1 evaluates), per family and difficulty, asked as a
# user asks (no instruction) and with the format instruction.
: > eval.jsonl
for instruction in none user; do
  for task in arithmetic countdown linear_equation word_problem; do
    for d in 1 2 3; do
      $W eval --model "$final" --task "$task" --prompt chat --instruction $instruction --min-difficulty $d \
          --max-difficulty $d --n 64 --samples 4 --temperature 0.6 --top-p 0.95 --max-new-tokens 320 --seed 11 \
        | sed "s/^{/{\"instruction\":\"$instruction\",\"difficulty\":$d,/" >> eval.jsonl
    done
  done
done
cat eval.jsonl

out=$repo/models/whale-r0
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
cp "$final"/config.json "$final"/model.safetensors "$final"/tokenizer.json "$final"/tokenizer_config.json "$out.tmp/"
cp "$repo/scripts/whale_r0/generation_config.json" "$out.tmp/"
cp sft.svg sft2.svg grpo.svg eval.jsonl "$out.tmp/"
[ -f "$out/README.md" ] && cp "$out/README.md" "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "whale-r0 rebuilt in $(( ($(date +%s) - start) / 60 )) min: $out"

// `whale distill generate`: teacher traces for a student to learn from (the R1-Distill recipe). Prompts are
// the procedural tasks' problems (each trace graded by the task's verifier) or the user's own prompts; K
// samples per prompt are drawn on the serving engine (continuous batching), filtered (distill/
// trace_filter.h) and the kept ones written as chat JSON lines, optionally with the teacher's top-k
// log-probabilities of every generated token. Resumable: prompts already done are skipped, and a kill at
// any moment loses at most the batch in flight.
//
// Files: OUT holds one kept trace per line:
//   {"messages": [...system/user..., {"role": "assistant", "content": "<think>\n...</think>\n\n<answer>.."}],
//    "prompt_id": "arithmetic/7", "task": "arithmetic", "sample": 2,
//    "teacher": {"tokens": [ids], "top_logprobs": [[[id, logprob], ...], ...], "vocab": N}  (--logprobs K)}
// OUT.progress.jsonl records every finished prompt {"prompt_id", "tried", "kept", "verdicts": {...}}.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "distill/trace_filter.h"
#include "rl/prompt_style.h"

namespace whale::distill {

struct DistillGenerateOptions {
  std::filesystem::path teacher;
  std::string task = "all";            // a task family, or "all" (cycled)
  std::filesystem::path prompts_file;  // instead of a task: JSON lines {"prompt": text} or {"messages": [...]}
  int64_t n = 100;                     // prompts (task mode; prompts mode: the file's first n, 0 = all)
  int64_t samples = 4;                 // K per prompt
  uint64_t seed = 0;
  int min_difficulty = 1, max_difficulty = 0;
  float temperature = 0.6f, top_p = 0.95f;  // R1's sampling settings
  int64_t max_new_tokens = 1024;
  int64_t logprobs = -1;      // K >= 0: keep the teacher's top-K log-probabilities per token
  int64_t slots = 16;         // sequences decoded together
  int64_t batch_prompts = 8;  // prompts per written batch
  size_t threads = 0;
  rl::PromptConfig prompt{.style = rl::PromptStyle::kChat, .prefill_think = true};
  TraceFilterOptions filter;
  std::filesystem::path out;
};

struct DistillGenerateStats {
  int64_t prompts_done = 0, prompts_skipped = 0;  // this run; skipped: done by an earlier run
  int64_t tried = 0, kept = 0;
  double seconds = 0;
};

DistillGenerateStats distill_generate(const DistillGenerateOptions& options);

}  // namespace whale::distill

// `whale rl --config FILE.toml`: GRPO with verifiable rewards. Each step draws problems from the task's
// train split, samples G completions per problem on the serving engine (BatchEngine over the current
// parameters, KV cache, temperature sampling), scores them with the rule-based rewards, and takes μ AdamW
// steps on the GRPO objective (policy_loss.h). Held-out pass@1 / cons@K are measured before, during and
// after training; metrics go to OUT/metrics.jsonl; checkpoints are in hub layout and resumable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "rl/eval.h"
#include "rl/grpo_config.h"

namespace whale::rl {

struct GrpoRunOptions {
  bool resume = false;    // continue from OUT's latest checkpoint
  bool progress = true;   // progress line on stderr
};

struct GrpoSummary {
  int64_t first_step = 0, steps_done = 0;
  double first_reward = 0, last_reward = 0;    // mean reward of the first and last step of this process
  std::optional<EvalMetrics> eval_before;      // held-out evaluation before the first step (fresh runs)
  std::optional<EvalMetrics> eval_after;       // and after the last
  double seconds = 0;                          // wall time of this process's training loop (evals included)
  std::filesystem::path checkpoint;
  bool interrupted = false;
};

GrpoSummary run_grpo(const GrpoConfig& config, const GrpoRunOptions& options);

nlohmann::json eval_metrics_json(const EvalMetrics& m);

}  // namespace whale::rl

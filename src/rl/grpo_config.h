// `whale rl --config FILE.toml`: the GRPO run's settings. Unknown sections or keys are errors naming them
// (with a "did you mean"); relative paths are resolved against the config file's directory.
//
//   [model]   checkpoint = "DIR" (the initial policy, and the frozen reference when beta > 0),
//             tokenizer = "DIR" (default: the checkpoint)
//   [task]    name = "arithmetic" | "countdown" | "linear_equation" | "word_problem", min_difficulty = 1,
//             max_difficulty = 0 (0: the family's maximum), prompt = "r1-zero" | "chat", prefill_think = true,
//             instruction = "user" | "system" | "none" (chat: where the answer-format instruction goes),
//             format_weight = 0.1
//   [rollout] prompts = 8 (problems per step), group_size = 8 (G), max_new_tokens = 256, temperature = 1.0,
//             top_p = 1.0, slots = 64 (sequences the engine decodes together), dynamic_sampling = false
//             (DAPO: draw more problems until `prompts` groups have unequal rewards), max_draws = 3
//   [grpo]    epochs = 1 (μ: optimizer steps per rollout batch), micro_batch = 16 (sequences per backward),
//             eps_low = 0.2, eps_high = 0.2, beta = 0.0 (k3 KL weight; 0 frees the reference model),
//             aggregation = "seq-mean" | "token-mean" | "constant", scale_by_std = true (false: Dr. GRPO)
//   [optim]   as in `whale train` (defaults here: lr = 1e-5, schedule = "constant", weight_decay = 0)
//   [train]   steps, seed = 0, threads = 0, eval_interval = 0 (0: only before and after), eval_problems = 128,
//             eval_samples = 4, eval_temperature = 0.6, eval_top_p = 0.95, checkpoint_interval = 0,
//             keep_checkpoints = 3, out = "DIR"
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "rl/grpo_loss.h"
#include "rl/reward.h"
#include "rl/prompt_style.h"
#include "train/train_config.h"

namespace whale::rl {

struct GrpoConfig {
  struct Model {
    std::filesystem::path checkpoint, tokenizer;
  } model;
  struct TaskConfig {
    std::string name = "arithmetic";
    int min_difficulty = 1, max_difficulty = 0;
    PromptConfig prompt;
    RewardConfig reward;
  } task;
  struct Rollout {
    int64_t prompts = 8, group_size = 8, max_new_tokens = 256, slots = 64;
    float temperature = 1.0f, top_p = 1.0f;
    bool dynamic_sampling = false;
    int64_t max_draws = 3;
  } rollout;
  struct Grpo {
    int64_t epochs = 1, micro_batch = 16;
    GrpoLossConfig loss;
    AdvantageConfig advantages;
  } grpo;
  OptimConfig optim;
  struct Train {
    int64_t steps = 0;
    uint64_t seed = 0;
    size_t threads = 0;
    int64_t eval_interval = 0, eval_problems = 128, eval_samples = 4;
    float eval_temperature = 0.6f, eval_top_p = 0.95f;
    int64_t checkpoint_interval = 0, keep_checkpoints = 3;
    std::filesystem::path out;
  } train;
  std::filesystem::path source;

  // Optimizer steps of the whole run: steps × epochs.
  int64_t optimizer_steps() const { return train.steps * grpo.epochs; }
};

GrpoConfig load_grpo_config(const std::filesystem::path& file);
GrpoConfig parse_grpo_config(std::string_view toml_text, const std::filesystem::path& source);

Aggregation parse_aggregation(const std::string& text, const std::string& what);

}  // namespace whale::rl

// Rollouts on the serving engine: problems → prompts (R1-Zero text or the chat template) → G sampled
// completions each, batched through BatchEngine with the KV cache → decoded responses and their rewards.
// The same path evaluates a model on held-out problems (pass@1 over K samples, cons@K).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/batch_engine.h"
#include "rl/eval.h"
#include "rl/prompt_style.h"
#include "rl/reward.h"
#include "rl/tasks/task.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale::rl {

// Turns problems into prompt token ids, and completions into the response text the rewards score.
class PromptEncoder {
 public:
  // Throws whale::Error when the chat style is asked for and the tokenizer has no chat template.
  PromptEncoder(const Tokenizer& tokenizer, const PromptConfig& config);

  struct Encoded {
    std::vector<int32_t> ids;
    // Text the prompt already opened and the response continues (e.g. "<think>"): prepended for scoring.
    std::string response_prefix;
  };
  Encoded encode(const Problem& problem) const;
  const Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  const Tokenizer& tokenizer_;
  PromptConfig config_;
  std::optional<ChatTemplate> chat_;
};

// Text after an unclosed "<think>" at the end of a rendered chat prompt (R1's generation prompt opens the
// reasoning): the response continues it, so it is prepended for scoring. "" when the prompt opens none.
std::string open_reasoning_prefix(const std::string& prompt);

struct Rollout {
  int64_t problem = 0;                  // index into the problems
  std::vector<int32_t> prompt;          // prompt ids
  std::vector<int32_t> completion;      // sampled ids (ending with EOS unless truncated)
  bool truncated = false;               // hit max_new_tokens without EOS
  std::string response;                 // response_prefix + decoded completion (without the stop token)
  Reward reward;
};

struct RolloutOptions {
  int64_t samples = 8;  // completions per problem (G)
  int64_t max_new_tokens = 256;
  SamplingParams sampling{.temperature = 1.0f};  // request i samples with seed sampling.seed + i
  std::string progress_label;                    // non-empty: report progress on stderr (core/progress.h)
  std::vector<int32_t> stop_ids;                 // ids that end a completion; empty: the tokenizer's EOS
};

// problems.size() × samples rollouts, problem-major (the samples of problem p are [p·G, (p+1)·G)).
std::vector<Rollout> generate_rollouts(BatchEngine& engine, const PromptEncoder& prompts, const Task& task,
                                       std::span<const Problem> problems, const RolloutOptions& options,
                                       const RewardConfig& reward = {});

// Held-out problems for evaluation: n problems of the held-out split, drawn from `seed`.
std::vector<Problem> heldout_problems(const Task& task, int64_t n, uint64_t seed, int min_difficulty,
                                      int max_difficulty);

// Samples K completions per problem and scores them (pass@1 averaged over K, cons@K, pass@K, ...).
EvalMetrics evaluate_policy(BatchEngine& engine, const PromptEncoder& prompts, const Task& task,
                            std::span<const Problem> problems, const RolloutOptions& options);

}  // namespace whale::rl

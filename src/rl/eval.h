// Evaluation metrics from sampled completions (pure functions; the engine produces the completions):
// pass@1 averaged over K samples per problem, cons@K (majority vote over the parsed answers), pass@K,
// format rate and the rate of reflection words ("wait", "check", "verify", ...).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rl/reward.h"
#include "rl/tasks/task.h"

namespace whale::rl {

// The index of the majority answer among one problem's samples: the most frequent key (samples without a
// key do not vote; ties go to the key seen first). nullopt when no sample has a key.
std::optional<size_t> majority_vote(std::span<const Verification> samples);

struct EvalMetrics {
  int64_t n_problems = 0;
  int64_t n_samples = 0;        // total completions
  double pass_at_1 = 0;         // mean over problems of (correct samples / K)
  double cons_at_k = 0;         // fraction of problems whose majority answer is correct
  double pass_at_k = 0;         // fraction of problems with at least one correct sample
  double format_rate = 0;       // fraction of completions with format reward 1
  double reflection_rate = 0;   // fraction of completions containing a reflection word
  double mean_chars = 0;        // mean completion length in bytes
};

// Case-insensitive whole-word search for reflection words (wait, check, verify, recheck, double-check, ...).
bool has_reflection(std::string_view text);

// responses[i] holds the K samples of problems[i] (full responses, see reward.h full_response).
// Throws whale::Error when the sizes differ or a problem has no samples.
EvalMetrics evaluate(const Task& task, std::span<const Problem> problems,
                     const std::vector<std::vector<std::string>>& responses);

}  // namespace whale::rl

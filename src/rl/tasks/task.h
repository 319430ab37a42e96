// Procedurally generated reasoning tasks with exact verifiers, for RL with rule-based rewards.
// Every family is seeded (same seed → same problems on every platform: no std:: distributions, whose output
// is implementation-defined) and has a held-out split disjoint from train: a problem's split is decided by a
// hash of its prompt, so a train problem can never be drawn for held-out evaluation.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace whale::rl {

enum class Split { kTrain, kHeldOut };
const char* split_name(Split split);
Split parse_split(std::string_view name);  // "train" | "heldout"; throws whale::Error otherwise

struct Problem {
  std::string task;          // family name
  std::string prompt;        // the question as the user would ask it (no format instructions)
  std::string ground_truth;  // canonical answer (for Countdown: the target)
  int difficulty = 1;
  nlohmann::json metadata;   // family-specific data (operands, numbers, a witness solution, ...)
};

enum class Verdict {
  kNoAnswer,  // nothing parsable
  kWrong,     // parsed, but wrong or invalid (numbers not allowed, division by zero, overflow, ...)
  kCorrect,
};

struct Verification {
  Verdict verdict = Verdict::kNoAnswer;
  std::string reason;  // why it is not correct (for logs and tests); empty when correct
  std::optional<std::string> key;  // canonical answer for majority voting (equal keys = same answer)
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual int max_difficulty() const = 0;
  // A problem of the given split and difficulty (clamped to [1, max_difficulty()]).
  Problem generate(Split split, int difficulty, std::mt19937_64& rng) const;
  // A problem whose difficulty is drawn uniformly from [min, max] (max 0: this family's maximum; both
  // clamped to the family's range).
  Problem draw(Split split, int min_difficulty, int max_difficulty, std::mt19937_64& rng) const;
  // Checks the text inside <answer>…</answer> (already extracted) against the problem.
  virtual Verification verify(const Problem& problem, std::string_view answer) const = 0;
  // The step-by-step reasoning for the <think> block of cold-start data, ending with the answer text.
  struct Solution {
    std::string thinking;
    std::string answer;
  };
  virtual Solution solve(const Problem& problem) const = 0;
  // Accuracy reward of a parsed but wrong answer (TinyZero gives Countdown 0.1; 0 elsewhere).
  virtual double wrong_answer_credit() const { return 0.0; }

 protected:
  // One candidate problem of the difficulty; generate() draws until the hash puts it in the wanted split.
  virtual Problem make(int difficulty, std::mt19937_64& rng) const = 0;
};

// The split a prompt belongs to (1 in 8 prompts is held out).
Split split_of(std::string_view prompt);

// Families: "arithmetic", "countdown", "linear_equation", "word_problem".
std::vector<std::string> task_names();
std::unique_ptr<Task> make_task(std::string_view name);  // throws whale::Error naming the known tasks

// Uniform integer in [lo, hi] from the raw generator (portable, unbiased by rejection).
int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi);
// A random number with exactly `digits` decimal digits (1 ≤ digits ≤ 18).
int64_t random_with_digits(std::mt19937_64& rng, int digits);

}  // namespace whale::rl

#include "rl/tasks/task.h"

#include <algorithm>

#include "core/error.h"
#include "rl/tasks/arithmetic.h"
#include "rl/tasks/countdown.h"
#include "rl/tasks/linear_equation.h"
#include "rl/tasks/word_problem.h"

namespace whale::rl {

const char* split_name(Split split) { return split == Split::kTrain ? "train" : "heldout"; }

Split parse_split(std::string_view name) {
  if (name == "train") return Split::kTrain;
  if (name == "heldout" || name == "held-out" || name == "test") return Split::kHeldOut;
  fail("unknown split '{}' (expected train or heldout)", name);
}

Split split_of(std::string_view prompt) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a: stable across platforms and runs, unlike std::hash
  for (unsigned char c : prompt) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 29;  // mix the high bits into the low ones before taking the residue
  return h % 8 == 0 ? Split::kHeldOut : Split::kTrain;
}

Problem Task::generate(Split split, int difficulty, std::mt19937_64& rng) const {
  difficulty = std::clamp(difficulty, 1, max_difficulty());
  for (int attempt = 0; attempt < 100000; ++attempt) {
    Problem p = make(difficulty, rng);
    if (split_of(p.prompt) != split) continue;
    p.task = name();
    p.difficulty = difficulty;
    p.metadata["split"] = split_name(split);
    return p;
  }
  fail("task '{}': no {} problem found at difficulty {}", name(), split_name(split), difficulty);
}

Problem Task::draw(Split split, int min_difficulty, int max_difficulty, std::mt19937_64& rng) const {
  const int hi = max_difficulty == 0 ? this->max_difficulty() : std::min(max_difficulty, this->max_difficulty());
  const int lo = std::min(min_difficulty, hi);
  return generate(split, int(uniform_int(rng, lo, hi)), rng);
}

std::vector<std::string> task_names() { return {"arithmetic", "countdown", "linear_equation", "word_problem"}; }

std::unique_ptr<Task> make_task(std::string_view name) {
  if (name == "arithmetic") return std::make_unique<ArithmeticTask>();
  if (name == "countdown") return std::make_unique<CountdownTask>();
  if (name == "linear_equation") return std::make_unique<LinearEquationTask>();
  if (name == "word_problem") return std::make_unique<WordProblemTask>();
  fail("unknown task '{}' (known: arithmetic, countdown, linear_equation, word_problem)", name);
}

int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  WHALE_CHECK(lo <= hi);
  const uint64_t range = uint64_t(hi) - uint64_t(lo);
  if (range == ~uint64_t(0)) return int64_t(rng());
  const uint64_t n = range + 1;
  const uint64_t limit = ~uint64_t(0) - (~uint64_t(0) % n);  // reject the incomplete last block
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return int64_t(uint64_t(lo) + x % n);
}

int64_t random_with_digits(std::mt19937_64& rng, int digits) {
  WHALE_CHECK(digits >= 1 && digits <= 18);
  int64_t lo = 1;
  for (int i = 1; i < digits; ++i) lo *= 10;
  return uniform_int(rng, digits == 1 ? 0 : lo, lo * 10 - 1);
}

}  // namespace whale::rl

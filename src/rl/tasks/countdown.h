// Countdown: reach a target from given numbers with + − × ÷ and parentheses, each number used at most once.
// The generator builds the target from a random expression over a subset of the numbers (intermediate
// values positive integers, divisions exact), so every problem is solvable and carries that witness.
// Difficulty d (1..6): 3, 3, 4, 4, 5, 6 numbers drawn from 1..20, 1..50 or 1..100; targets up to 999.
// The verifier parses the answer safely (rl/tasks/expression.h), accepts an optional "= target" suffix,
// and rejects numbers not in the set, numbers used too often, division by zero and overflow.
#pragma once

#include <optional>

#include "rl/tasks/task.h"

namespace whale::rl {

class CountdownTask : public Task {
 public:
  std::string name() const override { return "countdown"; }
  int max_difficulty() const override { return 6; }
  Verification verify(const Problem& problem, std::string_view answer) const override;
  Solution solve(const Problem& problem) const override;
  double wrong_answer_credit() const override { return 0.1; }

 protected:
  Problem make(int difficulty, std::mt19937_64& rng) const override;
};

// Exhaustive search (integer intermediates, exact division): an expression reaching `target` from the
// numbers, each used at most once, or nullopt. For tests and traces; fine for up to 6 numbers.
std::optional<std::string> solve_countdown(const std::vector<int64_t>& numbers, int64_t target);

}  // namespace whale::rl

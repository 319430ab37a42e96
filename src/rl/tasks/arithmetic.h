// Multi-digit arithmetic: "What is 347 + 589?" with +, − and ×. Difficulty d (1..8): d-digit operands for
// + and −; d-digit × ceil(d/2)-digit for ×. Worked solutions: column addition with carries, column
// subtraction with borrows, long multiplication by partial products.
#pragma once

#include "rl/tasks/task.h"

namespace whale::rl {

class ArithmeticTask : public Task {
 public:
  std::string name() const override { return "arithmetic"; }
  int max_difficulty() const override { return 8; }
  Verification verify(const Problem& problem, std::string_view answer) const override;
  Solution solve(const Problem& problem) const override;

 protected:
  Problem make(int difficulty, std::mt19937_64& rng) const override;
};

// The worked steps (used by the word problems too): column addition / subtraction of non-negative numbers,
// multiplication by partial products. Each ends with "So a op b = result.".
std::string explain_addition(int64_t a, int64_t b);
std::string explain_subtraction(int64_t a, int64_t b);
std::string explain_multiplication(int64_t a, int64_t b);

}  // namespace whale::rl

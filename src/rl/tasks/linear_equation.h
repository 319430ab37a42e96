// Linear equations with an integer solution: "Solve for x: 3x + 7 = 19." Difficulty d (1..5):
//   1  x + b = c                 2  ax + b = c (small a)        3  a(x + b) = c
//   4  ax + b = cx + d            5  ax + b = cx + d with larger coefficients and solutions
// The answer is the integer value of x ("4" or "x = 4").
#pragma once

#include "rl/tasks/task.h"

namespace whale::rl {

class LinearEquationTask : public Task {
 public:
  std::string name() const override { return "linear_equation"; }
  int max_difficulty() const override { return 5; }
  Verification verify(const Problem& problem, std::string_view answer) const override;
  Solution solve(const Problem& problem) const override;

 protected:
  Problem make(int difficulty, std::mt19937_64& rng) const override;
};

}  // namespace whale::rl

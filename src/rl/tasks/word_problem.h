// Templated multi-step word problems (2–4 arithmetic steps): shopping with change, production at a rate,
// sharing and packing, saving and spending. Difficulty d (1..4) scales the quantities (up to 10, 20, 50, 100).
// Integer answers; every template is built so all intermediate values are non-negative integers.
#pragma once

#include "rl/tasks/task.h"

namespace whale::rl {

class WordProblemTask : public Task {
 public:
  std::string name() const override { return "word_problem"; }
  int max_difficulty() const override { return 4; }
  Verification verify(const Problem& problem, std::string_view answer) const override;
  Solution solve(const Problem& problem) const override;

 protected:
  Problem make(int difficulty, std::mt19937_64& rng) const override;
};

}  // namespace whale::rl

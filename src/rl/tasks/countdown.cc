#include "rl/tasks/countdown.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "rl/tasks/expression.h"
#include "rl/tasks/number.h"

namespace whale::rl {

namespace {

struct Level {
  int count;      // numbers given
  int64_t max;    // numbers drawn from 1..max
};
constexpr Level kLevels[] = {{3, 20}, {3, 50}, {4, 50}, {4, 100}, {5, 100}, {6, 100}};
constexpr int64_t kMaxTarget = 999;

struct Item {
  int64_t value;
  std::string expr;  // parenthesised unless a single number
  bool leaf;
};

std::string operand(const Item& item) { return item.leaf ? item.expr : "(" + item.expr + ")"; }

// a op b over positive integers, or nullopt when the result would not be a positive integer ≤ the bound.
std::optional<int64_t> combine(int64_t a, char op, int64_t b) {
  constexpr int64_t kBound = 1000000;
  switch (op) {
    case '+': return a + b <= kBound ? std::optional<int64_t>(a + b) : std::nullopt;
    case '-': return a > b ? std::optional<int64_t>(a - b) : std::nullopt;
    case '*': return a * b <= kBound ? std::optional<int64_t>(a * b) : std::nullopt;
    default: return b > 1 && a % b == 0 ? std::optional<int64_t>(a / b) : std::nullopt;
  }
}

bool search(std::vector<Item>& items, int64_t target, std::string& found) {
  for (const Item& it : items)
    if (it.value == target && !it.leaf) {
      found = it.expr;
      return true;
    }
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t j = 0; j < items.size(); ++j) {
      if (i == j) continue;
      for (char op : {'+', '-', '*', '/'}) {
        if ((op == '+' || op == '*') && i > j) continue;  // commutative: one order suffices
        const std::optional<int64_t> v = combine(items[i].value, op, items[j].value);
        if (!v) continue;
        std::vector<Item> next;
        for (size_t k = 0; k < items.size(); ++k)
          if (k != i && k != j) next.push_back(items[k]);
        next.push_back({*v, fmt::format("{} {} {}", operand(items[i]), op, operand(items[j])), false});
        if (search(next, target, found)) return true;
      }
    }
  return false;
}

}  // namespace

std::optional<std::string> solve_countdown(const std::vector<int64_t>& numbers, int64_t target) {
  std::vector<Item> items;
  for (int64_t n : numbers) {
    if (n == target) return fmt::format("{}", n);
    items.push_back({n, fmt::format("{}", n), true});
  }
  std::string found;
  if (search(items, target, found)) return found;
  return std::nullopt;
}

Problem CountdownTask::make(int difficulty, std::mt19937_64& rng) const {
  const Level level = kLevels[difficulty - 1];
  for (;;) {
    std::vector<int64_t> numbers;
    for (int i = 0; i < level.count; ++i) numbers.push_back(uniform_int(rng, 1, level.max));
    // Combine a random subset (at least two numbers) pairwise in random order: the witness.
    std::vector<Item> pool;
    for (int64_t n : numbers) pool.push_back({n, fmt::format("{}", n), true});
    const int64_t used = uniform_int(rng, 2, level.count);
    for (int64_t i = int64_t(pool.size()) - 1; i > 0; --i) std::swap(pool[size_t(i)], pool[size_t(uniform_int(rng, 0, i))]);
    pool.resize(size_t(used));
    std::vector<std::string> steps;
    bool ok = true;
    while (ok && pool.size() > 1) {
      size_t i = size_t(uniform_int(rng, 0, int64_t(pool.size()) - 1));
      size_t j = size_t(uniform_int(rng, 0, int64_t(pool.size()) - 2));
      if (j >= i) ++j;
      if (pool[i].value < pool[j].value) std::swap(i, j);  // larger first: − and ÷ stay positive
      const char op = "+-*/"[uniform_int(rng, 0, 3)];
      const std::optional<int64_t> v = combine(pool[i].value, op, pool[j].value);
      if (!v) {
        ok = false;
        break;
      }
      steps.push_back(fmt::format("{} {} {} = {}", pool[i].value, op, pool[j].value, *v));
      Item merged{*v, fmt::format("{} {} {}", operand(pool[i]), op, operand(pool[j])), false};
      pool.erase(pool.begin() + int64_t(std::max(i, j)));
      pool.erase(pool.begin() + int64_t(std::min(i, j)));
      pool.push_back(std::move(merged));
    }
    const int64_t target = pool[0].value;
    if (!ok || target < 1 || target > kMaxTarget || std::count(numbers.begin(), numbers.end(), target) > 0) continue;
    Problem p;
    p.prompt = fmt::format(
        "Using the numbers [{}], create an equation that equals {}. You can use + - * / and parentheses, and "
        "each number can be used at most once. Answer with the expression only, for example (1 + 2) * 3.",
        fmt::join(numbers, ", "), target);
    p.ground_truth = fmt::format("{}", target);
    p.metadata = {{"numbers", numbers}, {"target", target}, {"witness", pool[0].expr}, {"steps", steps}};
    return p;
  }
}

Verification CountdownTask::verify(const Problem& problem, std::string_view answer) const {
  const int64_t target = problem.metadata.at("target").get<int64_t>();
  std::string_view lhs = trim_ascii(answer);
  std::optional<std::string> claimed;  // "expr = N": N must be the target
  if (const size_t eq = lhs.find('='); eq != std::string_view::npos) {
    claimed = canonical_integer(lhs.substr(eq + 1));
    if (!claimed) return {Verdict::kNoAnswer, "the right-hand side of '=' is not an integer", std::nullopt};
    lhs = lhs.substr(0, eq);
  }
  const ExpressionValue e = evaluate_expression(lhs);
  if (!e.parsed) return {Verdict::kNoAnswer, "not an expression: " + e.error, std::nullopt};
  if (!e.error.empty()) return {Verdict::kWrong, e.error, std::nullopt};
  std::map<int64_t, int> left;  // allowed uses per number
  for (const auto& n : problem.metadata.at("numbers")) ++left[n.get<int64_t>()];
  for (int64_t n : e.numbers)
    if (--left[n] < 0)
      return {Verdict::kWrong, fmt::format("{} is not available (not given, or used too often)", n), std::nullopt};
  const std::string key = e.value.str();
  if (claimed && *claimed != fmt::format("{}", target))
    return {Verdict::kWrong, fmt::format("claims {} but the target is {}", *claimed, target), std::nullopt};
  if (!(e.value == Rational{target, 1}))
    return {Verdict::kWrong, fmt::format("evaluates to {}, target {}", key, target), key};
  return {Verdict::kCorrect, "", key};
}

Task::Solution CountdownTask::solve(const Problem& problem) const {
  std::string thinking;
  for (const auto& step : problem.metadata.at("steps")) thinking += step.get<std::string>() + ".\n";
  const std::string witness = problem.metadata.at("witness").get<std::string>();
  thinking += fmt::format("So {} = {}.", witness, problem.ground_truth);
  return {thinking, witness};
}

}  // namespace whale::rl

#include "rl/tasks/arithmetic.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "rl/tasks/number.h"

namespace whale::rl {

namespace {

// Decimal digits, least significant first ("0" → {0}).
std::vector<int> digits_of(int64_t v) {
  WHALE_CHECK(v >= 0);
  std::vector<int> d;
  do {
    d.push_back(int(v % 10));
    v /= 10;
  } while (v > 0);
  return d;
}

int64_t compute(int64_t a, char op, int64_t b) { return op == '+' ? a + b : op == '-' ? a - b : a * b; }

}  // namespace

std::string explain_addition(int64_t a, int64_t b) {
  const std::vector<int> da = digits_of(a), db = digits_of(b);
  std::string out;
  int carry = 0;
  for (size_t i = 0; i < std::max(da.size(), db.size()); ++i) {
    const int x = i < da.size() ? da[i] : 0, y = i < db.size() ? db[i] : 0;
    const int s = x + y + carry;
    out += carry ? fmt::format("{} + {} + {} = {}", x, y, carry, s) : fmt::format("{} + {} = {}", x, y, s);
    out += s >= 10 ? fmt::format(", write {} carry 1.\n", s - 10) : fmt::format(", write {}.\n", s);
    carry = s >= 10;
  }
  if (carry) out += "Write the carry 1.\n";
  return out + fmt::format("So {} + {} = {}.", a, b, a + b);
}

std::string explain_subtraction(int64_t a, int64_t b) {
  if (a < b) {
    return fmt::format("{} is larger than {}, so compute {} - {} and negate.\n", b, a, b, a) +
           explain_subtraction(b, a) + fmt::format("\nSo {} - {} = {}.", a, b, a - b);
  }
  const std::vector<int> da = digits_of(a), db = digits_of(b);
  std::string out;
  int borrow = 0;
  for (size_t i = 0; i < da.size(); ++i) {
    const int x = da[i] - borrow, y = i < db.size() ? db[i] : 0;
    if (i >= db.size() && borrow == 0) {  // nothing left to subtract: copy the digit
      out += fmt::format("Bring down {}.\n", x);
      continue;
    }
    const std::string top = borrow ? fmt::format("{} - 1", da[i]) : fmt::format("{}", da[i]);
    borrow = x < y;
    out += borrow ? fmt::format("{} - {} needs a borrow: {} - {} = {}.\n", top, y, x + 10, y, x + 10 - y)
                  : fmt::format("{} - {} = {}.\n", top, y, x - y);
  }
  return out + fmt::format("So {} - {} = {}.", a, b, a - b);
}

std::string explain_multiplication(int64_t a, int64_t b) {
  const std::vector<int> db = digits_of(b);
  std::string out;
  if (db.size() == 1) {  // one digit: multiply column by column
    const std::vector<int> da = digits_of(a);
    int carry = 0;
    for (size_t i = 0; i < da.size(); ++i) {
      const int p = da[i] * db[0] + carry;
      out += carry ? fmt::format("{} * {} + {} = {}", da[i], db[0], carry, p) : fmt::format("{} * {} = {}", da[i], db[0], p);
      out += fmt::format(", write {}", p % 10) + (p >= 10 ? fmt::format(" carry {}.\n", p / 10) : ".\n");
      carry = p / 10;
    }
    if (carry) out += fmt::format("Write the carry {}.\n", carry);
    return out + fmt::format("So {} * {} = {}.", a, b, a * b);
  }
  int64_t place = 1, total = 0;
  std::vector<int64_t> partials;
  for (int d : db) {
    if (d != 0) {
      out += fmt::format("{} * {} = {}.\n", a, d * place, a * d * place);
      partials.push_back(a * d * place);
    }
    total += a * d * place;
    place *= 10;
  }
  std::string sum;
  for (size_t i = 0; i < partials.size(); ++i) sum += (i ? " + " : "") + fmt::format("{}", partials[i]);
  if (partials.size() > 1) out += fmt::format("Add: {} = {}.\n", sum, total);
  return out + fmt::format("So {} * {} = {}.", a, b, total);
}

Problem ArithmeticTask::make(int difficulty, std::mt19937_64& rng) const {
  const char op = "+-*"[uniform_int(rng, 0, 2)];
  const int digits_b = op == '*' ? (difficulty + 1) / 2 : difficulty;
  const int64_t a = random_with_digits(rng, difficulty), b = random_with_digits(rng, digits_b);
  Problem p;
  p.prompt = fmt::format("What is {} {} {}?", a, op, b);
  p.ground_truth = fmt::format("{}", compute(a, op, b));
  p.metadata = {{"a", a}, {"b", b}, {"op", std::string(1, op)}};
  return p;
}

Verification ArithmeticTask::verify(const Problem& problem, std::string_view answer) const {
  return verify_integer(answer, problem.ground_truth);
}

Task::Solution ArithmeticTask::solve(const Problem& problem) const {
  const int64_t a = problem.metadata.at("a").get<int64_t>(), b = problem.metadata.at("b").get<int64_t>();
  const std::string op = problem.metadata.at("op").get<std::string>();
  const std::string thinking = op == "+"   ? explain_addition(a, b)
                               : op == "-" ? explain_subtraction(a, b)
                                           : explain_multiplication(a, b);
  return {thinking, problem.ground_truth};
}

}  // namespace whale::rl

#include "rl/tasks/linear_equation.h"

#include <fmt/format.h>

#include <cstdlib>

#include "rl/tasks/number.h"

namespace whale::rl {

namespace {

// "3x", "x", "-x", "-3x"
std::string x_term(int64_t a) { return a == 1 ? "x" : a == -1 ? "-x" : fmt::format("{}x", a); }

// "ax + b" / "ax - |b|" / "ax" (b = 0)
std::string linear(int64_t a, int64_t b) {
  if (a == 0) return fmt::format("{}", b);
  if (b == 0) return x_term(a);
  return fmt::format("{} {} {}", x_term(a), b < 0 ? '-' : '+', std::llabs(b));
}

int64_t nonzero(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  for (;;)
    if (int64_t v = uniform_int(rng, lo, hi); v != 0) return v;
}

// Steps from "ax + b = c" to "x = c'": move the constant, then divide.
std::string isolate(int64_t a, int64_t b, int64_t c) {
  std::string out;
  if (b != 0) {
    out += b > 0 ? fmt::format("Subtract {} from both sides: ", b) : fmt::format("Add {} to both sides: ", -b);
    out += fmt::format("{} = {}.\n", x_term(a), c - b);
  }
  if (a != 1) out += fmt::format("Divide both sides by {}: x = {}.\n", a, (c - b) / a);
  return out;
}

}  // namespace

Problem LinearEquationTask::make(int difficulty, std::mt19937_64& rng) const {
  Problem p;
  int64_t a = 1, b = 0, c = 0, d = 0;  // ax + b = cx + d (form 3 stores a(x + b) = d)
  std::string form = "ax+b=cx+d";
  int64_t x = 0;
  switch (difficulty) {
    case 1:
      x = uniform_int(rng, 0, 20);
      b = nonzero(rng, -20, 20);
      break;
    case 2:
      x = uniform_int(rng, -10, 10);
      a = uniform_int(rng, 2, 9) * (uniform_int(rng, 0, 3) == 0 ? -1 : 1);
      b = nonzero(rng, -30, 30);
      break;
    case 3:
      form = "a(x+b)=d";
      x = uniform_int(rng, -12, 12);
      a = uniform_int(rng, 2, 9);
      b = nonzero(rng, -15, 15);
      break;
    default: {
      const int64_t k = difficulty == 4 ? 9 : 40;
      x = uniform_int(rng, -k, k);
      a = nonzero(rng, -k, k);
      do c = nonzero(rng, -k, k);
      while (c == a);
      b = uniform_int(rng, -5 * k, 5 * k);
    }
  }
  if (form == "a(x+b)=d") {
    d = a * (x + b);
    p.prompt = fmt::format("Solve for x: {}({}) = {}.", a, linear(1, b), d);
  } else {
    d = a * x + b - c * x;
    p.prompt = fmt::format("Solve for x: {} = {}.", linear(a, b), linear(c, d));
  }
  p.ground_truth = fmt::format("{}", x);
  p.metadata = {{"form", form}, {"a", a}, {"b", b}, {"c", c}, {"d", d}};
  return p;
}

Verification LinearEquationTask::verify(const Problem& problem, std::string_view answer) const {
  answer = trim_ascii(answer);
  if (answer.starts_with("x")) {  // "x = 4"
    answer = trim_ascii(answer.substr(1));
    if (!answer.starts_with("=")) return {Verdict::kNoAnswer, "expected 'x = <integer>'", std::nullopt};
    answer.remove_prefix(1);
  }
  return verify_integer(answer, problem.ground_truth);
}

Task::Solution LinearEquationTask::solve(const Problem& problem) const {
  const auto& m = problem.metadata;
  const int64_t a = m.at("a").get<int64_t>(), b = m.at("b").get<int64_t>(), c = m.at("c").get<int64_t>(),
                d = m.at("d").get<int64_t>();
  std::string thinking;
  if (m.at("form") == "a(x+b)=d") {
    thinking = fmt::format("Divide both sides by {}: {} = {}.\n", a, linear(1, b), d / a) + isolate(1, b, d / a);
  } else if (c != 0) {
    thinking = fmt::format("{} {} {} both sides: {} = {}.\n", c > 0 ? "Subtract" : "Add", x_term(std::llabs(c)),
                           c > 0 ? "from" : "to", linear(a - c, b), d) +
               isolate(a - c, b, d);
  } else {
    thinking = isolate(a, b, d);
  }
  thinking += fmt::format("So x = {}.", problem.ground_truth);
  return {thinking, problem.ground_truth};
}

}  // namespace whale::rl

#include "rl/tasks/word_problem.h"

#include <fmt/format.h>

#include <array>

#include "rl/tasks/number.h"

namespace whale::rl {

namespace {

struct Person {
  const char* name;
  const char* pronoun;  // subject
};
constexpr std::array<Person, 8> kPeople = {{{"Alice", "she"}, {"Bob", "he"}, {"Chen", "he"}, {"Dana", "she"},
                                            {"Emil", "he"}, {"Fatima", "she"}, {"Gus", "he"}, {"Hana", "she"}}};
constexpr std::array<const char*, 8> kGoods = {"notebooks", "pens", "apples", "tickets",
                                               "books", "cups", "stamps", "candles"};
constexpr std::array<const char*, 4> kProducts = {"toys", "bottles", "chairs", "bricks"};
constexpr std::array<const char*, 4> kTreats = {"cookies", "marbles", "stickers", "eggs"};
constexpr std::array<const char*, 4> kThings = {"bike", "game", "jacket", "lamp"};

template <typename T, size_t N>
const T& pick(std::mt19937_64& rng, const std::array<T, N>& list) {
  return list[size_t(uniform_int(rng, 0, int64_t(N) - 1))];
}

// One step of arithmetic shown in the solution: "12 * 3 = 36."
std::string step(int64_t a, char op, int64_t b, int64_t r) { return fmt::format("{} {} {} = {}.\n", a, op, b, r); }

struct Built {
  std::string prompt;
  std::string steps;
  int64_t answer;
};

Built shopping(std::mt19937_64& rng, int64_t m) {
  const Person who = pick(rng, kPeople);
  const char* good1 = pick(rng, kGoods);
  const char* good2 = good1;
  while (good2 == good1) good2 = pick(rng, kGoods);
  const int64_t n1 = uniform_int(rng, 2, std::min<int64_t>(m, 12)), p1 = uniform_int(rng, 1, m);
  const int64_t n2 = uniform_int(rng, 1, std::min<int64_t>(m, 12)), p2 = uniform_int(rng, 1, m);
  const int64_t total = n1 * p1 + n2 * p2;
  const int64_t bill = (total / 10 + 1 + uniform_int(rng, 0, 2)) * 10;
  Built b;
  b.prompt = fmt::format(
      "{} buys {} {} at ${} each and {} {} at ${} each. {} pays with ${}. How many dollars of change does {} get?",
      who.name, n1, good1, p1, n2, good2, p2, who.pronoun == std::string("she") ? "She" : "He", bill, who.pronoun);
  b.steps = step(n1, '*', p1, n1 * p1) + step(n2, '*', p2, n2 * p2) + step(n1 * p1, '+', n2 * p2, total) +
            step(bill, '-', total, bill - total);
  b.answer = bill - total;
  return b;
}

Built production(std::mt19937_64& rng, int64_t m) {
  const char* product = pick(rng, kProducts);
  const int64_t rate = uniform_int(rng, 2, m), h1 = uniform_int(rng, 1, 12), h2 = uniform_int(rng, 1, 12);
  Built b;
  b.prompt = fmt::format(
      "A machine makes {} {} per hour. It runs for {} hours on Monday and {} hours on Tuesday. How many {} does "
      "it make in total?",
      rate, product, h1, h2, product);
  b.steps = step(h1, '+', h2, h1 + h2) + step(rate, '*', h1 + h2, rate * (h1 + h2));
  b.answer = rate * (h1 + h2);
  return b;
}

Built packing(std::mt19937_64& rng, int64_t m) {
  const Person who = pick(rng, kPeople);
  const char* treat = pick(rng, kTreats);
  const int64_t per_box = uniform_int(rng, 2, std::min<int64_t>(m, 12)), boxes = uniform_int(rng, 2, m);
  const int64_t given = uniform_int(rng, 1, m), total = per_box * boxes + given;
  Built b;
  b.prompt = fmt::format(
      "{} has {} {}. {} gives {} to a friend and packs the rest into boxes of {}. How many boxes does {} fill?",
      who.name, total, treat, who.pronoun == std::string("she") ? "She" : "He", given, per_box, who.pronoun);
  b.steps = step(total, '-', given, total - given) + step(total - given, '/', per_box, boxes);
  b.answer = boxes;
  return b;
}

Built saving(std::mt19937_64& rng, int64_t m) {
  const Person who = pick(rng, kPeople);
  const char* thing = pick(rng, kThings);
  const int64_t weekly = uniform_int(rng, 2, m), weeks = uniform_int(rng, 2, 12);
  const int64_t saved = weekly * weeks, spent = uniform_int(rng, 1, saved);
  Built b;
  b.prompt = fmt::format("{} saves ${} every week. After {} weeks, {} spends ${} on a {}. How many dollars are left?",
                         who.name, weekly, weeks, who.pronoun, spent, thing);
  b.steps = step(weekly, '*', weeks, saved) + step(saved, '-', spent, saved - spent);
  b.answer = saved - spent;
  return b;
}

}  // namespace

Problem WordProblemTask::make(int difficulty, std::mt19937_64& rng) const {
  constexpr int64_t kMax[] = {10, 20, 50, 100};
  const int64_t m = kMax[difficulty - 1];
  const int64_t kind = uniform_int(rng, 0, 3);
  const Built b = kind == 0 ? shopping(rng, m) : kind == 1 ? production(rng, m) : kind == 2 ? packing(rng, m) : saving(rng, m);
  Problem p;
  p.prompt = b.prompt;
  p.ground_truth = fmt::format("{}", b.answer);
  p.metadata = {{"template", std::array{"shopping", "production", "packing", "saving"}[size_t(kind)]},
                {"steps", b.steps}};
  return p;
}

Verification WordProblemTask::verify(const Problem& problem, std::string_view answer) const {
  answer = trim_ascii(answer);
  if (answer.starts_with("$")) answer.remove_prefix(1);  // "$32" is a fine way to write 32 dollars
  return verify_integer(answer, problem.ground_truth);
}

Task::Solution WordProblemTask::solve(const Problem& problem) const {
  return {problem.metadata.at("steps").get<std::string>() + fmt::format("So the answer is {}.", problem.ground_truth),
          problem.ground_truth};
}

}  // namespace whale::rl

// RL task families: seeded determinism, disjoint splits, solvable problems with independently checked
// answers, strict number parsing and the Countdown expression verifier against adversarial answers.
#include <gtest/gtest.h>

#include "error_of.h"

#include <cstdio>
#include <functional>
#include <limits>
#include <set>
#include <string>

#include "core/error.h"
#include "rl/tasks/countdown.h"
#include "rl/tasks/expression.h"
#include "rl/tasks/number.h"
#include "rl/tasks/task.h"

namespace whale::rl {
namespace {

using testing::error_of;

TEST(RlTasks, SameSeedSameProblemsOnEveryFamily) {
  for (const std::string& name : task_names()) {
    auto task = make_task(name);
    std::mt19937_64 a(42), b(42), c(43);
    std::string first_a, first_c;
    for (int i = 0; i < 20; ++i) {
      const Problem pa = task->generate(Split::kTrain, 1 + i % task->max_difficulty(), a);
      const Problem pb = task->generate(Split::kTrain, 1 + i % task->max_difficulty(), b);
      const Problem pc = task->generate(Split::kTrain, 1 + i % task->max_difficulty(), c);
      EXPECT_EQ(pa.prompt, pb.prompt) << name;
      EXPECT_EQ(pa.ground_truth, pb.ground_truth) << name;
      EXPECT_EQ(pa.metadata, pb.metadata) << name;
      first_a += pa.prompt;
      first_c += pc.prompt;
    }
    EXPECT_NE(first_a, first_c) << name;  // another seed, other problems
  }
}

// The exact first problem of a fixed seed: generation must not drift between builds or platforms.
TEST(RlTasks, GoldenFirstProblems) {
  std::mt19937_64 rng(1);
  const Problem p = make_task("arithmetic")->generate(Split::kTrain, 3, rng);
  std::mt19937_64 rng2(1);
  EXPECT_EQ(make_task("arithmetic")->generate(Split::kTrain, 3, rng2).prompt, p.prompt);
  std::printf("arithmetic seed 1 difficulty 3: %s = %s\n", p.prompt.c_str(), p.ground_truth.c_str());
  EXPECT_EQ(uniform_int(rng, 5, 5), 5);
  std::mt19937_64 r(123);
  std::set<int64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = uniform_int(r, -3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(RlTasks, HeldOutSplitIsDisjointFromTrain) {
  for (const std::string& name : task_names()) {
    auto task = make_task(name);
    std::mt19937_64 rng(5);
    std::set<std::string> train, held;
    for (int i = 0; i < 1500; ++i) {
      const Problem p = task->generate(Split::kTrain, 1 + i % task->max_difficulty(), rng);
      EXPECT_EQ(split_of(p.prompt), Split::kTrain);
      EXPECT_EQ(p.metadata.at("split"), "train");
      train.insert(p.prompt);
    }
    for (int i = 0; i < 200; ++i) {
      const Problem p = task->generate(Split::kHeldOut, 1 + i % task->max_difficulty(), rng);
      EXPECT_EQ(split_of(p.prompt), Split::kHeldOut);
      EXPECT_EQ(train.count(p.prompt), 0u) << name << ": " << p.prompt;
      held.insert(p.prompt);
    }
    EXPECT_GT(held.size(), 50u) << name;  // not one problem repeated
  }
}

// Every problem's worked solution verifies, at every difficulty (so the cold-start data is right).
TEST(RlTasks, WorkedSolutionsVerify) {
  for (const std::string& name : task_names()) {
    auto task = make_task(name);
    std::mt19937_64 rng(9);
    for (int d = 1; d <= task->max_difficulty(); ++d)
      for (int i = 0; i < 60; ++i) {
        const Problem p = task->generate(i % 2 ? Split::kTrain : Split::kHeldOut, d, rng);
        const Task::Solution s = task->solve(p);
        const Verification v = task->verify(p, s.answer);
        EXPECT_EQ(v.verdict, Verdict::kCorrect) << name << " d" << d << ": " << p.prompt << " → " << s.answer
                                                << " (" << v.reason << ")";
        EXPECT_FALSE(s.thinking.empty());
      }
  }
}

// Independent checks of the ground truth: recompute from the prompt / equation.
TEST(RlTasks, ArithmeticGroundTruthMatchesThePrompt) {
  auto task = make_task("arithmetic");
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300; ++i) {
    const Problem p = task->generate(Split::kTrain, 1 + i % 8, rng);
    long long a = 0, b = 0;
    char op = 0;
    ASSERT_EQ(std::sscanf(p.prompt.c_str(), "What is %lld %c %lld?", &a, &op, &b), 3) << p.prompt;
    const long long want = op == '+' ? a + b : op == '-' ? a - b : a * b;
    EXPECT_EQ(p.ground_truth, std::to_string(want)) << p.prompt;
    EXPECT_EQ(std::to_string(a).size(), size_t(p.difficulty)) << p.prompt;
  }
}

TEST(RlTasks, LinearEquationSolutionSatisfiesTheEquation) {
  auto task = make_task("linear_equation");
  std::mt19937_64 rng(12);
  for (int i = 0; i < 300; ++i) {
    const Problem p = task->generate(Split::kTrain, 1 + i % 5, rng);
    const auto& m = p.metadata;
    const int64_t x = std::stoll(p.ground_truth), a = m["a"], b = m["b"], c = m["c"], d = m["d"];
    if (m["form"] == "a(x+b)=d")
      EXPECT_EQ(a * (x + b), d) << p.prompt;
    else
      EXPECT_EQ(a * x + b, c * x + d) << p.prompt;
    EXPECT_NE(m["form"] == "a(x+b)=d" ? a : a - c, 0) << p.prompt;  // unique solution
  }
  std::mt19937_64 r(3);
  const Problem p = task->generate(Split::kTrain, 2, r);
  EXPECT_EQ(task->verify(p, "x = " + p.ground_truth).verdict, Verdict::kCorrect);
  EXPECT_EQ(task->verify(p, " x=" + p.ground_truth + " ").verdict, Verdict::kCorrect);
  EXPECT_EQ(task->verify(p, "x " + p.ground_truth).verdict, Verdict::kNoAnswer);
  EXPECT_EQ(task->verify(p, "y = " + p.ground_truth).verdict, Verdict::kNoAnswer);
}

TEST(RlTasks, CountdownProblemsAreSolvableBySearch) {
  auto task = make_task("countdown");
  std::mt19937_64 rng(13);
  for (int i = 0; i < 60; ++i) {
    const Problem p = task->generate(Split::kTrain, 1 + i % 4, rng);  // up to 4 numbers: fast search
    const std::vector<int64_t> numbers = p.metadata["numbers"];
    const int64_t target = p.metadata["target"];
    EXPECT_GE(target, 1);
    EXPECT_LE(target, 999);
    const std::optional<std::string> found = solve_countdown(numbers, target);
    ASSERT_TRUE(found) << p.prompt;
    EXPECT_EQ(task->verify(p, *found).verdict, Verdict::kCorrect) << *found;
  }
  EXPECT_FALSE(solve_countdown({2, 2}, 7));
}

Problem countdown_problem(std::vector<int64_t> numbers, int64_t target) {
  Problem p;
  p.task = "countdown";
  p.ground_truth = std::to_string(target);
  p.metadata = {{"numbers", numbers}, {"target", target}};
  return p;
}

TEST(RlTasks, CountdownVerifierAdversarial) {
  auto task = make_task("countdown");
  const Problem p = countdown_problem({3, 7, 25, 50}, 75);
  auto verdict = [&](const std::string& answer) { return task->verify(p, answer).verdict; };
  EXPECT_EQ(verdict("50 + 25"), Verdict::kCorrect);
  EXPECT_EQ(verdict(" 50+25 "), Verdict::kCorrect);
  EXPECT_EQ(verdict("25 * 3"), Verdict::kCorrect);
  EXPECT_EQ(verdict("(50 + 25) * (7 - 7 + 3) / 3"), Verdict::kWrong);  // 7 used twice
  EXPECT_EQ(verdict("25 \xC3\x97 3"), Verdict::kCorrect);               // ×
  EXPECT_EQ(verdict("50 + 25 = 75"), Verdict::kCorrect);
  EXPECT_EQ(verdict("50 + 25 = 76"), Verdict::kWrong);
  EXPECT_EQ(verdict("50 + 3 = 75"), Verdict::kWrong);
  EXPECT_EQ(verdict("50 + 25 = seventy-five"), Verdict::kNoAnswer);
  EXPECT_EQ(verdict("50 + 3"), Verdict::kWrong);
  EXPECT_EQ(verdict("25 + 25 + 25"), Verdict::kWrong);
  EXPECT_EQ(verdict("25 * 3 * 1"), Verdict::kWrong);  // 1 not given
  EXPECT_EQ(task->verify(p, "25 * 3 * 1").reason, "1 is not available (not given, or used too often)");
  EXPECT_EQ(verdict("99999999999999999999999 - 99999999999999999999924"), Verdict::kWrong);  // huge literals
  EXPECT_EQ(verdict("-3 + 78"), Verdict::kNoAnswer);                        // no unary minus
  EXPECT_EQ(verdict("\xD9\xA5\xD9\xA0 + 25"), Verdict::kNoAnswer);          // Arabic-Indic ٥٠
  EXPECT_EQ(verdict("\xEF\xBC\x95\xEF\xBC\x90 + 25"), Verdict::kNoAnswer);  // full-width ５０
  EXPECT_EQ(verdict("50.0 + 25"), Verdict::kNoAnswer);
  EXPECT_EQ(verdict(""), Verdict::kNoAnswer);
  EXPECT_EQ(verdict("(50 + 25"), Verdict::kNoAnswer);
  EXPECT_EQ(verdict("50 + 25)"), Verdict::kNoAnswer);
  EXPECT_EQ(verdict("50 25"), Verdict::kNoAnswer);
  EXPECT_EQ(verdict(std::string(10000, '(') + "50" + std::string(10000, ')')), Verdict::kNoAnswer);
  EXPECT_EQ(verdict(std::string(40, '(') + "50 + 25" + std::string(40, ')')), Verdict::kNoAnswer);  // too deep
  EXPECT_EQ(verdict(std::string(20, '(') + "50 + 25" + std::string(20, ')')), Verdict::kCorrect);

  // Division by zero (with a number given twice, so the numbers themselves are legal).
  const Problem z = countdown_problem({7, 7, 50}, 50);
  const Verification dz = task->verify(z, "50 / (7 - 7)");
  EXPECT_EQ(dz.verdict, Verdict::kWrong);
  EXPECT_EQ(dz.reason, "division by zero");
  EXPECT_EQ(task->verify(z, "50 * 7 / 7").verdict, Verdict::kCorrect);

  // Exact rationals: fractional intermediates are fine, floating point would not be exact.
  const Problem q = countdown_problem({50, 3, 25, 3, 3}, 75);
  EXPECT_EQ(task->verify(q, "(50 / 3 + 25 / 3) * 3").verdict, Verdict::kCorrect);
  EXPECT_EQ(task->verify(q, "(50 / 3 + 25 / 3) * 3").key, "75");
  const Problem f = countdown_problem({1, 3, 3}, 1);
  EXPECT_EQ(task->verify(f, "1 / 3 * 3").verdict, Verdict::kCorrect);

  // Overflow of the exact arithmetic is an error, not UB.
  const Problem big = countdown_problem({999999999, 999999999, 999999999, 999999999}, 1);
  const Verification ov = task->verify(big, "999999999 * 999999999 * 999999999 * 999999999");
  EXPECT_EQ(ov.verdict, Verdict::kWrong);
  EXPECT_EQ(ov.reason, "overflow");
}

TEST(RlTasks, ExpressionEvaluator) {
  EXPECT_EQ(evaluate_expression("1 + 2 * 3").value, (Rational{7, 1}));
  EXPECT_EQ(evaluate_expression("(1 + 2) * 3").value, (Rational{9, 1}));
  EXPECT_EQ(evaluate_expression("8 - 3 - 2").value, (Rational{3, 1}));  // left associative
  EXPECT_EQ(evaluate_expression("8 / 4 / 2").value, (Rational{1, 1}));
  EXPECT_EQ(evaluate_expression("2 / 4").value, (Rational{1, 2}));
  EXPECT_EQ(evaluate_expression("1 - 7 / 3").value.str(), "-4/3");
  EXPECT_EQ(evaluate_expression("007").numbers, (std::vector<int64_t>{7}));
  const ExpressionValue e = evaluate_expression("1 / 0 +");  // syntax error wins over the evaluation error
  EXPECT_FALSE(e.parsed);
}

TEST(RlTasks, StrictIntegers) {
  EXPECT_EQ(canonical_integer(" 42 "), "42");
  EXPECT_EQ(canonical_integer("+007"), "7");
  EXPECT_EQ(canonical_integer("-0"), "0");
  EXPECT_EQ(canonical_integer("-12"), "-12");
  EXPECT_EQ(canonical_integer("123456789012345678901234567890"), "123456789012345678901234567890");
  for (const char* bad : {"", " ", "-", "+-1", "1 2", "1,000", "1.0", "1e3", "0x10", "١٢", "\xEF\xBC\x91", "12a", "²"})
    EXPECT_FALSE(canonical_integer(bad)) << bad;
  EXPECT_EQ(parse_int64("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parse_int64("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(parse_int64("9223372036854775808"));
  EXPECT_FALSE(parse_int64("-9223372036854775809"));
  EXPECT_FALSE(parse_int64("99999999999999999999999999"));
  EXPECT_EQ(verify_integer("00936", "936").verdict, Verdict::kCorrect);
  EXPECT_EQ(verify_integer("937", "936").verdict, Verdict::kWrong);
  EXPECT_EQ(verify_integer("9360000000000000000000000000000", "936").verdict, Verdict::kWrong);
  EXPECT_EQ(verify_integer("nine", "936").verdict, Verdict::kNoAnswer);
}

TEST(RlTasks, UnknownNamesAreClearErrors) {
  EXPECT_NE(error_of([] { make_task("sudoku"); }).find("unknown task 'sudoku' (known: arithmetic"), std::string::npos);
  EXPECT_NE(error_of([] { parse_split("dev"); }).find("unknown split 'dev'"), std::string::npos);
}

}  // namespace
}  // namespace whale::rl

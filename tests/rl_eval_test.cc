// Evaluation metrics on hand-computed cases: pass@1 over K samples, cons@K majority vote, pass@K, rates.
#include "rl/eval.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"

namespace whale::rl {
namespace {

Problem integer_problem(const std::string& question, const std::string& truth) {
  Problem p;
  p.task = "arithmetic";
  p.prompt = question;
  p.ground_truth = truth;
  return p;
}

std::string answer(const std::string& a) { return "<think>work</think><answer>" + a + "</answer>"; }

TEST(RlEval, MajorityVote) {
  auto v = [](std::optional<std::string> key) { return Verification{Verdict::kWrong, "", std::move(key)}; };
  EXPECT_EQ(majority_vote(std::vector<Verification>{v("1"), v("2"), v("2")}), 1u);
  EXPECT_EQ(majority_vote(std::vector<Verification>{v("3"), v("2"), v("2"), v("3")}), 0u);  // tie: seen first
  EXPECT_EQ(majority_vote(std::vector<Verification>{v(std::nullopt), v(std::nullopt), v("5")}), 2u);
  EXPECT_FALSE(majority_vote(std::vector<Verification>{v(std::nullopt)}));
  EXPECT_FALSE(majority_vote(std::vector<Verification>{}));
}

TEST(RlEval, HandComputedMetrics) {
  auto task = make_task("arithmetic");
  const std::vector<Problem> problems = {integer_problem("What is 1 + 1?", "2"), integer_problem("What is 2 + 2?", "4"),
                                         integer_problem("What is 3 + 3?", "6")};
  const std::vector<std::vector<std::string>> responses = {
      // 2 of 4 correct; votes 2,2,3,3 → tie, "2" seen first → cons correct
      {answer("2"), answer("3"), answer("02"), answer("3")},
      // 1 of 4 correct; majority "5" (3 votes) → cons wrong; unformatted reply with a reflection word
      {answer("5"), answer("5"), "wait, 4", answer("4 "), answer("5")},
      // 0 correct; no parsable answers → cons wrong
      {"<answer>six</answer>", "Let me check: 6"},
  };
  const EvalMetrics m = evaluate(*task, problems, responses);
  EXPECT_EQ(m.n_problems, 3);
  EXPECT_EQ(m.n_samples, 11);
  EXPECT_NEAR(m.pass_at_1, (2.0 / 4 + 1.0 / 5 + 0.0) / 3, 1e-12);
  EXPECT_NEAR(m.cons_at_k, 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.pass_at_k, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.format_rate, 8.0 / 11, 1e-12);
  EXPECT_NEAR(m.reflection_rate, 2.0 / 11, 1e-12);
  EXPECT_GT(m.mean_chars, 0);
}

TEST(RlEval, ReflectionWords) {
  EXPECT_TRUE(has_reflection("Wait, that is wrong"));
  EXPECT_TRUE(has_reflection("let me double-check"));
  EXPECT_TRUE(has_reflection("VERIFY: 3*4=12"));
  EXPECT_FALSE(has_reflection("the waiter checked out"));  // whole words only
  EXPECT_FALSE(has_reflection("7 + 9 = 16"));
}

TEST(RlEval, RejectsMismatchedInput) {
  auto task = make_task("arithmetic");
  const std::vector<Problem> problems = {integer_problem("q", "1")};
  try {
    evaluate(*task, problems, {});
    ADD_FAILURE() << "expected whale::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 problems but 0 response lists"), std::string::npos);
  }
  EXPECT_THROW(evaluate(*task, problems, {{}}), Error);
}

}  // namespace
}  // namespace whale::rl

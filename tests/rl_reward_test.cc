// Rewards: R1-Zero prompts, last-answer extraction, format reward and accuracy (1/0; Countdown 0/0.1/1)
// against adversarial completions.
#include "rl/reward.h"

#include <gtest/gtest.h>

#include <string>

#include "rl/tasks/task.h"

namespace whale::rl {
namespace {

Problem arithmetic_problem() {  // "What is 347 + 589?" = 936
  Problem p;
  p.task = "arithmetic";
  p.prompt = "What is 347 + 589?";
  p.ground_truth = "936";
  p.metadata = {{"a", 347}, {"b", 589}, {"op", "+"}};
  return p;
}

Problem countdown_problem() {
  Problem p;
  p.task = "countdown";
  p.prompt = "Using the numbers [3, 7, 25, 50], create an equation that equals 75.";
  p.ground_truth = "75";
  p.metadata = {{"numbers", {3, 7, 25, 50}}, {"target", 75}};
  return p;
}

TEST(RlReward, PromptsCarryTheInstructionAndQuestion) {
  const Problem p = arithmetic_problem();
  const std::string prompt = r1_zero_prompt(p);
  EXPECT_TRUE(prompt.starts_with(kReasoningInstruction));
  EXPECT_TRUE(prompt.ends_with("User: What is 347 + 589? Assistant:"));
  EXPECT_TRUE(r1_zero_prompt(p, {.prefill_think = true}).ends_with("Assistant: <think>"));
  EXPECT_EQ(full_response({.prefill_think = true}, " x </think>"), "<think> x </think>");
  const nlohmann::json with_system = chat_messages(p, Instruction::kSystem);
  ASSERT_EQ(with_system.size(), 2u);
  EXPECT_EQ(with_system[0]["role"], "system");
  EXPECT_EQ(with_system[1]["content"], p.prompt);
  const nlohmann::json user_only = chat_messages(p, Instruction::kUser);
  ASSERT_EQ(user_only.size(), 1u);
  EXPECT_EQ(user_only[0]["role"], "user");
  EXPECT_NE(user_only[0]["content"].get<std::string>().find("<answer> </answer>"), std::string::npos);
  const nlohmann::json bare = chat_messages(p, Instruction::kNone);
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0]["content"], p.prompt);
}

TEST(RlReward, ExtractsTheLastCompleteAnswer) {
  EXPECT_EQ(extract_answer("<answer>5</answer>"), "5");
  EXPECT_EQ(extract_answer("<think>a</think><answer>1</answer> then <answer>2</answer>"), "2");
  EXPECT_EQ(extract_answer("<answer>1</answer> <answer>2"), "1");  // last one never closed
  EXPECT_EQ(extract_answer("<answer><answer>7</answer></answer>"), "7");
  EXPECT_EQ(extract_answer("<answer> 12 </answer>"), " 12 ");
  EXPECT_EQ(extract_answer("<answer></answer>"), "");
  EXPECT_FALSE(extract_answer("the answer is 936"));
  EXPECT_FALSE(extract_answer("<answer>936"));
  EXPECT_FALSE(extract_answer("936</answer>"));
  EXPECT_FALSE(extract_answer("</answer>936<answer>"));
  EXPECT_FALSE(extract_answer(""));
}

TEST(RlReward, FormatReward) {
  EXPECT_EQ(format_reward("<think>7+9=16</think><answer>936</answer>"), 1.0);
  EXPECT_EQ(format_reward("  <think>\nsteps\n</think>\n<answer> 936 </answer>\n"), 1.0);
  EXPECT_EQ(format_reward("<think>a</think> text <answer>1</answer>"), 0.0);   // text between blocks
  EXPECT_EQ(format_reward("<think>a</think><answer>1</answer> trailing"), 0.0);
  EXPECT_EQ(format_reward("lead <think>a</think><answer>1</answer>"), 0.0);
  EXPECT_EQ(format_reward("<answer>1</answer><think>a</think>"), 0.0);         // wrong order
  EXPECT_EQ(format_reward("<think>a</think><answer>1</answer><answer>2</answer>"), 0.0);  // two answers
  EXPECT_EQ(format_reward("<think><think>a</think><answer>1</answer>"), 0.0);
  EXPECT_EQ(format_reward("<think> </think><answer>1</answer>"), 0.0);         // empty reasoning
  EXPECT_EQ(format_reward("<think>a</think><answer> </answer>"), 0.0);         // empty answer
  EXPECT_EQ(format_reward("<think>a<answer>1</answer></think>"), 0.0);         // answer inside think
  EXPECT_EQ(format_reward("<answer>1</answer>"), 0.0);
  EXPECT_EQ(format_reward(""), 0.0);
}

TEST(RlReward, AccuracyAgainstAdversarialOutputs) {
  auto task = make_task("arithmetic");
  const Problem p = arithmetic_problem();
  auto acc = [&](const std::string& response) { return score_response(*task, p, response).accuracy; };
  EXPECT_EQ(acc("<think>add</think><answer>936</answer>"), 1.0);
  EXPECT_EQ(acc("<answer>936</answer>"), 1.0);  // accuracy ignores the format
  EXPECT_EQ(acc("<answer>\n 936 \t</answer>"), 1.0);
  EXPECT_EQ(acc("<answer>+0936</answer>"), 1.0);
  EXPECT_EQ(acc("<answer>935</answer>"), 0.0);
  EXPECT_EQ(acc("<answer>936</answer> no wait <answer>935</answer>"), 0.0);  // the last answer counts
  EXPECT_EQ(acc("<answer>935</answer> no wait <answer>936</answer>"), 1.0);
  EXPECT_EQ(acc("936"), 0.0);                                                 // missing tags
  EXPECT_EQ(acc("<answer></answer>"), 0.0);
  EXPECT_EQ(acc("<answer>   </answer>"), 0.0);
  EXPECT_EQ(acc("<answer>936.0</answer>"), 0.0);
  EXPECT_EQ(acc("<answer>9 3 6</answer>"), 0.0);
  EXPECT_EQ(acc("<answer>\xD9\xA9\xD9\xA3\xD9\xA6</answer>"), 0.0);  // ٩٣٦ (Arabic-Indic digits)
  EXPECT_EQ(acc("<answer>\xEF\xBC\x99\xEF\xBC\x93\xEF\xBC\x96</answer>"), 0.0);  // ９３６ (full width)
  EXPECT_EQ(acc("<answer>" + std::string(5000, '9') + "</answer>"), 0.0);          // huge, no overflow
  EXPECT_EQ(acc("<answer>" + std::string(5000, '0') + "936</answer>"), 1.0);       // leading zeros
  EXPECT_EQ(acc("<answer>936</answer"), 0.0);

  const Reward none = score_response(*task, p, "no tags at all");
  EXPECT_EQ(none.verification.verdict, Verdict::kNoAnswer);
  EXPECT_EQ(none.total, 0.0);
  const Reward good = score_response(*task, p, "<think>6+9</think> <answer>936</answer>", {.format_weight = 0.5});
  EXPECT_EQ(good.format, 1.0);
  EXPECT_EQ(good.total, 1.5);
  const Reward formatted_wrong = score_response(*task, p, "<think>x</think><answer>1</answer>");
  EXPECT_DOUBLE_EQ(formatted_wrong.total, 0.1);
}

TEST(RlReward, CountdownTinyZeroScores) {
  auto task = make_task("countdown");
  const Problem p = countdown_problem();
  auto acc = [&](const std::string& response) { return score_response(*task, p, response).accuracy; };
  EXPECT_EQ(acc("<think>50+25</think><answer>50 + 25</answer>"), 1.0);
  EXPECT_EQ(acc("<answer>(50 - 25) * 3</answer>"), 1.0);
  EXPECT_EQ(acc("<answer>50 - 25</answer>"), 0.1);         // wrong value
  EXPECT_EQ(acc("<answer>25 + 25 + 25</answer>"), 0.1);    // reused number
  EXPECT_EQ(acc("<answer>75</answer>"), 0.1);              // 75 is not a given number
  EXPECT_EQ(acc("<answer>50 / (3 - 3)</answer>"), 0.1);    // 3 twice, and division by zero
  EXPECT_EQ(acc("<answer>" + std::string(30, '9') + " / 3</answer>"), 0.1);  // huge literal
  EXPECT_EQ(acc("<answer>fifty plus twenty-five</answer>"), 0.0);
  EXPECT_EQ(acc("<answer></answer>"), 0.0);
  EXPECT_EQ(acc("50 + 25"), 0.0);
}

}  // namespace
}  // namespace whale::rl

// models/whale-r0, the model the README's first command talks to, as a user meets it: `whale chat` closes its
// reasoning and answers in the content, and the model card's evaluation (eval.jsonl, written by
// scripts/train_whale_r0.sh) reproduces from the shipped weights with the card's command.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "run_command.h"

namespace whale::testing {
namespace {

using nlohmann::json;
const std::string kWhale = WHALE_BINARY;
const std::string kModel = std::string(WHALE_MODELS_DIR) + "/whale-r0";

// The one-shot answer after the reasoning; fails the test when the reasoning is not closed.
std::string answer_to(const std::string& question) {
  const CommandResult r =
      run_command(kWhale + " chat --model " + kModel + " --threads 1 --temperature 0 '" + question + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const size_t end = r.output.find("</think>");
  EXPECT_NE(end, std::string::npos) << r.output;
  return end == std::string::npos ? "" : r.output.substr(end);
}

TEST(ShippedModel, ThinksThenAnswersInTheContent) {
  EXPECT_NE(answer_to("What is 2 + 3?").find("<answer>5</answer>"), std::string::npos);
  EXPECT_NE(answer_to("What is 40 + 17?").find("<answer>57</answer>"), std::string::npos);
  EXPECT_NE(answer_to("hi").find("whale-r0"), std::string::npos);  // a chat turn, not arithmetic
}

// One cell of the card's table, recomputed: sampling is seeded, so only floating-point differences between SIMD
// targets can move a sample; a few samples of 256 may flip, a retrained or corrupted model moves many.
TEST(ShippedModel, ModelCardEvaluationReproduces) {
  std::ifstream in(kModel + "/eval.jsonl");
  ASSERT_TRUE(in) << kModel << "/eval.jsonl";
  std::optional<double> card;
  for (std::string line; std::getline(in, line);) {
    const json row = json::parse(line);
    if (row["instruction"] == "none" && row["task"] == "arithmetic" && row["difficulty"] == 3)
      card = row["pass_at_1"].get<double>();
  }
  ASSERT_TRUE(card) << "no 3-digit arithmetic row in eval.jsonl";
  const CommandResult r = run_command(kWhale + " eval --model " + kModel +
                                      " --task arithmetic --prompt chat --instruction none --min-difficulty 3 "
                                      "--max-difficulty 3 --n 64 --samples 4 --temperature 0.6 --top-p 0.95 "
                                      "--max-new-tokens 320 --seed 11 --threads 2 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json got = json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(got["format_rate"].get<double>(), 1.0) << r.output;
  EXPECT_NEAR(got["pass_at_1"].get<double>(), *card, 0.03) << r.output;
}

}  // namespace
}  // namespace whale::testing

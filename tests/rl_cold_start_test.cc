// Cold-start data: every worked response earns full accuracy and format reward, output is deterministic,
// solutions stay short, and `whale rl cold-start` writes valid JSONL (or fails cleanly).
#include "rl/cold_start.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "run_command.h"

namespace whale::rl {
namespace {

namespace fs = std::filesystem;

TEST(RlColdStart, WorkedResponsesEarnFullReward) {
  for (const std::string& name : task_names()) {
    auto task = make_task(name);
    std::mt19937_64 rng(21);
    double chars = 0;
    size_t longest = 0;
    const int n = 200;
    for (int i = 0; i < n; ++i) {
      const Problem p = task->generate(Split::kTrain, 1 + i % task->max_difficulty(), rng);
      const std::string response = worked_response(*task, p);
      const Reward r = score_response(*task, p, response);
      EXPECT_EQ(r.accuracy, 1.0) << response;
      EXPECT_EQ(r.format, 1.0) << response;
      chars += double(response.size());
      longest = std::max(longest, response.size());
    }
    std::printf("[%s] worked response: mean %.0f bytes, longest %zu\n", name.c_str(), chars / n, longest);
    EXPECT_LT(chars / n, 400);  // short enough for a tiny model (~150 tokens at worst)
  }
}

TEST(RlColdStart, RecordsInBothFormats) {
  auto task = make_task("arithmetic");
  std::mt19937_64 rng(2);
  const Problem p = task->generate(Split::kTrain, 2, rng);
  const nlohmann::json chat = cold_start_record(*task, p, {.format = ColdStartFormat::kChat, .instruction = Instruction::kSystem});
  ASSERT_EQ(chat["messages"].size(), 3u);
  EXPECT_EQ(chat["messages"][0]["role"], "system");
  EXPECT_EQ(chat["messages"][1]["content"], p.prompt);
  EXPECT_EQ(chat["messages"][2]["role"], "assistant");
  EXPECT_TRUE(chat["messages"][2]["content"].get<std::string>().starts_with("<think>\n"));

  // Without the instruction the user turn is the question alone, as a user types it; the default puts it after.
  const nlohmann::json bare = cold_start_record(*task, p, {.instruction = Instruction::kNone});
  ASSERT_EQ(bare["messages"].size(), 2u);
  EXPECT_EQ(bare["messages"][0]["content"], p.prompt);
  const nlohmann::json told = cold_start_record(*task, p, {});
  EXPECT_TRUE(told["messages"][0]["content"].get<std::string>().starts_with(p.prompt + " Think step by step"));
  EXPECT_EQ(told["messages"][1]["content"], bare["messages"][1]["content"]);

  const nlohmann::json text = cold_start_record(*task, p, {.format = ColdStartFormat::kText});
  EXPECT_EQ(text["prompt"], r1_zero_prompt(p));
  EXPECT_EQ(text["text"], text["prompt"].get<std::string>() + text["completion"].get<std::string>());
  const nlohmann::json prefilled =
      cold_start_record(*task, p, {.format = ColdStartFormat::kText, .prompt = {.prefill_think = true}});
  EXPECT_TRUE(prefilled["prompt"].get<std::string>().ends_with("<think>"));
  EXPECT_EQ(format_reward(full_response({.prefill_think = true}, prefilled["completion"].get<std::string>())), 1.0);
}

TEST(RlColdStart, DeterministicAndMixesFamilies) {
  std::ostringstream a, b, c;
  write_cold_start({.task = "all", .n = 40, .seed = 3}, a);
  write_cold_start({.task = "all", .n = 40, .seed = 3}, b);
  write_cold_start({.task = "all", .n = 40, .seed = 4}, c);
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str(), c.str());
  std::istringstream lines(a.str());
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) EXPECT_TRUE(nlohmann::json::parse(line).contains("messages"));
  EXPECT_EQ(n, 40);
  std::ostringstream sink;
  EXPECT_THROW(write_cold_start({.task = "chess", .n = 1}, sink), Error);
  EXPECT_THROW(write_cold_start({.n = 1, .min_difficulty = 3, .max_difficulty = 2}, sink), Error);
}

TEST(RlColdStart, Command) {
  const fs::path dir = fs::temp_directory_path() / ("whale_rl_cold_start_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path out = dir / "cold.jsonl";
  const auto ok = testing::run_command(std::string(WHALE_BINARY) + " rl cold-start --task countdown --n 25 --seed 7 --out " +
                                       out.string() + " --format text");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  std::ifstream in(out);
  int n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    const nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("prompt") && j.contains("completion")) << line;
  }
  EXPECT_EQ(n, 25);
  const auto again = testing::run_command(std::string(WHALE_BINARY) +
                                          " rl cold-start --task countdown --n 25 --seed 7 --format text --out -");
  std::ifstream whole(out);
  std::stringstream expect;
  expect << whole.rdbuf();
  EXPECT_EQ(again.output, expect.str());

  const fs::path bad = dir / "bad.jsonl";
  const auto fail = testing::run_command(std::string(WHALE_BINARY) + " rl cold-start --task chess --n 5 --out " + bad.string());
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_NE(fail.output.find("unknown task 'chess'"), std::string::npos) << fail.output;
  EXPECT_FALSE(fs::exists(bad));
  EXPECT_FALSE(fs::exists(bad.string() + ".tmp"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace whale::rl

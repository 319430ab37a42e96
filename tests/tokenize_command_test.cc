// Runs the built `whale` binary: `whale tokenize` (JSON lines, --text) and `whale tokenizer train`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

using nlohmann::json;

const std::string kDeepSeekDir = std::string(WHALE_FIXTURES_DIR) + "/tokenizer/deepseek-v3";

struct RunResult {
  int exit_code;
  std::vector<std::string> lines;  // stdout split at '\n'
};

// A scratch directory per test process (CTest runs tests in parallel processes).
std::filesystem::path scratch_dir(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("whale_" + name + "_" + std::to_string(getpid()));
}

RunResult run_whale(const std::string& args, const std::string& input) {
  const auto dir = scratch_dir("tokenize_command_test");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in.txt", std::ios::binary) << input;
  const std::string command = std::string(WHALE_BINARY) + " " + args + " < " + (dir / "in.txt").string() + " > " +
                              (dir / "out.txt").string() + " 2> " + (dir / "err.txt").string();
  const int status = std::system(command.c_str());
  std::ifstream out(dir / "out.txt", std::ios::binary);
  RunResult r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, {}};
  for (std::string line; std::getline(out, line);) r.lines.push_back(line);
  return r;
}

TEST(TokenizeCommand, JsonLinesWithAMalformedLine) {
  const std::string input =
      "{\"text\": \"Hello, world!\"}\n"
      "this is not json\n"
      "{\"text\": \"你好，世界！\"}\n"
      "{\"text\": 42}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"What is 17*23?\"}], \"add_generation_prompt\": true}\n";
  const RunResult r = run_whale("tokenize --tokenizer " + kDeepSeekDir, input);
  EXPECT_NE(r.exit_code, 0);  // some lines failed
  ASSERT_EQ(r.lines.size(), 5u);
  EXPECT_EQ(json::parse(r.lines[0]), (json{{"ids", {19923, 14, 2058, 3}}, {"decoded", "Hello, world!"}}));
  EXPECT_TRUE(json::parse(r.lines[1]).contains("error"));
  EXPECT_EQ(json::parse(r.lines[2])["ids"], (json{30594, 303, 3427, 1175}));
  EXPECT_NE(json::parse(r.lines[3])["error"].get<std::string>().find("'text'"), std::string::npos);
  EXPECT_EQ(json::parse(r.lines[4])["rendered"], "<｜begin▁of▁sentence｜><｜User｜>What is 17*23?<｜Assistant｜>");
  EXPECT_EQ(json::parse(r.lines[4])["ids"], (json{0, 128803, 3085, 344, 223, 1002, 12, 1349, 33, 128804}));
}

TEST(TokenizeCommand, EveryFixtureChatCaseMatchesTransformers) {
  std::ifstream in(kDeepSeekDir + "/cases.jsonl");
  std::vector<json> chats;
  std::string input;
  for (std::string line; std::getline(in, line);) {
    const json c = json::parse(line);
    if (!c.contains("messages")) continue;
    chats.push_back(c);
    input += json{{"messages", c["messages"]}, {"add_generation_prompt", c["add_generation_prompt"]}}.dump() + "\n";
  }
  ASSERT_GE(chats.size(), 10u);
  const RunResult r = run_whale("tokenize --tokenizer " + kDeepSeekDir, input);
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.lines.size(), chats.size());
  for (size_t i = 0; i < chats.size(); ++i) {
    const json got = json::parse(r.lines[i]);
    EXPECT_EQ(got["rendered"], chats[i]["rendered"]) << "chat case " << i;
    EXPECT_EQ(got["ids"], chats[i]["ids"]) << "chat case " << i;
  }
}

TEST(TokenizeCommand, TextFlagForHumans) {
  const RunResult r = run_whale("tokenize --tokenizer " + kDeepSeekDir + " --text 'Hello world'", "");
  EXPECT_EQ(r.exit_code, 0);
  std::string all;
  for (const std::string& l : r.lines) all += l + "\n";
  EXPECT_NE(all.find("[19923,2058]"), std::string::npos) << all;
  EXPECT_NE(all.find("decoded: \"Hello world\""), std::string::npos) << all;
  EXPECT_NE(run_whale("tokenize --tokenizer /nonexistent", "").exit_code, 0);
}

TEST(TokenizerTrainCommand, TrainsALoadableTokenizer) {
  const auto dir = scratch_dir("tokenizer_train_command_test");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream corpus(dir / "corpus.txt");
    for (int i = 0; i < 2000; ++i) corpus << "line " << i << ": mixture of experts 混合专家 routing\n";
  }
  const RunResult r = run_whale("tokenizer train --input " + (dir / "corpus.txt").string() +
                                    " --vocab-size 400 --special-tokens '<s>' '</s>' --out " + (dir / "tok").string(),
                                "");
  ASSERT_EQ(r.exit_code, 0);
  const Tokenizer t = Tokenizer::load(dir / "tok");
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  const std::string text = "<s>line 7: mixture of experts 混合专家</s>";
  EXPECT_EQ(t.decode(t.encode(text)), text);
  EXPECT_LT(t.encode(text).size(), 12u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace whale

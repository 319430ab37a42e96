// generation_config.json: the checkpoint's sampling defaults, as generate, chat and serve apply them.
#include "engine/generation_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "run_command.h"
#include "server/request.h"
#include "temp_dir.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::string& text) {
  try {
    GenerationConfig::from_json(text, "gc.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GenerationConfig, ReadsTheKeysVllmReads) {
  // DeepSeek-R1's generation_config.json.
  const GenerationConfig r1 = GenerationConfig::from_json(
      R"({"_from_model_config": true, "bos_token_id": 0, "eos_token_id": 1, "do_sample": true,
          "temperature": 0.6, "top_p": 0.95, "transformers_version": "4.46.3"})",
      "r1");
  const SamplingParams p = r1.sampling({.temperature = 1.0f, .top_k = 7, .seed = 3});
  EXPECT_FLOAT_EQ(p.temperature, 0.6f);
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_EQ(p.top_k, 7) << "keys the file does not set keep the caller's value";
  EXPECT_EQ(p.seed, 3u);
  EXPECT_EQ(r1.eos_token_ids, std::vector<int32_t>{1});
  EXPECT_TRUE(r1.ignored.empty());
  EXPECT_FALSE(r1.max_new_tokens);

  // Qwen2.5-style: a list of end ids, top_k, a repetition penalty; a penalty whale does not apply.
  const GenerationConfig qwen = GenerationConfig::from_json(
      R"({"do_sample": true, "eos_token_id": [151645, 151643], "repetition_penalty": 1.05, "temperature": 0.7,
          "top_k": 20, "top_p": 0.8, "max_new_tokens": 512, "frequency_penalty": 0.5})",
      "qwen");
  EXPECT_EQ(qwen.eos_token_ids, (std::vector<int32_t>{151645, 151643}));
  EXPECT_EQ(qwen.sampling({}).top_k, 20);
  EXPECT_EQ(qwen.max_new_tokens, 512);
  EXPECT_FLOAT_EQ(qwen.repetition_penalty.value_or(0), 1.05f);
  ASSERT_EQ(qwen.ignored.size(), 1u);
  EXPECT_EQ(qwen.ignored[0], "frequency_penalty = 0.5");
  EXPECT_FALSE(r1.repetition_penalty);

  // do_sample = false: greedy, whatever the temperature says; neutral penalties are not reported.
  const GenerationConfig greedy =
      GenerationConfig::from_json(R"({"do_sample": false, "temperature": 0.9, "repetition_penalty": 1.0})", "g");
  EXPECT_EQ(greedy.sampling({.temperature = 1.0f}).temperature, 0.0f);
  EXPECT_TRUE(greedy.ignored.empty());
  EXPECT_EQ(GenerationConfig::from_json("{}", "e").sampling({.temperature = 1.0f}).temperature, 1.0f);
}

TEST(GenerationConfig, BadValuesNameTheFileAndKey) {
  EXPECT_NE(error_of(R"({"temperature": "warm"})").find("gc.json: 'temperature' must be a number"), std::string::npos);
  EXPECT_NE(error_of(R"({"top_p": 1.5})").find("'top_p'"), std::string::npos);
  EXPECT_NE(error_of(R"({"top_p": 0})").find("'top_p' must be > 0"), std::string::npos);
  EXPECT_NE(error_of(R"({"top_k": 2.5})").find("'top_k' must be an integer"), std::string::npos);
  EXPECT_NE(error_of(R"({"max_new_tokens": 0})").find("'max_new_tokens'"), std::string::npos);
  EXPECT_NE(error_of(R"({"eos_token_id": [1, "x"]})").find("'eos_token_id'"), std::string::npos);
  EXPECT_NE(error_of(R"({"do_sample": "yes"})").find("'do_sample'"), std::string::npos);
  EXPECT_NE(error_of(R"({"repetition_penalty": 0})").find("'repetition_penalty' must be > 0"), std::string::npos);
  EXPECT_NE(error_of(R"({"repetition_penalty": 11})").find("'repetition_penalty' = 11"), std::string::npos);
  EXPECT_NE(error_of("[1]").find("gc.json: not a JSON object"), std::string::npos);
  EXPECT_NE(error_of("{").find("not a JSON object"), std::string::npos);
  // No file: nothing set.
  testing::TempDir dir;
  EXPECT_FALSE(GenerationConfig::load(dir.path()).temperature);
}

TEST(GenerationConfig, ServerRequestsGetTheCheckpointDefaults) {
  server::ServerLimits limits;
  limits.model_name = "m";
  limits.default_sampling =
      GenerationConfig::from_json(R"({"temperature": 0.6, "top_p": 0.95})", "g").sampling(limits.default_sampling);
  limits.default_max_tokens = 99;
  const std::string messages = R"("messages": [{"role": "user", "content": "hi"}])";
  server::ChatRequest r = server::parse_chat_request("{" + messages + "}", limits);
  EXPECT_FLOAT_EQ(r.gen.sampling.temperature, 0.6f);
  EXPECT_FLOAT_EQ(r.gen.sampling.top_p, 0.95f);
  EXPECT_EQ(r.gen.max_tokens, 99);
  r = server::parse_chat_request(R"({"temperature": 0, "top_p": 1, "max_tokens": 5, )" + messages + "}", limits);
  EXPECT_EQ(r.gen.sampling.temperature, 0.0f) << "the request's own values win";
  EXPECT_EQ(r.gen.sampling.top_p, 1.0f);
  EXPECT_EQ(r.gen.max_tokens, 5);
  EXPECT_EQ(r.gen.adjust.repetition_penalty, 1.0f);
  limits.default_repetition_penalty = 1.05f;  // the checkpoint's, unless the request names its own
  EXPECT_FLOAT_EQ(server::parse_chat_request("{" + messages + "}", limits).gen.adjust.repetition_penalty, 1.05f);
  EXPECT_FLOAT_EQ(server::parse_chat_request(R"({"repetition_penalty": 1.3, )" + messages + "}", limits)
                      .gen.adjust.repetition_penalty,
                  1.3f);
  // Without a generation_config: OpenAI's temperature 1, up to the context.
  r = server::parse_chat_request("{" + messages + "}", server::ServerLimits{.model_name = "m"});
  EXPECT_EQ(r.gen.sampling.temperature, 1.0f);
  EXPECT_FALSE(r.gen.max_tokens);
}

TEST(GenerationConfig, GenerateUsesItUnlessTold) {
  // The fixture checkpoint with a generation_config.json: `generate` samples as it says, and gives the same
  // ids as the same settings spelt out on the command line; a flag overrides the file.
  testing::TempDir dir;
  const fs::path model = dir.path() / "model";
  fs::copy(fs::path(WHALE_FIXTURES_DIR) / "models/deepseek-v3-tiny", model);
  std::ofstream(model / "generation_config.json")
      << R"({"do_sample": true, "temperature": 1.3, "top_k": 40, "max_new_tokens": 6})";
  const std::string base = std::string(WHALE_BINARY) + " generate --model " + model.string() + " --ids 1,2,3 --seed 5";
  const std::string reference_dir = (fs::path(WHALE_FIXTURES_DIR) / "models/deepseek-v3-tiny").string();
  auto ids = [](const testing::CommandResult& r) { return r.output.substr(0, r.output.find('\n')); };
  const testing::CommandResult from_file = testing::run_command(base + " --ignore-eos 2>/dev/null");
  ASSERT_EQ(from_file.exit_code, 0) << from_file.output;
  const testing::CommandResult spelt =
      testing::run_command(std::string(WHALE_BINARY) + " generate --model " + reference_dir +
                           " --ids 1,2,3 --seed 5 --temperature 1.3 --top-k 40 -n 6 --ignore-eos 2>/dev/null");
  EXPECT_EQ(ids(from_file), ids(spelt));
  EXPECT_EQ(std::count(from_file.output.begin(), from_file.output.end(), ','), 5) << "max_new_tokens = 6";
  const testing::CommandResult greedy = testing::run_command(base + " --temperature 0 -n 6 --ignore-eos 2>/dev/null");
  const testing::CommandResult reference = testing::run_command(
      std::string(WHALE_BINARY) + " generate --model " + reference_dir + " --ids 1,2,3 -n 6 --ignore-eos 2>/dev/null");
  EXPECT_EQ(ids(greedy), ids(reference)) << "--temperature 0 overrides the file";
  EXPECT_NE(ids(from_file), ids(reference));
}

// repetition_penalty from the file reaches generate's greedy decode: the output differs from the plain greedy one
// and equals the one with the same penalty as a flag; --repetition-penalty 1 turns the file's off.
TEST(GenerationConfig, GenerateAppliesTheRepetitionPenalty) {
  testing::TempDir dir;
  const fs::path model = dir.path() / "model";
  const std::string reference_dir = (fs::path(WHALE_FIXTURES_DIR) / "models/deepseek-v3-tiny").string();
  fs::copy(reference_dir, model);
  std::ofstream(model / "generation_config.json") << R"({"do_sample": false, "repetition_penalty": 3.0})";
  auto ids = [](const std::string& dir, const std::string& flags) {
    const testing::CommandResult r = testing::run_command(std::string(WHALE_BINARY) + " generate --model " + dir +
                                                          " --ids 1,2,3 -n 24 --ignore-eos " + flags + " 2>/dev/null");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(0, r.output.find('\n'));
  };
  const std::string plain = ids(reference_dir, "--temperature 0"), penalised = ids(model.string(), "");
  EXPECT_NE(penalised, plain);
  EXPECT_EQ(penalised, ids(reference_dir, "--temperature 0 --repetition-penalty 3"));
  EXPECT_EQ(ids(model.string(), "--repetition-penalty 1"), plain);
  const testing::CommandResult bad = testing::run_command(std::string(WHALE_BINARY) + " generate --model " +
                                                          reference_dir + " --ids 1 --repetition-penalty 0");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("--repetition-penalty"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace whale

// The model subcommands, run as a user runs them: the real binary on real files.
#include <gtest/gtest.h>

#include <algorithm>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "io/safetensors.h"
#include "run_command.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using whale::testing::run_command;
const std::string kWhale = WHALE_BINARY;
const std::string kModels = std::string(WHALE_FIXTURES_DIR) + "/models/";

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("whale_cli_" + std::to_string(::getpid()) + "_" + name);
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST(CliForward, WritesLogitsAndHiddenStatesMatchingReference) {
  const std::string model = kModels + "deepseek-v3-fp8-tiny";
  TensorStore ref = TensorStore::open(model + "/reference.safetensors");
  fs::path in = temp_path("in.safetensors"), out = temp_path("out.safetensors");
  write_safetensors(in, {{"input_ids", ref.get("input_ids")}});
  auto r = run_command(kWhale + " forward --model " + model + " --input " + in.string() + " --out " + out.string() +
                       " --hidden-states");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TensorStore got = TensorStore::open(out);
  EXPECT_EQ(got.info("logits").shape, ref.info("logits").shape);
  EXPECT_LE(max_abs_diff(got.get("logits").f32_values(), ref.get("logits").f32_values()), 1e-4f);
  EXPECT_EQ(got.info("hidden_states").shape, ref.info("hidden_states").shape);
  EXPECT_LE(max_abs_diff(got.get("hidden_states").f32_values(), ref.get("hidden_states").f32_values()), 1e-4f);
  fs::remove(in);
  fs::remove(out);
}

TEST(CliForward, BadInputsGiveOneLineErrors) {
  fs::path in = temp_path("bad.safetensors"), out = temp_path("never.safetensors");
  write_safetensors(in, {{"tokens", Tensor::zeros(DType::I64, {1, 4})}});
  const std::string model = kModels + "qwen2-r1-distill-tiny";
  auto r = run_command(kWhale + " forward --model " + model + " --input " + in.string() + " --out " + out.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("no tensor 'input_ids'"), std::string::npos) << r.output;

  std::vector<int64_t> ids = {1, 2, 99999};
  write_safetensors(in, {{"input_ids", Tensor::from_i64({1, 3}, ids)}});
  r = run_command(kWhale + " forward --model " + model + " --input " + in.string() + " --out " + out.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("token id 99999"), std::string::npos) << r.output;

  r = run_command(kWhale + " forward --model /no/such/model --input " + in.string() + " --out " + out.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("whale: error:"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
  fs::remove(in);
}

TEST(CliGenerate, GreedyMatchesReferenceContinuation) {
  const std::string model = kModels + "deepseek-v2-lite-tiny";
  TensorStore ref = TensorStore::open(model + "/reference.safetensors");
  auto join = [](const std::vector<int64_t>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s;
  };
  std::vector<int64_t> want = ref.get("generate_tokens").i64_values();
  auto r = run_command(kWhale + " generate --model " + model + " --ids " + join(ref.get("generate_prompt").i64_values()) +
                       " -n " + std::to_string(want.size()) + " --ignore-eos 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.substr(0, r.output.find('\n')), join(want));
}

TEST(CliGenerate, RejectsBadArguments) {
  const std::string model = kModels + "deepseek-v2-lite-tiny";
  auto r = run_command(kWhale + " generate --model " + model + " --ids 1,x,3 -n 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("'x' is not a non-negative token id"), std::string::npos) << r.output;
  r = run_command(kWhale + " generate --model " + model + " --ids 1 -n 2 --temperature -1");
  EXPECT_NE(r.exit_code, 0);
  r = run_command(kWhale + " generate --model " + model + " --ids 1 -n 100000");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("context"), std::string::npos) << r.output;
  r = run_command(kWhale + " frobnicate");
  EXPECT_EQ(r.exit_code, 1);
}

TEST(CliArguments, OneLineErrorsExitOneWithDidYouMean) {
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"servee", "whale: error: unknown subcommand 'servee' (did you mean 'whale serve'?)"},
      {"serve --model x --prot 8080", "whale: error: unknown option '--prot' for 'whale serve' (did you mean '--port'?)"},
      {"rl cold-strat", "whale: error: unknown subcommand 'cold-strat' of 'whale rl' (did you mean 'whale rl cold-start'?)"},
      {"rl cold-start --nn 3", "whale: error: unknown option '--nn' for 'whale rl cold-start' (did you mean '--n'?)"},
      {"generate --model", "whale: error: --model: 1 required TEXT missing"},
      {"generate --model x --ids 1 -n abc", "whale: error: --max-new-tokens"},
      {"", "whale: error: give a subcommand (whale --help lists them)"},
  };
  for (const Case& c : cases) {
    const auto r = run_command(kWhale + " " + c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << ": " << r.output;
    EXPECT_EQ(r.output.rfind(c.message, 0), 0u) << c.args << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "one line: " << r.output;
  }
  // --help is not an error, and shows the defaults.
  const auto help = run_command(kWhale + " generate --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--max-new-tokens INT:INT in [0 - 16777216]=32"), std::string::npos) << help.output;
}

TEST(CliInit, WritesALoadableCheckpoint) {
  fs::path dir = temp_path("init");
  auto r = run_command(kWhale + " init --config " + kModels + "llama-r1-distill-tiny/config.json --out " + dir.string() +
                       " --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "config.json"));
  r = run_command(kWhale + " generate --model " + dir.string() + " --ids 1,2,3 -n 4 --ignore-eos");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_command(kWhale + " init --config /no/such.json --out " + dir.string());
  EXPECT_EQ(r.exit_code, 1);
  fs::remove_all(dir);
}

TEST(CliBench, PrintsJsonLines) {
  auto r = run_command(kWhale + " bench decode --model " + kModels + "deepseek-v3-tiny --tokens 4 --repeats 1 --no-bandwidth");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"tokens_per_s\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"gb_per_s\""), std::string::npos);
  r = run_command(kWhale + " bench prefill --model " + kModels + "qwen2-r1-distill-tiny --prompt 32 --repeats 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"gflop_per_s\""), std::string::npos) << r.output;
}

}  // namespace
}  // namespace whale

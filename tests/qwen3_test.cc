// Qwen3 (DeepSeek-R1-0528-Qwen3-8B's architecture) is served (tests/model_fixture_test.cc checks its forward and
// greedy continuation against the independent numpy reference); what it does not support yet fails clearly.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "run_command.h"
#include "temp_dir.h"

namespace whale::testing {
namespace {

const std::string kModel = std::string(WHALE_FIXTURES_DIR) + "/models/qwen3-tiny";

TEST(Qwen3, GenerateServesItAndTrainingAndGgufRefuseIt) {
  TempDir tmp;
  const CommandResult gen = run_command(std::string(WHALE_BINARY) + " generate --model " + kModel +
                                        " --ids 1,2,3 -n 4 --ignore-eos 2>/dev/null");
  EXPECT_EQ(gen.exit_code, 0) << gen.output;
  const CommandResult grad = run_command(std::string(WHALE_BINARY) + " grad --model " + kModel + " --input " + kModel +
                                         "/reference.safetensors --out " + (tmp.path() / "g.safetensors").string());
  EXPECT_EQ(grad.exit_code, 1);
  EXPECT_NE(grad.output.find("whale: error: training qwen3 models is not supported yet"), std::string::npos)
      << grad.output;
  const CommandResult gguf = run_command(std::string(WHALE_BINARY) + " quantize --model " + kModel +
                                         " --type Q8_0 --out " + (tmp.path() / "q.gguf").string());
  EXPECT_EQ(gguf.exit_code, 1);
  EXPECT_NE(gguf.output.find("writing qwen3 models as GGUF is not supported yet"), std::string::npos) << gguf.output;
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "q.gguf"));
}

}  // namespace
}  // namespace whale::testing

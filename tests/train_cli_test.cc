// `whale data build|info`, `whale plot` and `whale grad` through the built binary: the happy path once, and the
// failure paths (clear message, exit code 1, never a crash).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "io/safetensors.h"
#include "run_command.h"
#include "train/token_file.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

const std::string kWhale = WHALE_BINARY;
const std::string kTokenizer = std::string(WHALE_FIXTURES_DIR) + "/tokenizer/deepseek-v3";

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("whale-train-cli-{}", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir_ / name) << text; }

  void expect_failure(const std::string& args, const std::string& needle) const {
    const auto r = run_command(kWhale + " " + args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\n" << r.output;
  }

  fs::path dir_;
};

TEST_F(TrainCli, DataBuildInfoAndPlot) {
  write("a.txt", "Hello world. This is a document.");
  write("b.jsonl", "{\"text\": \"another one\"}\n");
  auto r = run_command(kWhale + " data build --tokenizer " + kTokenizer + " --input " + path("a.txt") + " " +
                       path("b.jsonl") + " --out " + path("d.tok"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 documents"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("MB/s"), std::string::npos) << r.output;
  EXPECT_EQ(read_token_file(path("d.tok")).n_documents, 2u);
  r = run_command(kWhale + " data info " + path("d.tok"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 documents"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pretraining"), std::string::npos) << r.output;

  write("m.jsonl", "{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"loss\": 2}\n");
  r = run_command(kWhale + " plot " + path("m.jsonl") + " -o " + path("loss.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream svg(path("loss.svg"));
  const std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(text.find("<polyline"), std::string::npos);
}

TEST_F(TrainCli, DataFailures) {
  write("a.txt", "text");
  write("bad.jsonl", "{\"text\": \"ok\"}\n{oops\n");
  expect_failure("data build --tokenizer " + kTokenizer + " --input " + path("missing.txt") + " --out " +
                     path("o.tok"), "missing.txt");
  expect_failure("data build --tokenizer " + kTokenizer + " --input " + path("bad.jsonl") + " --out " + path("o.tok"),
                 "bad.jsonl:2");
  expect_failure("data build --tokenizer " + path("no-tokenizer") + " --input " + path("a.txt") + " --out " +
                     path("o.tok"), "no-tokenizer");
  expect_failure("data build --tokenizer " + kTokenizer + " --input " + path("a.txt") + " --out " +
                     path("no-dir/o.tok"), "no-dir/o.tok");
  write("junk.tok", "not a token file at all, clearly, definitely more than forty bytes");
  expect_failure("data info " + path("junk.tok"), "bad magic");
  const auto r = run_command(kWhale + " data build --tokenizer " + kTokenizer + " --input " + path("a.txt") +
                             " --out " + path("o.tok") + " --format csv");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("csv"), std::string::npos) << r.output;
}

// A bad [model] tokenizer fails `whale train` at startup, naming it: before the run directory is made or a step
// runs (the checkpoints copy the tokenizer, so it would otherwise surface only at the first save).
TEST_F(TrainCli, BadTokenizerFailsBeforeTheFirstStep) {
  TokenData data;
  data.vocab_size = 64;
  for (uint32_t i = 0; i < 200; ++i) data.ids.push_back(2 + i % 60);
  data.n_documents = 1;
  write_token_file(path("d.tok"), data);
  fs::create_directories(path("garbage"));
  write("garbage/tokenizer.json", "{ not json");
  for (const std::string& tokenizer : {path("no-such-tokenizer"), path("garbage")}) {
    write("train.toml", "[model]\ninit = \"" + std::string(WHALE_FIXTURES_DIR) + "/models/qwen2-r1-distill-tiny/config.json\"\n"
                        "tokenizer = \"" + tokenizer + "\"\n[data]\ntrain = \"d.tok\"\n"
                        "[train]\nseq_len = 8\nbatch_size = 1\nsteps = 1\nout = \"run\"\n");
    expect_failure("train --quiet --config " + path("train.toml"), tokenizer);
    EXPECT_FALSE(fs::exists(path("run"))) << tokenizer;
  }
}

TEST_F(TrainCli, PlotFailures) {
  write("m.jsonl", "{\"step\": 1, \"loss\": 3}\n");
  expect_failure("plot " + path("m.jsonl") + " -o " + path("loss.png"), "only .svg");
  expect_failure("plot " + path("missing.jsonl") + " -o " + path("x.svg"), "missing.jsonl");
  expect_failure("plot " + path("m.jsonl") + " -o " + path("x.svg") + " --y accuracy", "'accuracy'");
  expect_failure("plot " + path("m.jsonl") + " -o " + path("x.svg") + " --x tokens", "'tokens'");
  write("bad.jsonl", "[1,2]\n");
  expect_failure("plot " + path("bad.jsonl") + " -o " + path("x.svg"), "bad.jsonl:1");
}

}  // namespace
}  // namespace whale

namespace whale {
namespace {

// `whale grad` as a user runs it: the fixture's input_ids in, loss and every grad.<name> out, compared with
// the PyTorch reference (1e-4 of each tensor's largest magnitude); then its failure paths.
TEST_F(TrainCli, GradMatchesTheReferenceThroughTheBinary) {
  for (const std::string model : {"deepseek-v3-tiny", "qwen2-r1-distill-tiny"}) {
    const std::string dir = std::string(WHALE_FIXTURES_DIR) + "/models/" + model;
    const auto r = run_command(kWhale + " grad --threads 2 --model " + dir + " --input " + dir +
                               "/reference.safetensors --out " + path(model + ".safetensors"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto got = SafetensorsFile::open(path(model + ".safetensors"));
    const auto want = SafetensorsFile::open(dir + "/reference.safetensors");
    EXPECT_NEAR(got->get("loss").f32_values()[0], want->get("loss").f32_values()[0], 1e-5) << model;
    int compared = 0;
    for (const auto& [name, info] : want->tensors()) {
      if (name.rfind("grad.", 0) != 0) continue;
      ASSERT_TRUE(got->has(name)) << model << " " << name;
      const std::vector<float> a = got->get(name).f32_values(), b = want->get(name).f32_values();
      ASSERT_EQ(a.size(), b.size()) << name;
      float scale = 1e-12f, err = 0;
      for (size_t i = 0; i < a.size(); ++i) scale = std::max(scale, std::fabs(b[i])), err = std::max(err, std::fabs(a[i] - b[i]));
      EXPECT_LE(err, 1e-4f * scale) << model << " " << name;
      ++compared;
    }
    EXPECT_GT(compared, 10) << model;
  }
}

TEST_F(TrainCli, GradFailurePaths) {
  const std::string model = std::string(WHALE_FIXTURES_DIR) + "/models/deepseek-v3-tiny";
  auto ids = [&](const std::string& name, Shape shape, std::vector<int64_t> values) {
    write_safetensors(path(name), {{"input_ids", Tensor::from_i64(shape, values)}});
    return path(name);
  };
  expect_failure("grad --model " + model + " --input " + ids("t1.safetensors", {1, 1}, {5}) + " --out " + path("o"),
                 "at least 2 tokens");
  expect_failure("grad --model " + model + " --input " + ids("big.safetensors", {1, 3}, {5, 99999, 6}) + " --out " +
                     path("o"),
                 "99999");
  expect_failure("grad --model " + model + " --input " + path("missing.safetensors") + " --out " + path("o"),
                 "missing.safetensors");
  expect_failure("grad --model " + path("no-model") + " --input " + ids("ok.safetensors", {1, 3}, {5, 6, 7}) +
                     " --out " + path("o"),
                 "no-model");
  EXPECT_FALSE(fs::exists(path("o")));
}

}  // namespace
}  // namespace whale

// `whale data build|info` and `whale plot` through the built binary: the happy path once, and the
// failure paths (clear message, exit code 1, never a crash).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

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

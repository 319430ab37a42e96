// Hostile paths: a FIFO, a symlink, a device or a directory where a file is read or written. Readers refuse
// them without blocking; writers refuse to replace them (a symlink is neither followed nor replaced). The CLI
// cases run the binary under `timeout`, so a regression that opens a FIFO fails instead of hanging the suite.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/regular_file.h"
#include "error_of.h"
#include "io/safetensors.h"
#include "run_command.h"
#include "temp_dir.h"
#include "train/checkpoint.h"
#include "train/metrics.h"
#include "train/token_file.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::run_command;
using testing::TempDir;

const std::string kModels = std::string(WHALE_FIXTURES_DIR) + "/models/";
const std::string kTokenizer = std::string(WHALE_FIXTURES_DIR) + "/tokenizer/deepseek-v3";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A directory with a FIFO, a symlink to a regular file (whose contents must survive) and a subdirectory.
class FileSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkfifo(fifo().c_str(), 0600), 0);
    std::ofstream(target()) << "precious";
    fs::create_symlink(target(), link());
    fs::create_directory(subdir());
  }
  fs::path fifo() const { return dir_.path() / "fifo"; }
  fs::path target() const { return dir_.path() / "target.txt"; }
  fs::path link() const { return dir_.path() / "link"; }
  fs::path subdir() const { return dir_.path() / "subdir"; }
  // The FIFO and the symlink are still there, the link's target unchanged.
  void expect_intact() const {
    EXPECT_TRUE(fs::is_fifo(fifo()));
    EXPECT_TRUE(fs::is_symlink(link()));
    EXPECT_EQ(slurp(target()), "precious");
  }
  // `whale ARGS` under a timeout: exit 1 with `needle` in the output.
  void expect_cli_error(const std::string& args, const std::string& needle) const {
    const auto r = run_command("timeout 120 " + std::string(WHALE_BINARY) + " " + args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find("whale: error: "), std::string::npos) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\n" << r.output;
  }
  static std::string refusal(const fs::path& p, const std::string& kind) {
    return fmt::format("refusing to replace {}: it is a {}, not a regular file", p.string(), kind);
  }

  TempDir dir_{"whale-file-safety"};
};

TEST_F(FileSafety, WritersRefuseEverythingButARegularFile) {
  EXPECT_EQ(error_of([&] { require_replaceable_file(fifo()); }), refusal(fifo(), "FIFO"));
  EXPECT_EQ(error_of([&] { require_replaceable_file(link()); }), refusal(link(), "symbolic link"));
  EXPECT_EQ(error_of([&] { require_replaceable_file(subdir()); }), refusal(subdir(), "directory"));
  if (fs::exists("/dev/null")) {
    EXPECT_EQ(error_of([&] { require_replaceable_file("/dev/null"); }), refusal("/dev/null", "character device"));
  }
  fs::create_symlink(dir_.path() / "nowhere", dir_.path() / "dangling");
  EXPECT_EQ(error_of([&] { require_replaceable_file(dir_.path() / "dangling"); }),
            refusal(dir_.path() / "dangling", "symbolic link"));
  EXPECT_NO_THROW(require_replaceable_file(target()));
  EXPECT_NO_THROW(require_replaceable_file(dir_.path() / "absent"));

  for (const fs::path& p : {fifo(), link()}) {
    EXPECT_NE(error_of([&] { write_file_atomically(p, [](std::ostream& o) { o << "x"; }); }).find("refusing"),
              std::string::npos);
    EXPECT_NE(error_of([&] { write_safetensors(p, {}); }).find("refusing"), std::string::npos);
    EXPECT_NE(error_of([&] { write_token_file(p, {.vocab_size = 4, .n_documents = 1, .ids = {1, 2}}); }).find("refusing"),
              std::string::npos);
    EXPECT_NE(error_of([&] { MetricsLog log(p); }).find("refusing"), std::string::npos);
  }
  expect_intact();
  write_file_atomically(target(), [](std::ostream& o) { o << "replaced"; });
  EXPECT_EQ(slurp(target()), "replaced");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()), 5);  // no temp files
}

TEST_F(FileSafety, ReadersRefuseFifosAndDirectoriesWithoutBlocking) {
  EXPECT_EQ(error_of([&] { read_regular_file(fifo()); }), fifo().string() + ": not a regular file (it is a FIFO)");
  EXPECT_EQ(error_of([&] { read_regular_file(subdir()); }),
            subdir().string() + ": not a regular file (it is a directory)");
  EXPECT_NE(error_of([&] { read_regular_file(dir_.path() / "absent"); }).find("absent: cannot open: "),
            std::string::npos);
  EXPECT_EQ(read_regular_file(link()), "precious");  // readers follow symlinks
  EXPECT_NE(error_of([&] { SafetensorsFile::open(fifo()); }).find("not a regular file"), std::string::npos);
}

// The run directory refuses a `latest` it could not replace when it is opened, not after the run.
TEST_F(FileSafety, CheckpointPointerMustBeARegularFile) {
  const fs::path run = dir_.path() / "run";
  fs::create_directory(run);
  fs::create_symlink(target(), run / "latest");
  EXPECT_EQ(error_of([&] { RunDirectory(run, 1); }), refusal(run / "latest", "symbolic link"));
  fs::remove(run / "latest");
  RunDirectory dir(run, 1);
  dir.save(1, [](const fs::path&) {});
  fs::remove(run / "latest");
  fs::create_symlink(target(), run / "latest");
  EXPECT_EQ(error_of([&] { dir.save(2, [](const fs::path&) {}); }), refusal(run / "latest", "symbolic link"));
  fs::remove(run / "latest");
  ASSERT_EQ(::mkfifo((run / "latest").c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { find_latest_checkpoint(run); }).find("not a regular file (it is a FIFO)"),
            std::string::npos);
  expect_intact();
}

TEST_F(FileSafety, CliWritersRefuseFifosAndSymlinks) {
  const std::string model = kModels + "qwen2-r1-distill-tiny";
  for (const fs::path& out : {fifo(), link()}) {
    const std::string kind = out == fifo() ? "FIFO" : "symbolic link";
    expect_cli_error("quantize --model " + model + " --type Q8_0 --out " + out.string(), refusal(out, kind));
    expect_cli_error("rl cold-start --task arithmetic --n 2 --out " + out.string(), refusal(out, kind));
    expect_cli_error("data build --tokenizer " + kTokenizer + " --input " + target().string() + " --out " +
                         out.string(), refusal(out, kind));
  }
  const fs::path metrics = dir_.path() / "m.jsonl", svg_fifo = dir_.path() / "fifo.svg", svg_link = dir_.path() / "link.svg";
  std::ofstream(metrics) << "{\"step\": 1, \"loss\": 3}\n";
  ASSERT_EQ(::mkfifo(svg_fifo.c_str(), 0600), 0);
  fs::create_symlink(target(), svg_link);
  expect_cli_error("plot " + metrics.string() + " -o " + svg_fifo.string(), refusal(svg_fifo, "FIFO"));
  expect_cli_error("plot " + metrics.string() + " -o " + svg_link.string(), refusal(svg_link, "symbolic link"));
  EXPECT_TRUE(fs::is_fifo(svg_fifo));
  EXPECT_TRUE(fs::is_symlink(svg_link));

  // init checks both of its files before it writes either.
  const fs::path init = dir_.path() / "init";
  fs::create_directory(init);
  ASSERT_EQ(::mkfifo((init / "config.json").c_str(), 0600), 0);
  expect_cli_error("init --config " + model + "/config.json --out " + init.string(),
                   refusal(init / "config.json", "FIFO"));
  EXPECT_FALSE(fs::exists(init / "model.safetensors"));
  fs::remove(init / "config.json");
  fs::create_symlink(target(), init / "model.safetensors");
  expect_cli_error("init --config " + model + "/config.json --out " + init.string(),
                   refusal(init / "model.safetensors", "symbolic link"));

  // tokenizer train checks its output files before the training.
  const fs::path tok = dir_.path() / "tok";
  fs::create_directory(tok);
  ASSERT_EQ(::mkfifo((tok / "tokenizer.json").c_str(), 0600), 0);
  expect_cli_error("tokenizer train --input " + target().string() + " --vocab-size 300 --out " + tok.string(),
                   refusal(tok / "tokenizer.json", "FIFO"));
  EXPECT_TRUE(fs::is_fifo(tok / "tokenizer.json"));
  expect_intact();
}

TEST_F(FileSafety, CliReadersRefuseFifos) {
  expect_cli_error("train --config " + fifo().string(), fifo().string() + ": not a regular file (it is a FIFO)");
  expect_cli_error("init --config " + fifo().string() + " --out " + (dir_.path() / "o").string(),
                   "not a regular file (it is a FIFO)");
  expect_cli_error("data build --tokenizer " + kTokenizer + " --input " + fifo().string() + " --out " +
                       (dir_.path() / "o.tok").string(), "not a regular file (it is a FIFO)");
  expect_cli_error("rl --config " + fifo().string(), fifo().string() + ": not a regular file (it is a FIFO)");
  expect_cli_error("tokenizer train --input " + fifo().string() + " --vocab-size 300 --out " +
                       (dir_.path() / "tok").string(),
                   fifo().string() + ": not a regular file (it is a FIFO)");
  expect_cli_error("plot " + fifo().string() + " -o " + (dir_.path() / "p.svg").string(),
                   fifo().string() + ": not a regular file (it is a FIFO)");
  // A tokenizer directory whose tokenizer.json is a FIFO.
  const fs::path tokenizer = dir_.path() / "tokenizer";
  fs::create_directory(tokenizer);
  ASSERT_EQ(::mkfifo((tokenizer / "tokenizer.json").c_str(), 0600), 0);
  expect_cli_error("tokenize --tokenizer " + tokenizer.string() + " --text hi",
                   (tokenizer / "tokenizer.json").string() + ": not a regular file (it is a FIFO)");
  // A model directory whose config.json is a FIFO.
  const fs::path model = dir_.path() / "model";
  fs::create_directory(model);
  ASSERT_EQ(::mkfifo((model / "config.json").c_str(), 0600), 0);
  fs::create_symlink(kModels + "qwen2-r1-distill-tiny/model.safetensors", model / "model.safetensors");
  expect_cli_error("generate --model " + model.string() + " --ids 1,2 -n 1",
                   (model / "config.json").string() + ": not a regular file (it is a FIFO)");
  expect_cli_error("quantize --model " + model.string() + " --type Q8_0 --out " + (dir_.path() / "q.gguf").string(),
                   (model / "config.json").string() + ": not a regular file (it is a FIFO)");
  expect_intact();
}

}  // namespace
}  // namespace whale

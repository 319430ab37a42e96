// core/progress.h: the line it draws, and silence for short jobs where stderr is not a terminal.
#include "core/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/closest_match.h"
#include "run_command.h"
#include "temp_dir.h"

namespace whale {
namespace {

TEST(JobProgress, LineShowsShareAmountRateAndTimeLeft) {
  Progress bytes("loading weights", 4e9, Progress::Unit::kBytes);
  const std::string line = bytes.line(1e9, 10);
  EXPECT_NE(line.find("loading weights: "), std::string::npos) << line;
  EXPECT_NE(line.find("25% (1.00 GB of 4.00 GB), 100.0 MB/s, 30 s left"), std::string::npos) << line;
  EXPECT_EQ(line.find("\x1b"), std::string::npos) << "escape codes only when drawing";
  if (::isatty(STDERR_FILENO)) {
    EXPECT_NE(line.find("[######..."), std::string::npos) << line;
  }
  Progress count("eval", 512, Progress::Unit::kCount, "samples");
  EXPECT_NE(count.line(128, 240).find("25% (128 samples of 512 samples), 1 samples/s, 12m00s left"), std::string::npos)
      << count.line(128, 240);
  Progress unknown("data", 0, Progress::Unit::kBytes);
  EXPECT_NE(unknown.line(2.5e6, 1).find("data: 2.5 MB, 2.5 MB/s"), std::string::npos) << unknown.line(2.5e6, 1);
  count.add(512);
}

TEST(JobProgress, ShortJobsAreSilentInLogs) {
  // `whale init` of a small model, stderr a pipe: no progress lines at all.
  testing::TempDir dir;
  const auto r = testing::run_command(std::string(WHALE_BINARY) + " init --config " WHALE_FIXTURES_DIR
                                      "/models/deepseek-v3-tiny/config.json --out " + (dir.path() / "m").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("init:"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\r'), std::string::npos) << r.output;
}

TEST(ClosestMatch, SuggestsWithinAFewEdits) {
  constexpr std::string_view words[] = {"serve", "generate", "tokenizer", "train"};
  EXPECT_EQ(closest_match("servee", words), "serve");
  EXPECT_EQ(closest_match("genrate", words), "generate");
  EXPECT_EQ(closest_match("tok", words), "tokenizer") << "a prefix counts as one edit";
  EXPECT_EQ(closest_match("quantum", words), "");
}

}  // namespace
}  // namespace whale

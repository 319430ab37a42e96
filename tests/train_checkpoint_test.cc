// Run directories: atomic checkpoints, `latest`, pruning, leftovers of interrupted saves, a save killed
// at random moments (SIGKILL) never leaving `latest` on a broken checkpoint; the training checkpoint files;
// the metrics log and progress line.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "core/error.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "train/metrics.h"
#include "train/optimizer.h"
#include "train/params.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

fs::path scratch_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("whale-ckpt-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A checkpoint whose files all carry its step, so a mixed or partial one is detectable.
void write_step_files(const fs::path& dir, int64_t step, int n_files = 3) {
  for (int i = 0; i < n_files; ++i)
    std::ofstream(dir / fmt::format("part{}.txt", i)) << std::string(4096, char('a' + step % 26)) << step;
}

bool consistent(const fs::path& dir, int64_t step, int n_files = 3) {
  for (int i = 0; i < n_files; ++i) {
    const std::string text = read_text(dir / fmt::format("part{}.txt", i));
    if (text != std::string(4096, char('a' + step % 26)) + std::to_string(step)) return false;
  }
  return true;
}

TEST(RunDirectory, SaveLatestAndPrune) {
  const fs::path out = scratch_dir("prune");
  RunDirectory run(out / "run", /*keep_last=*/2);
  EXPECT_FALSE(run.latest());
  for (int64_t step : {10, 20, 30}) {
    const fs::path dir = run.save(step, [&](const fs::path& d) { write_step_files(d, step); });
    EXPECT_EQ(dir, out / "run" / checkpoint_dir_name(step));
  }
  EXPECT_EQ(checkpoint_dir_name(30), "step-000030");
  EXPECT_EQ(read_text(out / "run" / "latest"), "step-000030\n");
  EXPECT_EQ(*run.latest(), out / "run" / "step-000030");
  EXPECT_FALSE(fs::exists(out / "run" / "step-000010"));  // pruned
  EXPECT_TRUE(consistent(out / "run" / "step-000020", 20));
  // Saving a step again (after a resume) replaces it.
  run.save(30, [&](const fs::path& d) { write_step_files(d, 30); std::ofstream(d / "extra") << "x"; });
  EXPECT_TRUE(fs::exists(out / "run" / "step-000030" / "extra"));
  for (const auto& e : fs::directory_iterator(out / "run"))
    EXPECT_NE(e.path().filename().string()[0], '.') << e.path();  // no temp or trash left
  fs::remove_all(out);
}

TEST(RunDirectory, FailedSaveChangesNothing) {
  const fs::path out = scratch_dir("fail");
  RunDirectory run(out, 3);
  run.save(1, [&](const fs::path& d) { write_step_files(d, 1); });
  EXPECT_THROW(run.save(2, [&](const fs::path& d) {
    write_step_files(d, 2, 1);
    fail("disk full");
  }), Error);
  EXPECT_EQ(*run.latest(), out / "step-000001");
  EXPECT_FALSE(fs::exists(out / "step-000002"));
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 2);  // step-000001, latest
  EXPECT_THROW(RunDirectory(out, 0), Error);
  fs::remove_all(out);
}

TEST(RunDirectory, LeftoversAreIgnoredAndCleaned) {
  const fs::path out = scratch_dir("leftover");
  {
    RunDirectory run(out, 5);
    run.save(5, [&](const fs::path& d) { write_step_files(d, 5); });
  }
  // What kills at various moments leave behind: a half-written temp checkpoint, a half-deleted old one,
  // a half-written `latest`.
  fs::create_directories(out / ".tmp-step-000006-999");
  std::ofstream(out / ".tmp-step-000006-999" / "part0.txt") << "partial";
  fs::create_directories(out / ".trash-step-000001-999");
  std::ofstream(out / "latest.tmp-999") << "step-0000";
  EXPECT_EQ(*find_latest_checkpoint(out), out / "step-000005");
  RunDirectory reopened(out, 5);
  EXPECT_FALSE(fs::exists(out / ".tmp-step-000006-999"));
  EXPECT_FALSE(fs::exists(out / ".trash-step-000001-999"));
  EXPECT_FALSE(fs::exists(out / "latest.tmp-999"));
  // `latest` naming a directory that is gone (killed while replacing a step): fall back to the newest one.
  std::ofstream(out / "latest") << "step-000009\n";
  EXPECT_EQ(*find_latest_checkpoint(out), out / "step-000005");
  fs::remove(out / "latest");
  EXPECT_EQ(*find_latest_checkpoint(out), out / "step-000005");
  fs::remove_all(out / "step-000005");
  EXPECT_FALSE(find_latest_checkpoint(out));
  fs::remove_all(out);
}

TEST(RunDirectory, KilledAtRandomMomentsNeverBreaksLatest) {
  const fs::path out = scratch_dir("kill");
  std::mt19937 rng(1);
  int interrupted = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // child: save checkpoints as fast as it can until killed
      try {
        RunDirectory run(out, 2);
        const auto latest = run.latest();
        int64_t step = latest ? std::stoll(latest->filename().string().substr(5)) : 0;
        for (;;) {
          ++step;
          run.save(step, [&](const fs::path& d) { write_step_files(d, step, 8); });
        }
      } catch (...) {
        ::_exit(3);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(2000, 80000)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the saving child failed on its own (exit " << WEXITSTATUS(status) << ")";
    for (const auto& e : fs::directory_iterator(out))
      if (e.path().filename().string().rfind(".tmp-", 0) == 0) {
        ++interrupted;  // the kill landed inside a save
        break;
      }
    const auto latest = find_latest_checkpoint(out);
    if (!latest) continue;  // killed before the first checkpoint
    const int64_t step = std::stoll(latest->filename().string().substr(5));
    EXPECT_TRUE(consistent(*latest, step, 8)) << "trial " << trial << ": " << *latest << " is broken";
  }
  EXPECT_TRUE(find_latest_checkpoint(out).has_value());
  EXPECT_GT(interrupted, 0);  // the test did exercise kills in the middle of a save
  fs::remove_all(out);
}

TEST(TrainingCheckpoint, WritesHubLayoutFiles) {
  const fs::path out = scratch_dir("files");
  const fs::path tok = out / "tok";
  fs::create_directories(tok);
  std::ofstream(tok / "tokenizer.json") << "{\"model\": {}}";
  std::ofstream(tok / "tokenizer_config.json") << "{}";
  ParamSet params;  // built by hand: the checkpoint code needs no model
  Param w{.name = "model.norm.weight", .shape = {2}, .value = {1.5f, -2.0f}, .grad = {0.1f, 0.2f}};
  params.params().push_back(w);
  AdamW opt({});
  opt.step(params, 0.01);
  RunDirectory run(out / "run", 1);
  const fs::path dir = run.save(1, [&](const fs::path& d) {
    write_training_checkpoint(d, {.params = params, .optimizer = opt,
                                  .trainer_state = {{"step", 1}, {"data", {{"seed", "0"}, {"step", 1}}}},
                                  .tokenizer_dir = tok});
  });
  for (const char* f : {"config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json",
                        "tokenizer.json", "tokenizer_config.json"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  EXPECT_EQ(read_trainer_state(dir)["step"], 1);
  const auto model = SafetensorsFile::open(dir / "model.safetensors");
  EXPECT_EQ(model->get("model.norm.weight").f32_values(), params.params()[0].value);
  AdamW reloaded({});
  reloaded.load(dir / "optimizer.safetensors", params);
  EXPECT_EQ(reloaded.step_count(), 1);
  // A tokenizer directory without tokenizer.json is an error, and no checkpoint appears.
  EXPECT_THROW(run.save(2, [&](const fs::path& d) {
    write_training_checkpoint(d, {.params = params, .optimizer = opt, .trainer_state = {}, .tokenizer_dir = out});
  }), Error);
  EXPECT_EQ(*run.latest(), dir);
  EXPECT_THROW(read_trainer_state(out), Error);
  fs::remove_all(out);
}

TEST(MetricsLog, LinesFlushedAndResumeDropsLaterSteps) {
  const fs::path out = scratch_dir("metrics");
  {
    MetricsLog log(out / "m.jsonl");
    for (int step = 1; step <= 5; ++step) log.write({{"step", step}, {"loss", 1.0 / step}});
    log.write({{"step", 6}, {"loss", std::nan("")}});
    // Flushed: readable while the log is open.
    const std::string text = read_text(out / "m.jsonl");
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 6);
  }
  EXPECT_NE(read_text(out / "m.jsonl").find("{\"loss\":null,\"step\":6}"), std::string::npos);
  {
    MetricsLog log(out / "m.jsonl", /*resume_step=*/3);
    log.write({{"step", 4}, {"loss", 0.3}});
  }
  std::ifstream in(out / "m.jsonl");
  std::vector<int> steps;
  for (std::string line; std::getline(in, line);) steps.push_back(nlohmann::json::parse(line)["step"]);
  EXPECT_EQ(steps, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_THROW(MetricsLog(out / "missing-dir" / "m.jsonl"), Error);
  fs::remove_all(out);
}

TEST(Progress, FormatsStepLossLrSpeedAndEta) {
  ProgressInfo p{.step = 120, .total_steps = 1000, .loss = 3.45214, .lr = 2.95e-4, .tokens_per_s = 1234.4,
                 .eval_loss = {}};
  EXPECT_EQ(format_progress(p, 312), "step 120/1000 (12.0%) | loss 3.4521 | lr 2.95e-04 | 1234 tok/s | ETA 5m12s");
  p.eval_loss = 3.6;
  EXPECT_NE(format_progress(p, NAN).find("| eval 3.6000 |"), std::string::npos);
  EXPECT_NE(format_progress(p, NAN).find("ETA ?"), std::string::npos);
  EXPECT_EQ(format_duration(45), "45s");
  EXPECT_EQ(format_duration(3 * 3600 + 4 * 60 + 5), "3h04m");
  EXPECT_EQ(format_duration(2 * 86400 + 5 * 3600), "2d05h");
}

}  // namespace
}  // namespace whale

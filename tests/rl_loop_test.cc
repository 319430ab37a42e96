// GRPO end to end on a model trained here from scratch: cold-start data → BPE tokenizer → token file →
// a short SFT run (so the model knows the format but is often wrong) → a seeded GRPO run whose reward must
// go up; checkpoints load for `whale eval`; resume continues the run; bad configs and flags fail clearly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "error_of.h"
#include "rl/cold_start.h"
#include "rl/grpo_trainer.h"
#include "tokenizer/tokenizer.h"
#include "run_command.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer_files.h"
#include "io/safetensors.h"
#include "train/data_build.h"
#include "train/params.h"
#include "train/trainer.h"

namespace whale::rl {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = WHALE_FIXTURES_DIR;
const std::string kWhale = WHALE_BINARY;
using testing::error_of;
using testing::run_command;

class RlLoopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("whale_rl_loop_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sft_ = sft_model();
  }

  // The SFT model (under a minute on two cores) is built once per build tree, beside the whale binary, and
  // shared by the test processes ctest starts: each builder stages its own directory and renames it into
  // place, so the cache is always complete and the first to finish wins. The model writes the format about
  // half the time and is almost never right, so the format reward (weighted 1 here) has room to rise.
  static fs::path sft_model() {
    const fs::path cache = fs::path(kWhale).parent_path() / "rl_loop_sft";
    if (!fs::exists(cache)) {
      const fs::path stage = cache.string() + ".stage" + std::to_string(::getpid());
      fs::remove_all(stage);
      fs::create_directories(stage);
      const fs::path checkpoint = train_sft(stage);
      std::ofstream(stage / "checkpoint") << checkpoint.lexically_relative(stage).string();
      std::error_code ec;
      fs::rename(stage, cache, ec);  // fails when another process got there first: use theirs
      if (ec) fs::remove_all(stage);
    }
    std::ifstream in(cache / "checkpoint");
    std::string relative;
    std::getline(in, relative);
    return cache / relative;
  }

  // Cold-start data → BPE tokenizer → token file → 150 SFT steps of a 2-layer tiny V3; returns the checkpoint.
  static fs::path train_sft(const fs::path& dir) {
    {
      std::ofstream out(dir / "cold.jsonl");
      write_cold_start({.task = "arithmetic", .n = 1200, .seed = 3, .min_difficulty = 1, .max_difficulty = 1,
                        .format = ColdStartFormat::kText, .prompt = {.prefill_think = true}},
                       out);
    }
    ThreadPool pool(2);
    const TrainedBpe bpe = train_bpe_files({dir / "cold.jsonl"}, {.vocab_size = 384}, pool);
    write_tokenizer_files(bpe, dir / "tok");
    const Tokenizer tokenizer = Tokenizer::load(dir / "tok");
    build_token_file(tokenizer, {.inputs = {dir / "cold.jsonl"}, .out = dir / "cold.tok", .threads = 2});

    std::ifstream in(kFixtures + "/models/deepseek-v3-tiny/config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    config["vocab_size"] = 384;
    config["num_hidden_layers"] = 2;
    config["max_position_embeddings"] = 512;
    config["rope_scaling"] = nullptr;
    std::ofstream(dir / "model.json") << config.dump(1);
    const std::string sft =
        "[model]\ninit = \"model.json\"\ntokenizer = \"tok\"\n[data]\ntrain = \"cold.tok\"\neval_fraction = 0.0\n"
        "[train]\nseq_len = 128\nbatch_size = 8\nsteps = 150\nseed = 1\nthreads = 2\nout = \"sft\"\n"
        "[optim]\nlr = 4e-3\nwarmup_steps = 5\n";
    const TrainSummary s = run_training(parse_train_config(sft, dir / "sft.toml"), {.progress = false});
    std::printf("SFT: loss %.3f -> %.3f in %lld steps (%.0f tokens/s)\n", s.first_loss, s.last_loss,
                (long long)s.steps_done, s.tokens_per_s);
    return s.checkpoint;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string config_text(int steps, const std::string& out, const std::string& extra = "") {
    return "[model]\ncheckpoint = \"" + sft_.string() +
           "\"\n[task]\nname = \"arithmetic\"\nmax_difficulty = 1\nformat_weight = 1.0\n"
           "[rollout]\nprompts = 8\ngroup_size = 8\nmax_new_tokens = 48\nslots = 64\n"
           "[grpo]\nmicro_batch = 32\n"
           "[optim]\nlr = 2e-3\n"
           "[train]\nseed = 7\nthreads = 2\neval_problems = 16\neval_samples = 2\nsteps = " +
           std::to_string(steps) + "\nout = \"" + out + "\"\n" + extra;
  }
  static GrpoConfig config(int steps, const std::string& out, const std::string& extra = "") {
    return parse_grpo_config(config_text(steps, out, extra), dir_ / "rl.toml");
  }
  static std::vector<nlohmann::json> step_records(const fs::path& metrics) {
    std::ifstream in(metrics);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line);
      if (j.contains("reward")) out.push_back(std::move(j));
    }
    return out;
  }

  static fs::path dir_, sft_;
};
fs::path RlLoopTest::dir_, RlLoopTest::sft_;

TEST_F(RlLoopTest, SeededGrpoRunRaisesTheReward) {
  const GrpoSummary s = run_grpo(config(12, "rl"), {.progress = false});
  const std::vector<nlohmann::json> steps = step_records(dir_ / "rl/metrics.jsonl");
  ASSERT_EQ(steps.size(), 12u);
  auto mean = [&](size_t begin, size_t end, const char* key) {
    double m = 0;
    for (size_t i = begin; i < end; ++i) m += steps[i].at(key).get<double>();
    return m / double(end - begin);
  };
  const double early = mean(0, 3, "reward"), late = mean(9, 12, "reward");
  std::printf("reward %.3f -> %.3f (accuracy %.3f -> %.3f); held-out pass@1 %.3f -> %.3f in %.1f s\n", early, late,
              mean(0, 3, "accuracy"), mean(9, 12, "accuracy"), s.eval_before->pass_at_1, s.eval_after->pass_at_1,
              s.seconds);
  EXPECT_GT(late, early + 0.1);
  EXPECT_EQ(s.steps_done, 12);
  ASSERT_TRUE(s.eval_before && s.eval_after);
  EXPECT_EQ(s.eval_before->n_problems, 16);
  EXPECT_EQ(s.eval_before->n_samples, 32);
  for (const char* key : {"accuracy", "response_length", "kl", "clip_fraction", "entropy", "all_equal_groups",
                          "reflection_rate", "grad_norm", "lr"})
    EXPECT_TRUE(steps.back().contains(key)) << key;
  EXPECT_EQ(steps.back().at("step").get<int>(), 12);

  // The final checkpoint is a hub-layout model that `whale eval` serves.
  ASSERT_TRUE(fs::exists(s.checkpoint / "model.safetensors"));
  const auto r = run_command(kWhale + " eval --model " + s.checkpoint.string() +
                             " --task arithmetic --max-difficulty 1 --n 8 --samples 2 --max-new-tokens 48 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j.at("problems").get<int>(), 8);
  EXPECT_EQ(j.at("samples").get<int>(), 16);
  EXPECT_GE(j.at("pass_at_1").get<double>(), 0.0);
  EXPECT_LE(j.at("pass_at_1").get<double>(), j.at("pass_at_k").get<double>());
}

// A policy with an MTP module (the draft head) keeps it through GRPO unchanged, while the main model trains.
TEST_F(RlLoopTest, GrpoKeepsTheMtpModuleAsIs) {
  const fs::path start = dir_ / "with_mtp";
  fs::create_directories(start);
  const ParamSet with_mtp = ParamSet::from_checkpoint(sft_, /*with_mtp=*/true, /*seed=*/5);  // a fresh module
  with_mtp.save_safetensors(start / "model.safetensors");
  std::ofstream(start / "config.json") << with_mtp.config_json().dump(1);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(sft_ / f, start / f);
  ASSERT_TRUE(ParamSet::checkpoint_has_mtp(start));
  ASSERT_FALSE(ParamSet::checkpoint_has_mtp(sft_));

  std::string text = config_text(2, (dir_ / "rl_mtp").string(), "eval_interval = 0\n");
  text.replace(text.find(sft_.string()), sft_.string().size(), start.string());
  const GrpoSummary s = run_grpo(parse_grpo_config(text, dir_ / "rl_mtp.toml"), {.progress = false});
  ASSERT_TRUE(ParamSet::checkpoint_has_mtp(s.checkpoint));
  const TensorStore before = TensorStore::open(start), after = TensorStore::open(s.checkpoint);
  const std::string mtp = "model.layers." + std::to_string(with_mtp.config().n_layer) + ".";
  int mtp_tensors = 0, changed = 0;
  for (const Param& p : with_mtp.params()) {
    const bool same = before.get(p.name).f32_values() == after.get(p.name).f32_values();
    if (p.name.starts_with(mtp)) {
      ++mtp_tensors;
      EXPECT_TRUE(same) << p.name;
    } else if (!same) {
      ++changed;
    }
  }
  EXPECT_GT(mtp_tensors, 5);
  EXPECT_GT(changed, 5) << "the main model did not train";
}

// Two steps, then --resume for two more, against four uninterrupted steps with KL (β > 0), μ = 2 epochs
// and dynamic sampling: same rollouts, same rewards, same parameters.
TEST_F(RlLoopTest, ResumeContinuesTheSameRun) {
  const std::string extra = "eval_interval = 0\n";
  const std::string grpo = "[grpo]\nmicro_batch = 32\nbeta = 0.04\nepochs = 2\n";
  auto with = [&](int steps, const std::string& out) {
    std::string text = config_text(steps, out, extra + "checkpoint_interval = 2\n");
    text.replace(text.find("[grpo]\nmicro_batch = 32\n"), 24, grpo);
    text.replace(text.find("prompts = 8\ngroup_size = 8"), 26, "prompts = 4\ngroup_size = 4");
    text.replace(text.find("[rollout]\n"), 10, "[rollout]\ndynamic_sampling = true\nmax_draws = 2\n");
    return parse_grpo_config(text, dir_ / "rl.toml");
  };
  run_grpo(with(4, "straight"), {.progress = false});
  run_grpo(with(2, "resumed"), {.progress = false});
  const GrpoSummary s = run_grpo(with(4, "resumed"), {.resume = true, .progress = false});
  EXPECT_EQ(s.first_step, 2);
  EXPECT_EQ(s.steps_done, 4);
  const auto a = step_records(dir_ / "straight/metrics.jsonl"), b = step_records(dir_ / "resumed/metrics.jsonl");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a[i].at("reward"), b[i].at("reward")) << i;
    EXPECT_EQ(a[i].at("loss"), b[i].at("loss")) << i;
    EXPECT_EQ(a[i].at("kl"), b[i].at("kl")) << i;
  }
  EXPECT_GT(a[3].at("kl").get<double>(), 0.0);
}

TEST_F(RlLoopTest, ConfigErrorsNameTheProblem) {
  auto error = [&](const std::string& text) { return error_of([&] { parse_grpo_config(text, dir_ / "bad.toml"); }); };
  const std::string good = config_text(3, "x");
  EXPECT_NE(error(good + "[grpo]\n").find("bad.toml"), std::string::npos);  // a duplicated table
  std::string typo = good;
  typo.replace(typo.find("group_size"), 10, "group_sise");
  EXPECT_NE(error(typo).find("unknown key 'group_sise' in [rollout] (did you mean 'group_size'?)"), std::string::npos);
  std::string task = good;
  task.replace(task.find("\"arithmetic\""), 12, "\"calculus\"");
  EXPECT_NE(error(task).find("\"calculus\" is not a task"), std::string::npos);
  std::string agg = good;
  agg.replace(agg.find("micro_batch = 32"), 16, "aggregation = \"sum\"");
  EXPECT_NE(error(agg).find("unknown aggregation 'sum'"), std::string::npos);
  std::string placement = good;
  placement.replace(placement.find("[rollout]"), 9, "instruction = \"assistant\"\n[rollout]");
  EXPECT_NE(error(placement).find("unknown instruction placement 'assistant'"), std::string::npos) << error(placement);
  std::string group = good;
  group.replace(group.find("group_size = 8"), 14, "group_size = 1");
  EXPECT_NE(error(group).find("group_size = 1 is out of range"), std::string::npos);
  EXPECT_NE(error("[model]\ncheckpoint = \"m\"\n[train]\nout = \"o\"\n").find("[train] steps is required"),
            std::string::npos);
  EXPECT_NE(error("[train]\nsteps = 1\n").find("[model] checkpoint"), std::string::npos);
  EXPECT_NE(error("[rolout]\n").find("unknown section [rolout] (did you mean 'rollout'?)"), std::string::npos);
}

TEST_F(RlLoopTest, CliFailurePaths) {
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"rl", "give --config FILE.toml"},
      {"rl --config " + (dir_ / "missing.toml").string(), "missing.toml: cannot open"},
      {"eval --model " + sft_.string() + " --task calculus --n 2", "calculus"},
      {"eval --model " + (dir_ / "nothing").string() + " --task arithmetic --n 2", "nothing"},
      {"eval --model " + sft_.string() + " --task arithmetic --n 0", "--n"},
      {"eval --model " + sft_.string() + " --task arithmetic --n 2 --prompt chat --instruction below", "--instruction"},
      {"eval --model " + sft_.string() + " --task arithmetic --min-difficulty 3 --max-difficulty 2", "below"},
      {"generate --model " + sft_.string() + " -n 4", "give the prompt as --ids or --text"},
      {"generate --model " + sft_.string() + " --ids 1 --text hi -n 4", "excludes"},
  };
  for (const Case& c : cases) {
    const auto r = run_command(kWhale + " " + c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << c.args;
  }
  // A text prompt is encoded with the checkpoint's tokenizer and the continuation printed as text.
  const auto g = run_command(kWhale + " generate --model " + sft_.string() + " --threads 2 -n 40 --text '" +
                             r1_zero_prompt({.prompt = "What is 2 + 3?"}, {.prefill_think = true}) + "'");
  EXPECT_EQ(g.exit_code, 0) << g.output;
  EXPECT_NE(g.output.find("40 new tokens"), std::string::npos) << g.output;
  EXPECT_GT(g.output.find("prompt "), 10u) << g.output;  // text came before the statistics line
  // --resume without a checkpoint.
  EXPECT_NE(error_of([&] { run_grpo(config(1, "empty"), {.resume = true, .progress = false}); })
                .find("no checkpoint in"),
            std::string::npos);
}

}  // namespace
}  // namespace whale::rl

// The training loop end to end: a tiny DeepSeek-V3-architecture model (MLA + MoE + MTP) learns generated
// sequences; resume is bit-identical; checkpoints load for inference; bad runs stop with clear errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "run_command.h"
#include "train/autograd/ops.h"
#include "train/checkpoint.h"
#include "train/token_file.h"
#include "train/trainer.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = WHALE_FIXTURES_DIR;

// A run directory with a small V3 config (vocab 64), a token file of arithmetic progressions
// (start, start + step, ... mod 60, then EOS = 1) and the DeepSeek-V3 tokenizer files for checkpoints.
class TrainLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("whale_train_loop_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ifstream in(kFixtures + "/models/deepseek-v3-tiny/config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    config["vocab_size"] = 64;
    config["num_hidden_layers"] = 2;
    std::ofstream(dir_ / "config.json") << config.dump(1);
    TokenData data;
    data.vocab_size = 64;
    std::mt19937 rng(5);
    for (int doc = 0; doc < 400; ++doc) {
      const uint32_t start = rng() % 60, step = 1 + rng() % 3, len = 8 + rng() % 24;
      for (uint32_t i = 0; i < len; ++i) data.ids.push_back(2 + (start + i * step) % 60);
      data.ids.push_back(1);
      ++data.n_documents;
    }
    write_token_file(dir_ / "data.tok", data);
  }
  void TearDown() override { fs::remove_all(dir_); }

  TrainConfig config(int steps, const std::string& extra = "", const std::string& out = "run") {
    const std::string toml = "[model]\ninit = \"config.json\"\ntokenizer = \"" + kFixtures +
                             "/tokenizer/deepseek-v3\"\nmtp = true\n"
                             "[data]\ntrain = \"data.tok\"\neval_fraction = 0.05\n"
                             "[train]\nseq_len = 32\nbatch_size = 4\nseed = 9\nthreads = 2\nsteps = " +
                             std::to_string(steps) + "\nout = \"" + out + "\"\n" + extra;
    return parse_train_config(toml, dir_ / "train.toml");
  }
  fs::path dir_;
};

TEST_F(TrainLoopTest, TinyV3WithMtpLearnsGeneratedSequences) {
  TrainConfig c = config(300, "eval_interval = 300\n[optim]\nlr = 3e-3\nwarmup_steps = 10\n");
  TrainSummary s = run_training(c, {.progress = false});
  std::printf("loss %.3f -> %.3f, eval %.3f, %.0f tokens/s, %.2f GFLOP/s\n", s.first_loss, s.last_loss,
              s.eval_loss.value_or(-1), s.tokens_per_s, s.gflops);
  EXPECT_EQ(s.steps_done, 300);
  EXPECT_NEAR(s.first_loss, std::log(64.0), 0.3);  // a fresh model is close to uniform
  EXPECT_LT(s.last_loss, 0.5 * s.first_loss);
  ASSERT_TRUE(s.eval_loss.has_value());
  EXPECT_LT(*s.eval_loss, 0.5 * s.first_loss);

  // The metrics log has one record per step, with the MoE and MTP fields.
  std::ifstream log(dir_ / "run/metrics.jsonl");
  std::string line, last;
  int records = 0;
  while (std::getline(log, line)) last = line, ++records;
  EXPECT_EQ(records, 300);
  nlohmann::json rec = nlohmann::json::parse(last);
  for (const char* key : {"loss", "lr", "tokens_per_s", "mtp_loss", "balance_loss", "max_load_imbalance", "eval_loss"})
    EXPECT_TRUE(rec.contains(key)) << key;
}

TEST_F(TrainLoopTest, CheckpointLoadsForInferenceWithTheSameLogits) {
  TrainSummary s = run_training(config(5), {.progress = false});
  ASSERT_TRUE(fs::exists(s.checkpoint / "model.safetensors"));
  EXPECT_TRUE(fs::exists(s.checkpoint / "tokenizer.json"));
  std::vector<int32_t> ids = {5, 9, 13, 17, 21, 25, 29, 33};
  ThreadPool pool(2);
  std::unique_ptr<Model> model = Model::load(s.checkpoint, pool);
  std::vector<float> served;
  model->forward_full(ids, 1, int64_t(ids.size()), {.mla_absorbed = false}, served);

  ParamSet params = ParamSet::from_checkpoint(s.checkpoint, /*with_mtp=*/true);
  ag::Graph g(pool);
  Transformer trained(params);
  TrainForward f = trained.forward(g, ids, 1);
  ASSERT_EQ(served.size(), size_t(g.numel(f.logits)));
  for (size_t i = 0; i < served.size(); ++i) ASSERT_NEAR(served[i], g.value(f.logits)[i], 1e-4) << i;
  // The MTP module was saved under the hub's names for layer num_hidden_layers.
  TensorStore store = TensorStore::open(s.checkpoint);
  EXPECT_TRUE(store.has("model.layers.2.eh_proj.weight"));
  EXPECT_TRUE(store.has("model.layers.2.shared_head.norm.weight"));
}

TEST_F(TrainLoopTest, ResumeContinuesBitIdentically) {
  const std::string every5 = "checkpoint_interval = 5\nkeep_checkpoints = 10\n";
  TrainSummary full = run_training(config(10, every5), {.progress = false});

  // A second run directory holding only the step-5 checkpoint, as if the run had been killed after it.
  fs::create_directories(dir_ / "resumed");
  fs::copy(dir_ / "run" / checkpoint_dir_name(5), dir_ / "resumed" / checkpoint_dir_name(5), fs::copy_options::recursive);
  std::ofstream(dir_ / "resumed/latest") << checkpoint_dir_name(5);
  TrainSummary resumed = run_training(config(10, every5, "resumed"), {.resume = true, .progress = false});
  EXPECT_EQ(resumed.first_step, 5);
  EXPECT_EQ(resumed.last_loss, full.last_loss);

  TensorStore a = TensorStore::open(full.checkpoint / "model.safetensors");
  TensorStore b = TensorStore::open(resumed.checkpoint / "model.safetensors");
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) ASSERT_EQ(a.get(name).f32_values(), b.get(name).f32_values()) << name;
  TensorStore oa = TensorStore::open(full.checkpoint / "optimizer.safetensors");
  TensorStore ob = TensorStore::open(resumed.checkpoint / "optimizer.safetensors");
  for (const std::string& name : oa.names()) ASSERT_EQ(oa.get(name).f32_values(), ob.get(name).f32_values()) << name;
}

TEST_F(TrainLoopTest, AuxLossFreeBiasMovesTowardBalance) {
  TrainSummary s = run_training(config(3, "[moe]\nbias_update_rate = 0.01\n"), {.progress = false});
  TensorStore store = TensorStore::open(s.checkpoint);
  std::vector<float> bias = store.get("model.layers.1.mlp.gate.e_score_correction_bias").f32_values();
  // Each step moves every unevenly loaded expert's bias by exactly ±γ.
  for (float b : bias) EXPECT_NEAR(std::fabs(b) * 100.0f, std::round(std::fabs(b) * 100.0f), 1e-3f) << b;
  EXPECT_TRUE(std::any_of(bias.begin(), bias.end(), [](float b) { return b != 0.0f; }));
}

TEST_F(TrainLoopTest, NonFiniteLossStopsWithoutOverwritingCheckpoints) {
  // A starting checkpoint with one poisoned weight: the first loss is NaN.
  TrainSummary s = run_training(config(2), {.progress = false});
  ParamSet poisoned = ParamSet::from_checkpoint(s.checkpoint);
  poisoned.at("lm_head.weight").value[7] = std::nanf("");
  fs::create_directories(dir_ / "poisoned");
  fs::copy_file(s.checkpoint / "config.json", dir_ / "poisoned/config.json");
  poisoned.save_safetensors(dir_ / "poisoned/model.safetensors");

  TrainConfig c = config(4, "checkpoint_interval = 1\n", "run2");
  c.model.init.clear();
  c.model.checkpoint = dir_ / "poisoned";
  try {
    run_training(c, {.progress = false});
    FAIL() << "expected the run to stop on a non-finite loss";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss is nan at step 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("last good checkpoint"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(find_latest_checkpoint(dir_ / "run2").has_value());  // nothing broken was saved
}

TEST_F(TrainLoopTest, DataShorterThanOneWindowIsAnError) {
  TokenData tiny;
  tiny.vocab_size = 64;
  tiny.ids = {2, 3, 4, 1};
  tiny.n_documents = 1;
  write_token_file(dir_ / "data.tok", tiny);
  EXPECT_THROW(run_training(config(5), {.progress = false}), Error);
}

TEST_F(TrainLoopTest, ResumeWithoutCheckpointIsAnError) {
  EXPECT_THROW(run_training(config(5), {.resume = true, .progress = false}), Error);
}

// Starts an endless training run, waits for its first metrics record (a fixed delay races with a loaded
// machine), then runs `signals` (shell, $pid is the run) and checks that it saved a checkpoint and exited 0.
void expect_clean_interrupt(const fs::path& dir, const std::string& signals) {
  std::ofstream(dir / "train.toml") << "[model]\ninit = \"config.json\"\ntokenizer = \"" << kFixtures
                                    << "/tokenizer/deepseek-v3\"\n[data]\ntrain = \"data.tok\"\n"
                                       "[train]\nseq_len = 32\nbatch_size = 4\nsteps = 1000000\nout = \"run\"\n";
  const fs::path metrics = dir / "run" / "metrics.jsonl";
  auto r = testing::run_command(std::string(WHALE_BINARY) + " train --quiet --config " + (dir / "train.toml").string() +
                                " & pid=$!; for i in $(seq 1200); do [ -s " + metrics.string() +
                                " ] && break; sleep 0.05; done; " + signals + "; wait $pid");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"interrupted\":true"), std::string::npos) << r.output;
  auto latest = find_latest_checkpoint(dir / "run");
  ASSERT_TRUE(latest.has_value());
  ThreadPool pool(1);
  EXPECT_NO_THROW(Model::load(*latest, pool));
}

TEST_F(TrainLoopTest, CtrlCSavesACheckpointAndExitsCleanly) { expect_clean_interrupt(dir_, "kill -INT $pid"); }

// A second signal within the grace period (a reflex Ctrl-C, `timeout` sending twice) does not cost the checkpoint.
TEST_F(TrainLoopTest, ASecondSignalWithinTheGraceIsIgnored) {
  expect_clean_interrupt(dir_, "kill -INT $pid; sleep 0.2; kill -TERM $pid");
}

}  // namespace
}  // namespace whale

// whale bench decode|prefill --model DIR: JSON lines with throughput (tokens/s, GB/s, GFLOP/s).
// whale bench train --model DIR|config.json [--batch B --seq T]: training tokens/s and GFLOP/s (forward,
// backward, AdamW) beside the f32 GEMM peak of the same BLAS.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "io/json_file.h"
#include "model/model.h"
#include "ops/bandwidth.h"
#include "train/train_bench.h"

namespace whale::cli {
namespace {

struct BenchOptions {
  std::string mode, model;
  int64_t prompt = 16, tokens = 32, repeats = 3;
  int64_t batch = 8, seq = 256;  // train
  size_t threads = 0;
  bool bandwidth = true;
  bool mmap = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab) {
  std::mt19937 rng(1234);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& id : ids) id = int32_t(rng() % uint32_t(vocab));
  return ids;
}

// Training benchmark: a checkpoint directory, or a config.json initialised with random weights.
void run_train_bench(const BenchOptions& o) {
  ThreadPool pool(o.threads);
  openblas_set_num_threads(int(pool.size()));
  ParamSet params = [&] {
    if (std::filesystem::is_directory(o.model)) return ParamSet::from_checkpoint(o.model);
    return ParamSet::initialize(read_json_file(o.model), /*with_mtp=*/false, /*seed=*/1);
  }();
  const TrainBenchResult r = bench_training(params, pool, o.batch, o.seq, /*warmup=*/1, o.repeats);
  const double peak = sgemm_peak_gflops(1024, 5);
  int64_t n_params = 0;
  for (const Param& p : params.params()) n_params += p.numel();
  const nlohmann::json line = {{"bench", "train"},       {"model", o.model},
                               {"threads", pool.size()}, {"params", n_params},
                               {"batch", o.batch},       {"seq", o.seq},
                               {"tokens_per_step", r.tokens_per_step}, {"seconds_per_step", r.seconds_per_step},
                               {"tokens_per_s", r.tokens_per_s},       {"gflop_per_s", r.gflop_per_s},
                               {"sgemm_peak_gflop_per_s", peak},       {"fraction_of_peak", r.gflop_per_s / peak}};
  std::printf("%s\n", line.dump().c_str());
}

void run_bench(const BenchOptions& o) {
  if (o.mode == "train") return run_train_bench(o);
  ThreadPool pool(o.threads);
  std::unique_ptr<Model> model = Model::load(o.model, pool, {.mmap = o.mmap});
  const ModelConfig& c = model->config();
  const Model::ActiveWeights active = model->active_per_token();
  nlohmann::json line = {{"bench", o.mode}, {"model", o.model}, {"threads", pool.size()},
                         {"params", c.n_params()}, {"weight_bytes", model->weight_bytes()}};
  std::vector<float> logits;
  if (o.mode == "decode") {
    if (o.prompt + o.tokens > c.max_position) fail("bench: --prompt + --tokens exceed the model context");
    std::vector<int32_t> ids = random_tokens(o.prompt + o.tokens, c.vocab_size);
    double best = 1e30;
    for (int64_t rep = 0; rep < o.repeats; ++rep) {
      KvCache cache = model->new_cache(o.prompt + o.tokens);
      SeqChunk prompt{std::span<const int32_t>(ids).first(size_t(o.prompt)), &cache};
      model->forward({&prompt, 1}, {.last_token_logits = true}, logits);
      auto t0 = std::chrono::steady_clock::now();
      for (int64_t t = 0; t < o.tokens; ++t) {
        SeqChunk step{std::span<const int32_t>(ids).subspan(size_t(o.prompt + t), 1), &cache};
        model->forward({&step, 1}, {.last_token_logits = true}, logits);
      }
      best = std::min(best, seconds_since(t0));
    }
    double tps = double(o.tokens) / best;
    line["prompt_tokens"] = o.prompt;
    line["tokens"] = o.tokens;
    line["tokens_per_s"] = tps;
    line["bytes_per_token"] = active.bytes;
    line["gb_per_s"] = tps * double(active.bytes) / 1e9;
    if (o.bandwidth) {
      double bw = ops::measure_read_bandwidth_gbs(pool);
      line["read_bandwidth_gb_per_s"] = bw;
      line["fraction_of_bandwidth"] = tps * double(active.bytes) / 1e9 / bw;
    }
  } else {
    if (o.prompt > c.max_position) fail("bench: --prompt exceeds the model context");
    std::vector<int32_t> ids = random_tokens(o.prompt, c.vocab_size);
    double best = 1e30;
    for (int64_t rep = 0; rep < o.repeats; ++rep) {
      KvCache cache = model->new_cache(o.prompt);
      SeqChunk chunk{ids, &cache};
      auto t0 = std::chrono::steady_clock::now();
      model->forward({&chunk, 1}, {.last_token_logits = true}, logits);
      best = std::min(best, seconds_since(t0));
    }
    line["tokens"] = o.prompt;
    line["tokens_per_s"] = double(o.prompt) / best;
    // Matmul FLOPs only (2 per weight element per token; lm_head runs for the last token alone, as in
    // generation); attention adds O(T²) on top.
    const double lm_head = double(c.vocab_size * c.d_model);
    line["gflop_per_s"] = 2.0 * ((double(active.elements) - lm_head) * double(o.prompt) + lm_head) / best / 1e9;
  }
  std::printf("%s\n", line.dump().c_str());
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Benchmark decode, prefill or training throughput; prints JSON lines");
  cmd->add_option("mode", opt->mode, "decode, prefill or train")
      ->required()
      ->check(CLI::IsMember({"decode", "prefill", "train"}));
  cmd->add_option("--model", opt->model, "checkpoint directory (train: or a config.json, randomly initialised)")
      ->required();
  cmd->add_option("--batch", opt->batch, "train: sequences per step")->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  cmd->add_option("--seq", opt->seq, "train: tokens per sequence")->check(CLI::Range(int64_t(2), int64_t(1) << 20));
  cmd->add_option("--prompt", opt->prompt, "prompt tokens (decode: context before timing; prefill: tokens timed)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--tokens", opt->tokens, "decode steps timed")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--repeats", opt->repeats, "best of this many runs (train: timed steps)")->check(CLI::Range(int64_t(1), int64_t(1000)));
  cmd->add_flag("!--no-bandwidth", opt->bandwidth, "skip the streaming-read bandwidth measurement");
  add_threads_option(cmd, opt->threads);
  add_mmap_option(cmd, opt->mmap);
  cmd->callback([opt] { run_bench(*opt); });
}

}  // namespace whale::cli

// Sampling cost: Sampler::sample alone at DeepSeek-V3's vocabulary (time per token), and the aggregate
// tokens/s of 16 concurrent BatchEngine requests on the server test model (deepseek-v3-tiny widened to
// 129,280 ids), greedy against sampled settings.
//   whale_kernel_bench --benchmark_filter='sampler|engine'
// The model is $WHALE_BENCH_MODEL or server_test_model beside this binary (whale_tests builds it:
// whale_tests --gtest_filter='ServerTestModel.*').
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <vector>

#include "engine/batch_engine.h"
#include "engine/sampler.h"

namespace whale {
namespace {

constexpr int64_t kVocab = 129280;  // DeepSeek-V3
constexpr int kRequests = 16, kNewTokens = 64;

// The settings compared, indexed by the benchmark argument.
const SamplingParams kSettings[] = {
    {.temperature = 0.0f},
    {.temperature = 1.0f, .seed = 1},
    {.temperature = 1.0f, .top_p = 0.95f, .seed = 1},
    {.temperature = 1.0f, .top_k = 40, .seed = 1},
    {.temperature = 1.0f, .min_p = 0.05f, .seed = 1},
};
const char* const kSettingNames[] = {"greedy", "temperature_1", "top_p_0.95", "top_k_40", "min_p_0.05"};

void name_setting(benchmark::State& state) { state.SetLabel(kSettingNames[state.range(0)]); }

// Logits ~ N(0, 2²): a few likely tokens over a long tail, as a trained model's.
void sampler_sample(benchmark::State& state) {
  name_setting(state);
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  std::vector<float> logits(static_cast<size_t>(kVocab));  // [vocab]
  for (float& l : logits) l = dist(rng);
  Sampler sampler(kSettings[state.range(0)]);
  for (auto _ : state) benchmark::DoNotOptimize(sampler.sample(logits.data(), kVocab));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(sampler_sample)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

// Loaded once; null when the directory has no model.
Model* bench_model() {
  static ThreadPool pool;  // one thread per core
  static std::unique_ptr<Model> model = []() -> std::unique_ptr<Model> {
    const char* env = std::getenv("WHALE_BENCH_MODEL");
    const std::filesystem::path dir = env ? std::filesystem::path(env)
                                          : std::filesystem::read_symlink("/proc/self/exe").parent_path() /
                                                "server_test_model";
    if (!std::filesystem::exists(dir / "model.safetensors")) return nullptr;
    return Model::load(dir, pool);
  }();
  return model.get();
}

// 16 requests with 8-token prompts on 16 slots, 64 new tokens each (no stop ids): tokens/s over the batch
// (wall clock), CPU time of every thread.
void engine_16_requests(benchmark::State& state) {
  name_setting(state);
  Model* model = bench_model();
  if (!model) return state.SkipWithError("no model: set WHALE_BENCH_MODEL or build it (see the top of this file)");
  BatchEngine engine(*model, {.n_slots = kRequests, .ctx = 128});
  std::vector<EngineRequest> requests;
  for (int i = 0; i < kRequests; ++i) {
    EngineRequest r{.sampling = kSettings[state.range(0)], .max_new_tokens = kNewTokens};
    r.sampling.seed = uint64_t(i);
    for (int j = 0; j < 8; ++j) r.prompt.push_back(int32_t(1000 + 37 * i + j));
    requests.push_back(std::move(r));
  }
  for (auto _ : state) benchmark::DoNotOptimize(engine.generate_batch(requests));
  state.SetItemsProcessed(state.iterations() * kRequests * kNewTokens);
}
BENCHMARK(engine_16_requests)
    ->DenseRange(0, 4)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace
}  // namespace whale

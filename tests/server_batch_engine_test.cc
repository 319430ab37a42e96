// Continuous batching: a request's output in a shared batch equals the same request run alone by
// generate() (greedy and seeded sampling), with chunked prefill, more requests than slots, streaming
// callbacks, cancellation, bad requests and a failing step.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <numeric>
#include <future>
#include <string>
#include <thread>

#include "core/error.h"
#include "engine/batch_engine.h"
#include "engine/generate.h"
#include "io/safetensors.h"
#include "server/generation_job.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

const std::string kModels = std::string(WHALE_FIXTURES_DIR) + "/models/";

class BatchEngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { model_ = Model::load(kModels + GetParam(), pool_); }

  // Prompts of different lengths built from the fixture's generate_prompt (ids valid for the model).
  std::vector<EngineRequest> requests(int n, int64_t max_new, float temperature) const {
    Tensor prompt = TensorStore::open(kModels + GetParam() + "/reference.safetensors").get("generate_prompt");
    std::vector<int64_t> base = prompt.i64_values();
    std::vector<EngineRequest> out;
    const int64_t vocab = model_->config().vocab_size;
    for (int i = 0; i < n; ++i) {
      EngineRequest r{.sampling = {.temperature = temperature, .seed = uint64_t(100 + i)}, .max_new_tokens = max_new};
      for (int64_t j = 0; j < 2 + (i * 5) % 13; ++j) r.prompt.push_back(int32_t((base[size_t(j) % base.size()] + i * 7 + j) % vocab));
      out.push_back(std::move(r));
    }
    return out;
  }
  std::vector<int32_t> alone(const EngineRequest& r) {
    return generate(*model_, r.prompt, {.max_new_tokens = r.max_new_tokens, .sampling = r.sampling, .stop_ids = r.stop_ids});
  }

  ThreadPool pool_{2};
  std::unique_ptr<Model> model_;
};

TEST_P(BatchEngineTest, GreedyBatchEqualsAlone) {
  // 7 requests on 3 slots: admission and retirement between steps; chunks of 3 prompt tokens, 5 per step.
  BatchEngine engine(*model_, {.n_slots = 3, .ctx = 64, .prefill_chunk = 3, .step_tokens = 5});
  std::vector<EngineRequest> reqs = requests(7, 12, 0.0f);
  std::vector<Completion> got = engine.generate_batch(reqs);
  ASSERT_EQ(got.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(got[i].tokens, alone(reqs[i])) << "request " << i;
    EXPECT_EQ(got[i].finish, FinishReason::kLength);
    EXPECT_EQ(got[i].prompt_tokens, int64_t(reqs[i].prompt.size()));
  }
  EngineStats stats = engine.stats();
  EXPECT_EQ(stats.active, 0);
  EXPECT_EQ(stats.generated_tokens, 7 * 12);
}

TEST_P(BatchEngineTest, SampledBatchEqualsAloneWithSameSeed) {
  BatchEngine engine(*model_, {.n_slots = 4, .ctx = 64});
  std::vector<EngineRequest> reqs = requests(5, 10, 0.8f);
  std::vector<Completion> got = engine.generate_batch(reqs);
  for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(got[i].tokens, alone(reqs[i])) << "request " << i;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchEngineTest,
                         ::testing::Values("deepseek-v3-tiny", "deepseek-v2-lite-tiny", "qwen2-r1-distill-tiny"));

class BatchEngineThreadTest : public ::testing::Test {
 protected:
  void SetUp() override { model_ = Model::load(kModels + "deepseek-v3-tiny", pool_); }
  ThreadPool pool_{2};
  std::unique_ptr<Model> model_;
};

TEST_F(BatchEngineThreadTest, StopIdsMaxTokensAndContextCap) {
  BatchEngine engine(*model_, {.n_slots = 2, .ctx = 16});
  std::vector<int32_t> prompt{5, 9, 11};
  std::vector<int32_t> free_run = generate(*model_, prompt, {.max_new_tokens = 6});
  // Stop on the 3rd token: generation ends right after emitting it, with reason stop.
  std::vector<Completion> got = engine.generate_batch(
      {{.prompt = prompt, .max_new_tokens = 6, .stop_ids = {free_run[2]}},
       {.prompt = prompt, .max_new_tokens = 1000}});  // capped to ctx - prompt = 13
  auto first = std::find(free_run.begin(), free_run.end(), free_run[2]);
  EXPECT_EQ(got[0].tokens, std::vector<int32_t>(free_run.begin(), first + 1));
  EXPECT_EQ(got[0].finish, FinishReason::kStop);
  EXPECT_EQ(got[1].tokens.size(), 13u);
  EXPECT_EQ(got[1].finish, FinishReason::kLength);
}

TEST_F(BatchEngineThreadTest, StreamsOnEngineThreadAndCancels) {
  BatchEngine engine(*model_, {.n_slots = 1, .ctx = 200});
  engine.start();
  std::promise<Completion> long_done, queued_done;
  std::atomic<int> streamed{0};
  BatchEngine::RequestId id = engine.submit({.prompt = {3, 4, 5}, .max_new_tokens = 190},
                                            {.on_token = [&](const SampledToken&) {
                                               std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                               ++streamed;
                                               return true;
                                             },
                                             .on_done = [&](const Completion& c) { long_done.set_value(c); }});
  // Queued behind the long one (one slot); cancelled before it gets a slot.
  BatchEngine::RequestId queued = engine.submit({.prompt = {7}, .max_new_tokens = 5},
                                                {.on_done = [&](const Completion& c) { queued_done.set_value(c); }});
  engine.cancel(queued);
  while (streamed < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  engine.cancel(id);
  Completion c = long_done.get_future().get();
  EXPECT_EQ(c.finish, FinishReason::kCancelled);
  EXPECT_LT(c.tokens.size(), 190u);
  EXPECT_EQ(int64_t(c.tokens.size()), int64_t(streamed));
  EXPECT_EQ(queued_done.get_future().get().finish, FinishReason::kCancelled);
  // The slot is free again: a new request completes, and equals generate() alone.
  std::vector<Completion> after = engine.generate_batch({{.prompt = {3, 4, 5}, .max_new_tokens = 4}});
  EXPECT_EQ(after[0].tokens, generate(*model_, std::vector<int32_t>{3, 4, 5}, {.max_new_tokens = 4}));
  EXPECT_EQ(engine.stats().active, 0);
}

TEST_F(BatchEngineThreadTest, StatsReturnToZeroAfterCancellations) {
  // Two running requests and one queued behind them, all cancelled mid-generation: once the engine settles,
  // no KV positions are counted in use (the step that retires them feeds nothing, and still publishes).
  BatchEngine engine(*model_, {.n_slots = 2, .ctx = 200});
  engine.start();
  std::atomic<int> streamed{0};
  std::vector<std::promise<Completion>> done(3);
  std::vector<BatchEngine::RequestId> ids;
  for (size_t i = 0; i < done.size(); ++i)
    ids.push_back(engine.submit({.prompt = {3, 4, 5}, .max_new_tokens = 190},
                                {.on_token = [&](const SampledToken&) {
                                   std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                   return ++streamed, true;
                                 },
                                 .on_done = [&done, i](const Completion& c) { done[i].set_value(c); }}));
  while (streamed < 6) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_GT(engine.stats().kv_tokens, 0);
  for (BatchEngine::RequestId id : ids) engine.cancel(id);
  for (std::promise<Completion>& d : done) EXPECT_EQ(d.get_future().get().finish, FinishReason::kCancelled);
  EngineStats stats = engine.stats();
  for (int i = 0; i < 2000 && (stats.kv_tokens != 0 || stats.active != 0 || stats.queued != 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    stats = engine.stats();
  }
  EXPECT_EQ(stats.kv_tokens, 0);
  EXPECT_EQ(stats.active, 0);
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(stats.kv_capacity, 2 * 200);
}

TEST_F(BatchEngineThreadTest, CallbackReturningFalseCancels) {
  BatchEngine engine(*model_, {.n_slots = 2, .ctx = 32});
  std::promise<Completion> done;
  engine.submit({.prompt = {1, 2}, .max_new_tokens = 20},
                {.on_token = [n = 0](const SampledToken&) mutable { return ++n < 4; },
                 .on_done = [&](const Completion& c) { done.set_value(c); }});
  engine.start();
  Completion c = done.get_future().get();
  EXPECT_EQ(c.tokens.size(), 4u);
  EXPECT_EQ(c.finish, FinishReason::kCancelled);
}

// Submits a request whose streaming callback throws on its 3rd token (a stand-in for any failure inside a
// step); `done` receives its completion.
void submit_failing_request(BatchEngine& engine, std::promise<Completion>& done) {
  engine.submit({.prompt = {4, 2}, .max_new_tokens = 20},
                {.on_token = [n = 0](const SampledToken&) mutable -> bool {
                   if (++n == 3) throw std::runtime_error("callback failed");
                   return true;
                 },
                 .on_done = [&done](const Completion& c) { done.set_value(c); }});
}

TEST_F(BatchEngineThreadTest, FailedStepEndsItsRequestsAndTheEngineKeepsServing) {
  BatchEngine engine(*model_, {.n_slots = 2, .ctx = 64});
  std::promise<Completion> failing_done, other_done;
  submit_failing_request(engine, failing_done);
  engine.submit({.prompt = {7, 8, 9}, .max_new_tokens = 30},
                {.on_done = [&](const Completion& c) { other_done.set_value(c); }});
  engine.start();
  // Both ran in the failed step: both end as kError with the cause, and their slots are free again.
  for (std::promise<Completion>* p : {&failing_done, &other_done}) {
    Completion c = p->get_future().get();
    EXPECT_EQ(c.finish, FinishReason::kError);
    EXPECT_NE(c.error.find("generation failed: callback failed"), std::string::npos) << c.error;
  }
  std::vector<Completion> after = engine.generate_batch({{.prompt = {3, 4, 5}, .max_new_tokens = 4}});
  EXPECT_EQ(after[0].tokens, generate(*model_, std::vector<int32_t>{3, 4, 5}, {.max_new_tokens = 4}));
  EXPECT_EQ(engine.stats().active, 0);
}

TEST_F(BatchEngineThreadTest, GenerateBatchThrowsWhenItsStepFails) {
  BatchEngine engine(*model_, {.n_slots = 2, .ctx = 64});  // no engine thread: steps run in generate_batch
  std::promise<Completion> failing_done;
  submit_failing_request(engine, failing_done);
  EXPECT_THROW(engine.generate_batch({{.prompt = {7, 8, 9}, .max_new_tokens = 30}}), Error);
  EXPECT_EQ(failing_done.get_future().get().finish, FinishReason::kError);
  EXPECT_EQ(engine.generate_batch({{.prompt = {3, 4, 5}, .max_new_tokens = 4}})[0].finish, FinishReason::kLength);
}

TEST_F(BatchEngineThreadTest, GenerationJobReportsAFailedStep) {
  const Tokenizer tokenizer = Tokenizer::load(WHALE_FIXTURES_DIR "/tokenizer/deepseek-v3");
  BatchEngine engine(*model_, {.n_slots = 3, .ctx = 64});
  std::promise<Completion> failing_done;
  submit_failing_request(engine, failing_done);
  EngineRequest choice{.prompt = {7, 8, 9}, .max_new_tokens = 30};
  server::GenerationJob job(engine, tokenizer, {choice, choice}, {});
  engine.start();
  while (!job.done()) job.poll(std::chrono::milliseconds(100));
  ASSERT_TRUE(job.error().has_value());
  EXPECT_NE(job.error()->find("callback failed"), std::string::npos) << *job.error();
}

TEST_F(BatchEngineThreadTest, LogprobsMatchLogSoftmaxOfAFullForward) {
  // Sampled (temperature 0.8) so that the chosen token is not always the top one; the reported logprobs
  // are those of the raw model distribution, whatever the temperature.
  BatchEngine engine(*model_, {.n_slots = 2, .ctx = 64});
  const std::vector<int32_t> prompt{11, 3, 7, 2};
  std::vector<SampledToken> got;
  engine.submit({.prompt = prompt, .sampling = {.temperature = 0.8f, .seed = 5}, .max_new_tokens = 8, .logprobs = 4},
                {.on_token = [&](const SampledToken& t) { return got.push_back(t), true; }});
  std::vector<Completion> other = engine.generate_batch({{.prompt = {9, 9}, .max_new_tokens = 8}});  // runs both
  EXPECT_EQ(other[0].tokens.size(), 8u);
  ASSERT_EQ(got.size(), 8u);

  std::vector<int32_t> seq = prompt;
  for (size_t j = 0; j + 1 < got.size(); ++j) seq.push_back(got[j].id);
  std::vector<float> logits;
  model_->forward_full(seq, 1, int64_t(seq.size()), {}, logits);  // [T, vocab]
  const int64_t vocab = model_->config().vocab_size;
  for (size_t j = 0; j < got.size(); ++j) {
    const float* row = logits.data() + (int64_t(prompt.size()) - 1 + int64_t(j)) * vocab;
    double z = 0;
    for (int64_t v = 0; v < vocab; ++v) z += std::exp(double(row[v]));
    auto ref = [&](int32_t id) { return double(row[id]) - std::log(z); };
    EXPECT_NEAR(got[j].logprob, ref(got[j].id), 2e-3) << "token " << j;
    ASSERT_EQ(got[j].top.size(), 4u);
    std::vector<int32_t> order(static_cast<size_t>(vocab));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
    for (size_t r = 0; r < 4; ++r) {
      EXPECT_EQ(got[j].top[r].id, order[r]) << "token " << j << " rank " << r;
      EXPECT_NEAR(got[j].top[r].logprob, ref(got[j].top[r].id), 2e-3);
    }
  }
  // Without the request field nothing is computed; a count outside [-1, 20] is rejected.
  bool computed = true;
  engine.submit({.prompt = prompt, .max_new_tokens = 1},
                {.on_token = [&](const SampledToken& t) { return computed = !t.top.empty() || t.logprob != 0, true; }});
  engine.generate_batch({{.prompt = {1}, .max_new_tokens = 1}});
  EXPECT_FALSE(computed);
  EXPECT_THROW(engine.submit({.prompt = prompt, .logprobs = 21}, {}), Error);
  EXPECT_THROW(engine.submit({.prompt = prompt, .logprobs = -2}, {}), Error);
}

TEST_F(BatchEngineThreadTest, RejectsBadRequestsAndOptions) {
  BatchEngine engine(*model_, {.n_slots = 1, .ctx = 8});
  auto message = [&](EngineRequest r) {
    try {
      engine.submit(std::move(r), {});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({.prompt = {}}).find("prompt is empty"), std::string::npos);
  EXPECT_NE(message({.prompt = std::vector<int32_t>(8, 1)}).find("context per sequence is 8"), std::string::npos);
  EXPECT_NE(message({.prompt = {1}, .max_new_tokens = 0}).find("max new tokens"), std::string::npos);
  EXPECT_NE(message({.prompt = {1, int32_t(model_->config().vocab_size)}}).find("outside the model's vocabulary"),
            std::string::npos);
  EXPECT_NE(message({.prompt = {-1}}).find("token id -1"), std::string::npos);
  EXPECT_NE(message({.prompt = {1}, .sampling = {.top_p = 0}}).find("top_p"), std::string::npos);
  // A bad request in a batch rejects the whole batch before anything runs.
  EXPECT_THROW(engine.generate_batch({{.prompt = {1}}, {.prompt = {}}}), Error);
  EXPECT_THROW(BatchEngine(*model_, {.n_slots = 0}), Error);
  EXPECT_THROW(BatchEngine(*model_, {.ctx = model_->config().max_position + 1}), Error);
}

}  // namespace
}  // namespace whale

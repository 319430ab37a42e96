// Continuous batching: many generation requests share one Model::forward per step. Requests wait in a
// FIFO queue, are admitted into free slots (each slot owns a fixed-size KV cache, reused across requests)
// and retired between steps; a step carries every active slot's next chunk: one token for decoding slots,
// up to `prefill_chunk` prompt tokens for slots still reading their prompt.
// The matmul kernel and attention are batch-invariant, so a request's greedy output does not depend on
// which other requests share its steps.
// Threads: submit/cancel/stats are safe from any thread; steps run either on the engine's own thread
// (start()) or on the caller of generate_batch() when no engine thread is running.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/progress.h"
#include "engine/logit_adjust.h"
#include "engine/logprobs.h"
#include "engine/sampler.h"
#include "engine/token_constraint.h"
#include "model/model.h"

namespace whale {

struct EngineOptions {
  int64_t n_slots = 4;          // sequences decoded together
  int64_t ctx = 0;              // KV capacity per slot (prompt + generated); 0: the model's max_position
  int64_t prefill_chunk = 256;  // most prompt tokens one slot feeds per step
  int64_t step_tokens = 512;    // prompt tokens per step across slots (decode tokens always go in)
  int64_t vocab_limit = 0;      // sample only ids < vocab_limit (ids a tokenizer can decode); 0: all
  bool mla_absorbed = true;
};

struct EngineRequest {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int64_t max_new_tokens = 16;
  std::vector<int32_t> stop_ids;  // generation ends after emitting one of these
  // -1: no log-probabilities; k in [0, kMaxTopLogprobs]: each SampledToken carries its logprob and the k
  // most likely tokens (engine/logprobs.h).
  int64_t logprobs = -1;
  // Optional: masks the logits before each sampling and sees each sampled token (engine/token_constraint.h). The
  // masked logits are also what logprobs report: the distribution the token was drawn from. A request whose
  // constraint masks every token ends with kError.
  std::shared_ptr<TokenConstraint> constraint;
  // logit_bias and the frequency / presence / repetition penalties (engine/logit_adjust.h), applied before the
  // constraint's mask.
  LogitAdjust adjust;
};

// kError: a step failed (e.g. out of memory, or a callback threw); every request running in it ends so.
enum class FinishReason { kStop, kLength, kCancelled, kError };

struct Completion {
  std::vector<int32_t> tokens;
  FinishReason finish = FinishReason::kLength;
  int64_t prompt_tokens = 0;
  std::string error;  // kError: what failed
};

// Called on the engine thread. on_token returning false cancels the request (on_done still follows).
// A callback that throws fails the step (kError for the requests in it); the engine keeps serving.
struct RequestCallbacks {
  std::function<bool(const SampledToken& token)> on_token;
  std::function<void(const Completion&)> on_done;
};

struct EngineStats {
  int64_t queued = 0, active = 0, n_slots = 0;
  int64_t kv_tokens = 0, kv_capacity = 0;  // cached positions in use / allocated, over all slots
  int64_t steps = 0, generated_tokens = 0, prompt_tokens = 0;
};

class BatchEngine {
 public:
  using RequestId = uint64_t;

  BatchEngine(Model& model, const EngineOptions& options);
  ~BatchEngine();  // stops the engine thread; unfinished requests end as kCancelled
  BatchEngine(const BatchEngine&) = delete;
  BatchEngine& operator=(const BatchEngine&) = delete;

  const EngineOptions& options() const { return options_; }
  int64_t ctx() const { return options_.ctx; }

  // Runs steps on a background thread until destruction.
  void start();
  // Queues a request. Throws whale::Error for an empty prompt, a prompt that leaves no room in the context
  // (prompt + 1 > ctx), max_new_tokens < 1, or invalid sampling params. max_new_tokens is capped to
  // ctx - prompt.size().
  RequestId submit(EngineRequest request, RequestCallbacks callbacks);
  // Ends a queued or running request at the next step boundary (its slot is freed there).
  void cancel(RequestId id);
  EngineStats stats() const;

  // Runs all requests to completion with the same batching and returns them in order. Safe to call
  // whether or not the engine thread runs (without it, the steps run on this thread). Throws whale::Error
  // if a step failed for one of them.
  // `progress` (optional) advances by one per finished request.
  std::vector<Completion> generate_batch(std::vector<EngineRequest> requests, Progress* progress = nullptr);

 private:
  struct Pending {
    RequestId id;
    EngineRequest request;
    RequestCallbacks callbacks;
  };
  struct Slot {
    explicit Slot(KvCache c) : cache(std::move(c)) {}
    bool busy = false;
    Pending job;
    Sampler sampler{SamplingParams{}};
    KvCache cache;
    int64_t fed = 0;  // prompt tokens already in the cache
    std::vector<int32_t> generated;
    SampledToken last;  // the token just sampled, handed to on_token
    bool blocked = false;  // its constraint allowed no token this step
    TokenHistory history;  // for the request's logit adjustments
  };

  // Validates a request and caps its max_new_tokens to the context (see submit).
  void check_request(EngineRequest& request) const;
  // One scheduler iteration: admit, forward, sample, retire. Returns false when there was nothing to do.
  bool step();
  // step(), except that a failure ends every running request as kError instead of propagating; then
  // publishes the KV tokens in use.
  void guarded_step();
  void admit_locked();
  void finish_slot(Slot& slot, FinishReason reason, std::string error = {});
  void engine_loop();

  Model& model_;
  EngineOptions options_;
  ForwardOptions forward_options_;
  std::vector<Slot> slots_;
  // Per step: the chunks fed, which slot each belongs to and which of them draw a token; logits [n_chunk, vocab].
  std::vector<SeqChunk> chunks_;
  std::vector<size_t> chunk_slot_;
  std::vector<size_t> sampling_;
  std::vector<float> logits_;

  mutable std::mutex mutex_;  // guards queue_, cancelled_, counters, stop_
  std::condition_variable wake_;
  std::mutex step_mutex_;  // one driver of step() at a time
  std::deque<Pending> queue_;
  std::unordered_set<RequestId> cancelled_;
  RequestId next_id_ = 1;
  int64_t active_ = 0, kv_tokens_ = 0, steps_ = 0, generated_tokens_ = 0, prompt_tokens_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace whale

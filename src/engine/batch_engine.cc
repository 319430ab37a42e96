#include "engine/batch_engine.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whale {
namespace {

// The completion of a request that never got a slot.
Completion cancelled(const EngineRequest& request) {
  Completion c;
  c.finish = FinishReason::kCancelled;
  c.prompt_tokens = int64_t(request.prompt.size());
  return c;
}

}  // namespace

BatchEngine::BatchEngine(Model& model, const EngineOptions& options) : model_(model), options_(options) {
  const int64_t max_position = model.config().max_position;
  if (options_.ctx == 0) options_.ctx = max_position;
  if (options_.n_slots < 1) fail("engine: the number of slots must be >= 1, got {}", options_.n_slots);
  if (options_.ctx < 2 || options_.ctx > max_position)
    fail("engine: context per slot must be in [2, {}] (the model's max_position_embeddings), got {}", max_position,
         options_.ctx);
  if (options_.prefill_chunk < 1 || options_.step_tokens < 1) fail("engine: prefill chunk and step tokens must be >= 1");
  const int64_t vocab = model.config().vocab_size;
  if (options_.vocab_limit <= 0 || options_.vocab_limit > vocab) options_.vocab_limit = vocab;
  forward_options_ = {.mla_absorbed = options_.mla_absorbed, .last_token_logits = true};
  slots_.reserve(size_t(options_.n_slots));
  for (int64_t i = 0; i < options_.n_slots; ++i) slots_.emplace_back(model.new_cache(options_.ctx));
}

BatchEngine::~BatchEngine() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard step_lock(step_mutex_);
  for (Slot& slot : slots_)
    if (slot.busy) finish_slot(slot, FinishReason::kCancelled);
  std::deque<Pending> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  for (Pending& p : left)
    if (p.callbacks.on_done) p.callbacks.on_done(cancelled(p.request));
}

void BatchEngine::start() {
  WHALE_CHECK(!thread_.joinable());
  thread_ = std::thread([this] { engine_loop(); });
}

void BatchEngine::check_request(EngineRequest& request) const {
  const int64_t n_prompt = int64_t(request.prompt.size());
  if (n_prompt == 0) fail("engine: the prompt is empty");
  if (n_prompt + 1 > options_.ctx)
    fail("engine: the prompt has {} tokens; the context per sequence is {} (prompt + at least 1 new token)",
         n_prompt, options_.ctx);
  const int64_t vocab = model_.config().vocab_size;
  for (int32_t id : request.prompt)
    if (id < 0 || id >= vocab) fail("engine: prompt token id {} is outside the model's vocabulary of {} ids", id, vocab);
  if (request.max_new_tokens < 1) fail("engine: max new tokens must be >= 1, got {}", request.max_new_tokens);
  request.sampling.validate();
  request.adjust.validate(options_.vocab_limit);
  if (request.logprobs < -1 || request.logprobs > kMaxTopLogprobs)
    fail("engine: logprobs must be -1 (off) or a count of top tokens in [0, {}], got {}", kMaxTopLogprobs,
         request.logprobs);
  request.max_new_tokens = std::min(request.max_new_tokens, options_.ctx - n_prompt);
}

BatchEngine::RequestId BatchEngine::submit(EngineRequest request, RequestCallbacks callbacks) {
  check_request(request);
  RequestId id;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    queue_.push_back({id, std::move(request), std::move(callbacks)});
  }
  wake_.notify_all();
  return id;
}

void BatchEngine::cancel(RequestId id) {
  {
    std::lock_guard lock(mutex_);
    cancelled_.insert(id);
  }
  wake_.notify_all();
}

EngineStats BatchEngine::stats() const {
  std::lock_guard lock(mutex_);
  return {.queued = int64_t(queue_.size()),
          .active = active_,
          .n_slots = options_.n_slots,
          .kv_tokens = kv_tokens_,
          .kv_capacity = options_.n_slots * options_.ctx,
          .steps = steps_,
          .generated_tokens = generated_tokens_,
          .prompt_tokens = prompt_tokens_};
}

void BatchEngine::admit_locked() {
  for (Slot& slot : slots_) {
    if (queue_.empty()) return;
    if (slot.busy) continue;
    slot.job = std::move(queue_.front());
    queue_.pop_front();
    slot.busy = true;
    slot.sampler = Sampler(slot.job.request.sampling);
    slot.cache.clear();
    slot.fed = 0;
    slot.generated.clear();
    slot.blocked = false;
    slot.history.reset(slot.job.request.prompt, slot.job.request.adjust.repetition_penalty != 1);
    ++active_;
  }
}

void BatchEngine::finish_slot(Slot& slot, FinishReason reason, std::string error) {
  Completion done{.tokens = std::move(slot.generated),
                  .finish = reason,
                  .prompt_tokens = int64_t(slot.job.request.prompt.size()),
                  .error = std::move(error)};
  RequestCallbacks callbacks = std::move(slot.job.callbacks);
  {
    std::lock_guard lock(mutex_);
    cancelled_.erase(slot.job.id);
    slot.busy = false;
    --active_;
  }
  slot.cache.clear();
  slot.generated.clear();
  if (callbacks.on_done) callbacks.on_done(done);
}

bool BatchEngine::step() {
  // Cancelled requests leave first (queued ones without ever taking a slot), then the queue fills free slots.
  std::vector<Slot*> cancelled_slots;
  std::vector<Pending> cancelled_queued;
  {
    std::lock_guard lock(mutex_);
    for (Slot& slot : slots_)
      if (slot.busy && cancelled_.count(slot.job.id)) cancelled_slots.push_back(&slot);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (cancelled_.erase(it->id)) {
        cancelled_queued.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Slot* slot : cancelled_slots) finish_slot(*slot, FinishReason::kCancelled);
  for (Pending& p : cancelled_queued)
    if (p.callbacks.on_done) p.callbacks.on_done(cancelled(p.request));
  {
    std::lock_guard lock(mutex_);
    admit_locked();
  }

  // Decoding slots feed their last token; prefilling slots feed the next piece of the prompt (within budget).
  chunks_.clear();
  chunk_slot_.clear();
  int64_t budget = options_.step_tokens;
  for (size_t s = 0; s < slots_.size(); ++s) {
    Slot& slot = slots_[s];
    if (!slot.busy) continue;
    const std::vector<int32_t>& prompt = slot.job.request.prompt;
    const int64_t left = int64_t(prompt.size()) - slot.fed;
    if (left > 0) {
      const int64_t n = std::min({left, options_.prefill_chunk, budget});
      if (n == 0) continue;
      budget -= n;
      chunks_.push_back({std::span(prompt).subspan(size_t(slot.fed), size_t(n)), &slot.cache});
    } else {
      chunks_.push_back({std::span(slot.generated).last(1), &slot.cache});
    }
    chunk_slot_.push_back(s);
  }
  if (chunks_.empty()) return false;
  model_.forward(chunks_, forward_options_, logits_);

  // Slots whose prompt is done draw their next token: in parallel, each with its own sampler, so the tokens do
  // not depend on the thread count. Callbacks and retirement then run here, in slot order.
  const int64_t vocab = model_.config().vocab_size;
  int64_t new_prompt = 0;
  sampling_.clear();
  for (size_t i = 0; i < chunks_.size(); ++i) {
    Slot& slot = slots_[chunk_slot_[i]];
    const int64_t n_prompt = int64_t(slot.job.request.prompt.size());
    if (slot.fed < n_prompt) {
      slot.fed += int64_t(chunks_[i].tokens.size());
      new_prompt += int64_t(chunks_[i].tokens.size());
      if (slot.fed < n_prompt) continue;  // prompt not finished: no token yet
    }
    sampling_.push_back(i);
  }
  model_.pool().parallel_for(sampling_.size(), 1, [&](size_t begin, size_t end) {
    for (size_t j = begin; j < end; ++j) {
      const size_t i = sampling_[j];
      Slot& slot = slots_[chunk_slot_[i]];
      float* row = logits_.data() + int64_t(i) * vocab;  // [vocab]
      if (slot.job.request.adjust.active()) slot.history.apply(slot.job.request.adjust, row, options_.vocab_limit);
      TokenConstraint* constraint = slot.job.request.constraint.get();
      slot.blocked = constraint && !constraint->mask(row, options_.vocab_limit);
      if (slot.blocked) continue;
      slot.last.id = slot.sampler.sample(row, options_.vocab_limit);
      if (constraint) constraint->accept(slot.last.id);
      slot.last.logprob = 0.0f;
      slot.last.top.clear();  // keeps its capacity: no allocation per token
      if (slot.job.request.logprobs >= 0) {
        compute_logprobs(row, options_.vocab_limit, slot.job.request.logprobs, slot.last);
        // Of the masked distribution: the tokens the constraint forbade are no alternatives.
        if (constraint) std::erase_if(slot.last.top, [](const TokenLogprob& t) { return std::isinf(t.logprob); });
      }
    }
  });
  int64_t blocked = 0;
  for (size_t i : sampling_) {
    Slot& slot = slots_[chunk_slot_[i]];
    if (slot.blocked) {
      finish_slot(slot, FinishReason::kError, "the request's constraint (response_format) allows no next token");
      ++blocked;
      continue;
    }
    const EngineRequest& request = slot.job.request;
    const int32_t id = slot.last.id;
    slot.generated.push_back(id);
    slot.history.add(id);
    const bool keep = !slot.job.callbacks.on_token || slot.job.callbacks.on_token(slot.last);
    if (std::find(request.stop_ids.begin(), request.stop_ids.end(), id) != request.stop_ids.end())
      finish_slot(slot, FinishReason::kStop);
    else if (!keep)
      finish_slot(slot, FinishReason::kCancelled);
    else if (int64_t(slot.generated.size()) >= request.max_new_tokens)
      finish_slot(slot, FinishReason::kLength);
  }
  std::lock_guard lock(mutex_);
  ++steps_;
  prompt_tokens_ += new_prompt;
  generated_tokens_ += int64_t(sampling_.size()) - blocked;
  return true;
}

void BatchEngine::guarded_step() {
  try {
    step();
  } catch (const std::exception& e) {
    // The caches of the running requests may hold a half-written step: those requests end here.
    const std::string message = fmt::format("generation failed: {}", e.what());
    for (Slot& slot : slots_)
      if (slot.busy) finish_slot(slot, FinishReason::kError, message);
  }
  // After every step, whether it fed anything or only retired cancelled or failed requests.
  int64_t kv_tokens = 0;
  for (const Slot& slot : slots_) kv_tokens += slot.cache.length();
  std::lock_guard lock(mutex_);
  kv_tokens_ = kv_tokens;
}

void BatchEngine::engine_loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty() || active_ > 0; });
      if (stop_) return;
    }
    std::lock_guard step_lock(step_mutex_);
    guarded_step();
  }
}

std::vector<Completion> BatchEngine::generate_batch(std::vector<EngineRequest> requests, Progress* progress) {
  std::vector<Completion> results(requests.size());
  std::mutex done_mutex;
  std::condition_variable done_cv;
  size_t n_done = 0;
  for (EngineRequest& r : requests) check_request(r);  // all or nothing: callbacks below capture locals
  for (size_t i = 0; i < requests.size(); ++i) {
    RequestCallbacks callbacks;
    callbacks.on_done = [&, i](const Completion& c) {
      std::lock_guard lock(done_mutex);
      results[i] = c;
      ++n_done;
      if (progress) progress->add(1);
      done_cv.notify_all();
    };
    submit(std::move(requests[i]), std::move(callbacks));
  }
  auto all_done = [&] {
    std::lock_guard lock(done_mutex);
    return n_done == results.size();
  };
  if (thread_.joinable()) {
    std::unique_lock lock(done_mutex);
    done_cv.wait(lock, [&] { return n_done == results.size(); });
  } else {
    while (!all_done()) {
      std::lock_guard step_lock(step_mutex_);
      guarded_step();
    }
  }
  for (const Completion& c : results)
    if (c.finish == FinishReason::kError) fail("{}", c.error);
  return results;
}

}  // namespace whale

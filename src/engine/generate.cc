#include "engine/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace whale {

std::vector<int32_t> generate(Model& model, std::span<const int32_t> prompt, const GenerateOptions& options,
                              const std::function<bool(int32_t)>& on_token, GenerateStats* stats) {
  if (prompt.empty()) fail("generate: the prompt is empty");
  if (options.max_new_tokens < 0) fail("generate: max new tokens must be >= 0");
  const int64_t capacity = int64_t(prompt.size()) + options.max_new_tokens;
  if (capacity > model.config().max_position)
    fail("generate: prompt ({}) + new tokens ({}) exceed the model's context of {} positions", prompt.size(),
         options.max_new_tokens, model.config().max_position);
  Sampler sampler(options.sampling);
  const int64_t vocab = options.vocab_limit > 0 ? std::min(options.vocab_limit, model.config().vocab_size)
                                                : model.config().vocab_size;
  options.adjust.validate(vocab);
  TokenHistory history;
  history.reset({prompt.begin(), prompt.end()}, options.adjust.repetition_penalty != 1);
  KvCache cache = model.new_cache(std::max<int64_t>(capacity, 1));
  ForwardOptions fwd{.mla_absorbed = options.mla_absorbed, .last_token_logits = true};
  std::vector<float> logits;
  std::vector<int32_t> out;
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  std::vector<int32_t> next(prompt.begin(), prompt.end());
  double prefill = 0;
  while (int64_t(out.size()) < options.max_new_tokens) {
    SeqChunk chunk{next, &cache};
    model.forward({&chunk, 1}, fwd, logits);
    if (out.empty()) prefill = std::chrono::duration<double>(clock::now() - t0).count();
    if (options.adjust.active()) history.apply(options.adjust, logits.data(), vocab);
    int32_t id = sampler.sample(logits.data(), vocab);
    history.add(id);
    out.push_back(id);
    bool stop = std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end();
    if (on_token && !on_token(id)) break;
    if (stop) break;
    next.assign(1, id);
  }
  if (stats) {
    stats->prompt_tokens = int64_t(prompt.size());
    stats->new_tokens = int64_t(out.size());
    stats->prefill_seconds = prefill;
    stats->decode_seconds = std::chrono::duration<double>(clock::now() - t0).count() - prefill;
  }
  return out;
}

}  // namespace whale

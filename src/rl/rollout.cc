#include "rl/rollout.h"

#include <optional>
#include <random>

#include "core/error.h"

namespace whale::rl {

PromptEncoder::PromptEncoder(const Tokenizer& tokenizer, const PromptConfig& config)
    : tokenizer_(tokenizer), config_(config) {
  if (config.style == PromptStyle::kChat) {
    if (!tokenizer.config().contains("chat_template"))
      fail("prompt style \"chat\" needs a chat_template in tokenizer_config.json");
    chat_ = ChatTemplate::from_tokenizer_config(tokenizer.config(), "tokenizer_config.json");
  }
}

PromptEncoder::Encoded PromptEncoder::encode(const Problem& problem) const {
  Encoded out;
  if (config_.style == PromptStyle::kR1Zero) {
    const PromptOptions options{.prefill_think = config_.prefill_think};
    if (tokenizer_.add_bos_token() && tokenizer_.bos_id() >= 0) out.ids.push_back(tokenizer_.bos_id());
    const std::vector<int32_t> text = tokenizer_.encode(r1_zero_prompt(problem, options));
    out.ids.insert(out.ids.end(), text.begin(), text.end());
    out.response_prefix = full_response(options, "");
    return out;
  }
  // As the server encodes a chat: only the template's markup becomes special tokens.
  ChatPrompt rendered = chat_->render_for_encoding(tokenizer_, chat_messages(problem, config_.instruction), true);
  const std::string& prompt = rendered.text;
  out.ids = std::move(rendered.ids);
  out.response_prefix = open_reasoning_prefix(prompt);
  return out;
}

std::string open_reasoning_prefix(const std::string& prompt) {
  const size_t open = prompt.rfind("<think>");
  if (open == std::string::npos || prompt.find("</think>", open) != std::string::npos) return "";
  return prompt.substr(open);
}

std::vector<Rollout> generate_rollouts(BatchEngine& engine, const PromptEncoder& prompts, const Task& task,
                                       std::span<const Problem> problems, const RolloutOptions& options,
                                       const RewardConfig& reward) {
  if (options.samples < 1) fail("rollouts: samples per problem must be >= 1 (got {})", options.samples);
  const Tokenizer& tokenizer = prompts.tokenizer();
  std::vector<int32_t> stop = options.stop_ids;
  if (stop.empty() && tokenizer.eos_id() >= 0) stop.push_back(tokenizer.eos_id());
  std::vector<PromptEncoder::Encoded> encoded;
  encoded.reserve(problems.size());
  for (const Problem& p : problems) encoded.push_back(prompts.encode(p));

  std::vector<EngineRequest> requests;
  for (size_t p = 0; p < problems.size(); ++p)
    for (int64_t s = 0; s < options.samples; ++s) {
      EngineRequest r{.prompt = encoded[p].ids, .sampling = options.sampling, .max_new_tokens = options.max_new_tokens,
                      .stop_ids = stop};
      r.sampling.seed = options.sampling.seed + uint64_t(requests.size());
      requests.push_back(std::move(r));
    }
  std::optional<Progress> progress;
  if (!options.progress_label.empty())
    progress.emplace(options.progress_label, double(requests.size()), Progress::Unit::kCount, "samples");
  std::vector<Completion> done = engine.generate_batch(std::move(requests), progress ? &*progress : nullptr);

  std::vector<Rollout> out(done.size());
  for (size_t i = 0; i < done.size(); ++i) {
    const size_t p = i / size_t(options.samples);
    Rollout& r = out[i];
    r.problem = int64_t(p);
    r.prompt = encoded[p].ids;
    r.completion = std::move(done[i].tokens);
    r.truncated = done[i].finish != FinishReason::kStop;
    // Special tokens stay in the text (R1 tokenizers make <think> and </think> special); the stop token goes.
    std::vector<int32_t> text = r.completion;
    if (!r.truncated && !text.empty()) text.pop_back();
    r.response = encoded[p].response_prefix + tokenizer.decode(text);
    r.reward = score_response(task, problems[p], r.response, reward);
  }
  return out;
}

std::vector<Problem> heldout_problems(const Task& task, int64_t n, uint64_t seed, int min_difficulty,
                                      int max_difficulty) {
  if (n < 1) fail("evaluation needs at least one problem (got {})", n);
  std::mt19937_64 rng(seed);
  std::vector<Problem> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(task.draw(Split::kHeldOut, min_difficulty, max_difficulty, rng));
  return out;
}

EvalMetrics evaluate_policy(BatchEngine& engine, const PromptEncoder& prompts, const Task& task,
                            std::span<const Problem> problems, const RolloutOptions& options) {
  const std::vector<Rollout> rollouts = generate_rollouts(engine, prompts, task, problems, options);
  std::vector<std::vector<std::string>> responses(problems.size());
  for (const Rollout& r : rollouts) responses[size_t(r.problem)].push_back(r.response);
  return evaluate(task, problems, responses);
}

}  // namespace whale::rl

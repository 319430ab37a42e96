#include "server/completion_handler.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "grammar/grammar_constraint.h"
#include "server/fill_in_middle.h"
#include "server/logprobs_json.h"
#include "server/tools/forced_call_constraint.h"
#include "server/tools/tool_call.h"

namespace whale::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string random_hex(size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s;
  while (s.size() < n) s += fmt::format("{:016x}", rng());
  return s.substr(0, n);
}

uint64_t random_seed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A failed engine step (FinishReason::kError) is the server's fault: 500, type server_error.
HttpError engine_failure(const std::string& message) { return HttpError(500, message, "", "", "server_error"); }

HttpError shutting_down() {
  return HttpError(503, "the server is shutting down; the request was cancelled", "", "shutting_down", "server_error");
}

// How often a request's thread looks at its job, its client and the shutdown flag.
constexpr std::chrono::milliseconds kPoll{100};

// OpenAI's usage with DeepSeek's fields: the prompt cache ones (no prefix cache yet: every prompt token a miss) and
// the reasoning tokens.
json usage_json(int64_t prompt_tokens, const GenerationJob& job) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", job.completion_tokens()},
          {"total_tokens", prompt_tokens + job.completion_tokens()},
          {"prompt_tokens_details", {{"cached_tokens", 0}}},
          {"completion_tokens_details", {{"reasoning_tokens", job.reasoning_tokens()}}},
          {"prompt_cache_hit_tokens", 0},
          {"prompt_cache_miss_tokens", prompt_tokens}};
}

// The mean log-probability per token of a finished choice (best_of ranks by it); an empty answer ranks last.
double mean_logprob(const ChoiceDelta& a) {
  const size_t n = a.content_logprobs.size() + a.reasoning_logprobs.size();
  if (n == 0) return -std::numeric_limits<double>::infinity();
  double sum = 0;
  for (const auto* tokens : {&a.content_logprobs, &a.reasoning_logprobs})
    for (const SampledToken& t : *tokens) sum += t.logprob;
  return sum / double(n);
}

std::string sse(const json& chunk) { return "data: " + chunk.dump() + "\n\n"; }

}  // namespace

std::optional<KeyPolicy> CompletionHandler::policy_for(const std::string& key_id, const json& texts,
                                                       const char* param) const {
  if (!options_.policy) return std::nullopt;
  KeyPolicy policy = options_.policy->for_key(key_id);
  auto check = [&](const json& text) {
    if (!text.is_string()) return;
    if (std::optional<PromptRejection> rejected = policy.check_prompt(text.get_ref<const std::string&>()))
      throw HttpError(400, rejected->message, param, "content_policy");
  };
  if (texts.is_array())
    for (const json& m : texts) {
      check(m.is_object() && m.contains("content") ? m["content"] : m);
      if (m.is_object() && m.contains("tool_calls"))  // the client writes these too: they reach the prompt
        for (const json& call : m["tool_calls"])
          for (const char* key : {"name", "arguments"}) check(call["function"][key]);
    }
  else
    check(texts);
  return policy;
}

void CompletionHandler::chat(const HttpRequest& req, ResponseSink& sink, const std::string& key_id) {
  ChatRequest r = parse_chat_request(req.body, options_.limits);
  const std::optional<KeyPolicy> policy = policy_for(key_id, r.messages, "messages");
  if (policy && !r.tools.tools.empty()) policy_for(key_id, json(r.tools.tools.dump()), "tools");  // rendered too
  if (!model_.chat_template)
    throw HttpError(400,
                    "this model has no chat template (tokenizer_config.json "
                    "chat_template); use /v1/completions",
                    "messages", "no_chat_template");
  const tools::ToolFormat format = tool_format();
  if (r.tools.parse_calls() && format == tools::ToolFormat::kNone)
    throw HttpError(400, "this model's chat template writes no tool calls that this server can parse", "tools",
                    "unsupported_parameter");
  json extra = json::object();  // what HF apply_chat_template(tools=...) passes
  if (!r.tools.tools.empty()) extra["tools"] = r.tools.tools;
  ChatPrompt prompt;  // message strings encoded as text: only the template's markup becomes special tokens
  try {
    prompt = model_.chat_template->render_for_encoding(model_.tokenizer,
                                                       tools::messages_for_template(format, r.messages),
                                                       /*add_generation_prompt=*/true, extra,
                                                       r.assistant_prefix.value_or(""));
  } catch (const Error& e) {  // e.g. the template's raise_exception on a role order it does not accept
    throw HttpError(400, fmt::format("the chat template rejected the messages: {}", e.what()), "messages");
  }
  ConstraintFactory forced;  // a forced call: the format's markup around arguments of a candidate's schema
  if (!r.tools.forced.empty()) {
    if (r.gen.response_format)
      throw HttpError(400, "a forced 'tool_choice' cannot be combined with 'response_format'", "tool_choice");
    std::vector<tools::ForcedCallSpec> specs;
    for (const tools::ForcedTool& t : r.tools.forced)
      specs.push_back(tools::forced_call_spec(format, model_.tokenizer, t.name, t.arguments));
    forced = [this, specs = std::move(specs), reasoning = ends_inside_think(prompt.text)] {
      return std::make_shared<tools::AnyCallConstraint>(
          specs, vocab_index(), grammar::ConstraintOptions{.stop_ids = model_.stop_ids, .reasoning_first = reasoning});
    };
  }
  const bool in_reasoning = ends_inside_think(prompt.text);
  run(Kind::kChat, {.prompts = {std::move(prompt.ids)}, .per_prompt = r.gen.n, .make_constraint = std::move(forced)},
      r.gen,
      {.stop = r.gen.stop,
       .split_reasoning = true,
       .in_reasoning = in_reasoning,
       .policy = policy ? &*policy : nullptr,
       .tool_format = r.tools.parse_calls() ? format : tools::ToolFormat::kNone,
       .max_tool_calls = r.tools.parallel ? std::numeric_limits<size_t>::max() : 1},
      sink);
}

tools::ToolFormat CompletionHandler::tool_format() const {
  std::call_once(tool_format_once_, [&] {
    if (model_.chat_template) tool_format_ = tools::detect_tool_format(*model_.chat_template);
  });
  return tool_format_;
}

std::vector<std::vector<int32_t>> CompletionHandler::completion_prompts(const CompletionRequest& r,
                                                                       std::vector<std::string>& texts) const {
  const Tokenizer& tokenizer = model_.tokenizer;
  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < r.prompts.size(); ++i) {
    const CompletionPrompt& p = r.prompts[i];
    if (p.ids) {
      for (int32_t id : *p.ids)
        if (!tokenizer.is_valid_id(id))
          throw HttpError(400, fmt::format("'prompt' holds token id {}, which this model's vocabulary lacks", id),
                          "prompt", "invalid_value");
      texts.push_back(tokenizer.decode(*p.ids));
    } else {
      texts.push_back(p.text);
    }
    if (r.suffix) {
      prompts.push_back(fill_in_middle_prompt(tokenizer, texts.back(), *r.suffix));
    } else if (p.ids) {
      prompts.push_back(*p.ids);
    } else {
      std::vector<int32_t> ids;
      if (tokenizer.add_bos_token() && tokenizer.bos_id() >= 0) ids.push_back(tokenizer.bos_id());
      for (int32_t id : tokenizer.encode(p.text)) ids.push_back(id);
      prompts.push_back(std::move(ids));
    }
  }
  return prompts;
}

void CompletionHandler::completion(const HttpRequest& req, ResponseSink& sink, const std::string& key_id) {
  CompletionRequest r = parse_completion_request(req.body, options_.limits);
  std::vector<std::string> texts;
  Plan plan{.prompts = completion_prompts(r, texts), .per_prompt = r.best_of};
  json checked = json(texts);
  if (r.suffix) checked.push_back(*r.suffix);  // the model reads it too
  const std::optional<KeyPolicy> policy = policy_for(key_id, checked, "prompt");
  if (r.echo) plan.echo = std::move(texts);
  run(Kind::kText, std::move(plan), r.gen, {.stop = r.gen.stop, .policy = policy ? &*policy : nullptr}, sink);
}

int64_t CompletionHandler::Plan::prompt_tokens() const {
  int64_t n = 0;
  for (const std::vector<int32_t>& p : prompts) n += int64_t(p.size());
  return n;
}

void CompletionHandler::run(Kind kind, Plan plan, const GenerationRequest& gen, const JobOptions& job_options,
                            ResponseSink& sink) {
  const int64_t ctx = model_.engine.ctx();
  const char* prompt_param = kind == Kind::kChat ? "messages" : "prompt";
  try {  // the ranges were checked when parsing; logit_bias ids need the vocabulary
    gen.adjust.validate(model_.engine.options().vocab_limit);
  } catch (const Error& e) {
    throw HttpError(400, e.what(), "logit_bias", "invalid_value");
  }
  // best_of ranks the generations by their log-probabilities: they are computed even when not asked for.
  const int64_t logprobs = plan.per_prompt > gen.n ? std::max<int64_t>(gen.logprobs, 0) : gen.logprobs;
  std::vector<EngineRequest> choices;
  for (const std::vector<int32_t>& prompt : plan.prompts) {
    const int64_t n_prompt = int64_t(prompt.size());
    if (n_prompt + 1 > ctx)
      throw HttpError(400,
                      fmt::format("This model's maximum context length is {} tokens. However, your {} resulted in {} "
                                  "tokens (at least 1 more is needed for the completion).",
                                  ctx, prompt_param, n_prompt),
                      prompt_param, "context_length_exceeded");
    for (int64_t i = 0; i < plan.per_prompt; ++i) {
      EngineRequest r{.prompt = prompt,
                      .sampling = gen.sampling,
                      .max_new_tokens = std::min(gen.max_tokens.value_or(ctx), ctx - n_prompt),
                      .stop_ids = model_.stop_ids,
                      .logprobs = logprobs,
                      .adjust = gen.adjust};
      r.sampling.seed = gen.seeded ? gen.sampling.seed + uint64_t(i) : random_seed();
      if (plan.make_constraint)  // each choice walks its constraint on its own
        r.constraint = plan.make_constraint();
      else if (gen.response_format)
        r.constraint = std::make_shared<grammar::GrammarConstraint>(
            gen.response_format, vocab_index(),
            grammar::ConstraintOptions{.stop_ids = model_.stop_ids, .reasoning_first = job_options.in_reasoning});
      choices.push_back(std::move(r));
    }
  }
  JobOptions options = job_options;
  options.logprobs = logprobs >= 0;  // the engine requests above ask for them
  GenerationJob job(model_.engine, model_.tokenizer, choices, options);  // its destructor cancels what still runs
  const bool chat = kind == Kind::kChat;
  json head = {{"id", (chat ? "chatcmpl-" : "cmpl-") + random_hex(24)},
               {"object", chat ? (gen.stream ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
               {"created", unix_time()},
               {"model", options_.limits.model_name}};
  if (gen.stream)
    stream(chat, job, plan, gen, std::move(head), sink);
  else
    respond_whole(chat, job, plan, gen, job_options, std::move(head), sink);
}

std::shared_ptr<const grammar::VocabIndex> CompletionHandler::vocab_index() const {
  std::call_once(vocab_once_, [&] { vocab_ = std::make_shared<const grammar::VocabIndex>(model_.tokenizer); });
  return vocab_;
}

json CompletionHandler::logprobs_json(bool chat, const GenerationRequest& gen, const ChoiceDelta& d,
                                      int64_t& text_offset) const {
  if (gen.logprobs < 0) return nullptr;
  if (chat) return chat_logprobs_json(d.content_logprobs, d.reasoning_logprobs, model_.tokenizer);
  return completion_logprobs_json(d.content_logprobs, model_.tokenizer, text_offset);
}

void CompletionHandler::respond_whole(bool chat, GenerationJob& job, const Plan& plan, const GenerationRequest& gen,
                                      const JobOptions& job_options, json head, ResponseSink& sink) {
  std::vector<ChoiceDelta> acc(plan.prompts.size() * size_t(plan.per_prompt));
  while (!job.done()) {
    job.wait_finished(kPoll);
    for (ChoiceDelta& d : job.poll(std::chrono::milliseconds(0))) {
      ChoiceDelta& a = acc[size_t(d.index)];
      a.reasoning += d.reasoning;
      a.content += d.content;
      a.reasoning_logprobs.insert(a.reasoning_logprobs.end(), d.reasoning_logprobs.begin(), d.reasoning_logprobs.end());
      a.content_logprobs.insert(a.content_logprobs.end(), d.content_logprobs.begin(), d.content_logprobs.end());
      a.tool_calls.insert(a.tool_calls.end(), d.tool_calls.begin(), d.tool_calls.end());
      if (!d.finish_reason.empty()) a.finish_reason = d.finish_reason;
    }
    if (job.error()) throw engine_failure(*job.error());
    if (sink.client_gone()) return;  // nobody to answer: the job's destructor frees the slots now
    if (aborting_.load()) throw shutting_down();
  }
  json out = std::move(head);
  out["choices"] = json::array();
  for (size_t p = 0; p < plan.prompts.size(); ++p) {
    // This prompt's generations, the likeliest first when there are more than n (best_of).
    std::vector<size_t> order(size_t(plan.per_prompt));
    for (size_t k = 0; k < order.size(); ++k) order[k] = p * order.size() + k;
    if (plan.per_prompt > gen.n)
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t x, size_t y) { return mean_logprob(acc[x]) > mean_logprob(acc[y]); });
    for (int64_t i = 0; i < gen.n; ++i)
      out["choices"].push_back(choice_json(chat, gen, job_options, acc[order[size_t(i)]], int64_t(p) * gen.n + i,
                                           plan.echo.empty() ? "" : plan.echo[p]));
  }
  out["usage"] = usage_json(plan.prompt_tokens(), job);
  account(plan, job, sink);
  sink.respond({.body = out.dump()});
}

void CompletionHandler::account(const Plan& plan, const GenerationJob& job, ResponseSink& sink) {
  metrics_.add_tokens(plan.prompt_tokens(), job.completion_tokens());
  if (auto t = job.time_to_first_token()) metrics_.observe_ttft(*t);
  sink.annotate(fmt::format("{}+{}", plan.prompt_tokens(), job.completion_tokens()));  // the access log's tokens
}

json CompletionHandler::choice_json(bool chat, const GenerationRequest& gen, const JobOptions& job_options,
                                    const ChoiceDelta& a, int64_t index, const std::string& echo) const {
  int64_t text_offset = int64_t(echo.size());
  json c = {{"index", index}, {"logprobs", logprobs_json(chat, gen, a, text_offset)}, {"finish_reason", a.finish_reason}};
  if (!chat) {
    c["text"] = echo + a.content;
    return c;
  }
  c["message"] = {{"role", "assistant"}, {"content", a.content}};
  if (!a.tool_calls.empty()) {  // OpenAI: content null when the answer is only calls
    if (a.content.empty()) c["message"]["content"] = nullptr;
    c["message"]["tool_calls"] = tools::tool_calls_json(a.tool_calls, /*with_index=*/false);
  }
  if (job_options.in_reasoning || !a.reasoning.empty()) c["message"]["reasoning_content"] = a.reasoning;
  return c;
}

void CompletionHandler::stream(bool chat, GenerationJob& job, const Plan& plan, const GenerationRequest& gen,
                               json head, ResponseSink& sink) {
  const int64_t n_choices = int64_t(plan.prompts.size()) * gen.n;  // per_prompt == n: best_of is not streamed
  if (!sink.begin_stream({.content_type = "text/event-stream", .headers = {{"Cache-Control", "no-cache"}}})) return;
  Clock::time_point last_write = Clock::now();
  auto write = [&](const std::string& s) {
    last_write = Clock::now();
    return sink.write(s);  // false: the client is gone (the job's destructor frees its slots)
  };
  auto chunk = [&](json choices) {
    json c = head;
    c["choices"] = std::move(choices);
    if (gen.include_usage) c["usage"] = nullptr;
    return sse(c);
  };
  std::vector<int64_t> text_offsets(size_t(n_choices), 0);
  for (int64_t i = 0; i < n_choices; ++i) {  // chat streams open with the role, echoed completions with the prompt
    json opening = {{"index", i}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (chat) {
      opening["delta"] = {{"role", "assistant"}, {"content", ""}};
    } else if (!plan.echo.empty()) {
      opening["text"] = plan.echo[size_t(i / gen.n)];
      text_offsets[size_t(i)] = int64_t(plan.echo[size_t(i / gen.n)].size());
    } else {
      continue;
    }
    if (!write(chunk(json::array({opening})))) return;
  }
  for (;;) {
    std::vector<ChoiceDelta> deltas = job.poll(kPoll);
    if (job.error()) {  // OpenAI streams a failure as an error event and ends the stream
      job.cancel();
      if (write(sse(error_json(engine_failure(*job.error()))))) sink.end_stream();
      return;
    }
    for (const ChoiceDelta& d : deltas) {
      json c = {{"index", d.index},
                {"logprobs", logprobs_json(chat, gen, d, text_offsets[size_t(d.index)])},
                {"finish_reason", d.finish_reason.empty() ? json(nullptr) : json(d.finish_reason)}};
      if (chat) {
        c["delta"] = json::object();
        if (!d.reasoning.empty()) c["delta"]["reasoning_content"] = d.reasoning;
        if (!d.content.empty()) c["delta"]["content"] = d.content;
        if (!d.tool_calls.empty()) c["delta"]["tool_calls"] = tools::tool_calls_json(d.tool_calls, /*with_index=*/true);
      } else {
        c["text"] = d.content;
      }
      if (!write(chunk(json::array({c})))) return;
    }
    if (sink.client_gone()) return;
    if (job.done()) {
      if (gen.include_usage) {
        json u = head;
        u["choices"] = json::array();
        u["usage"] = usage_json(plan.prompt_tokens(), job);
        if (!write(sse(u))) return;
      }
      if (!write("data: [DONE]\n\n")) return;
      account(plan, job, sink);
      return sink.end_stream();
    }
    if (aborting_.load()) {  // shutdown: the client learns why its stream ends early
      job.cancel();
      if (write(sse(error_json(shutting_down()))) && write("data: [DONE]\n\n")) sink.end_stream();
      return;
    }
    // A stream queued behind other requests sends an SSE comment now and then (proxies keep it open).
    if (deltas.empty() && Clock::now() - last_write > std::chrono::seconds(1) && !write(": keep-alive\n\n")) return;
  }
}

}  // namespace whale::server

#include "server/completion_handler.h"

#include <chrono>
#include <functional>
#include <random>

#include <fmt/format.h>

#include "server/logprobs_json.h"
#include <nlohmann/json.hpp>

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

// R1's generation prompt ends in "<think>\n": the output starts inside the reasoning.
bool ends_inside_think(const std::string& prompt) {
  const size_t end = prompt.find_last_not_of(" \t\r\n");
  return end != std::string::npos && std::string_view(prompt).substr(0, end + 1).ends_with("<think>");
}

// A failed engine step (FinishReason::kError) is the server's fault: 500, type server_error.
HttpError engine_failure(const std::string& message) { return HttpError(500, message, "", "", "server_error"); }

json usage_json(const GenerationJob& job) {
  return {{"prompt_tokens", job.prompt_tokens()},
          {"completion_tokens", job.completion_tokens()},
          {"total_tokens", job.prompt_tokens() + job.completion_tokens()}};
}

// Everything a streaming response needs between calls of the content provider.
struct StreamState {
  std::unique_ptr<GenerationJob> job;
  json head;  // id, object, created, model
  bool chat = true, include_usage = false, started = false;
  std::function<nlohmann::json(const ChoiceDelta&, int64_t& text_offset)> logprobs;  // a choice's "logprobs"
  std::vector<int64_t> text_offsets;  // per choice, for text-completion logprobs
  Clock::time_point last_write = Clock::now();
};

std::string sse(const json& chunk) { return "data: " + chunk.dump() + "\n\n"; }

}  // namespace

void CompletionHandler::chat(const httplib::Request& req, httplib::Response& res) {
  ChatRequest r = parse_chat_request(req.body, options_.limits);
  if (!model_.chat_template)
    throw HttpError(400, "this model has no chat template (tokenizer_config.json chat_template); use /v1/completions",
                    "messages", "no_chat_template");
  std::string prompt;
  try {
    prompt = model_.chat_template->render(r.messages, /*add_generation_prompt=*/true);
  } catch (const Error& e) {  // e.g. the template's raise_exception on a role order it does not accept
    throw HttpError(400, fmt::format("the chat template rejected the messages: {}", e.what()), "messages");
  }
  run(Kind::kChat, model_.tokenizer.encode(prompt), r.gen,
      {.stop = r.gen.stop, .split_reasoning = true, .in_reasoning = ends_inside_think(prompt)}, res);
}

void CompletionHandler::completion(const httplib::Request& req, httplib::Response& res) {
  CompletionRequest r = parse_completion_request(req.body, options_.limits);
  std::vector<int32_t> ids;
  if (model_.tokenizer.add_bos_token() && model_.tokenizer.bos_id() >= 0) ids.push_back(model_.tokenizer.bos_id());
  std::vector<int32_t> text = model_.tokenizer.encode(r.prompt);
  ids.insert(ids.end(), text.begin(), text.end());
  run(Kind::kText, std::move(ids), r.gen, {.stop = r.gen.stop}, res);
}

void CompletionHandler::run(Kind kind, std::vector<int32_t> prompt, const GenerationRequest& gen,
                            const JobOptions& job_options, httplib::Response& res) {
  const int64_t ctx = model_.engine.ctx(), n_prompt = int64_t(prompt.size());
  const char* prompt_param = kind == Kind::kChat ? "messages" : "prompt";
  if (n_prompt + 1 > ctx)
    throw HttpError(400, fmt::format("This model's maximum context length is {} tokens. However, your {} resulted "
                                     "in {} tokens (at least 1 more is needed for the completion).",
                                     ctx, prompt_param, n_prompt),
                    prompt_param, "context_length_exceeded");
  std::vector<EngineRequest> choices;
  for (int64_t i = 0; i < gen.n; ++i) {
    EngineRequest r{.prompt = prompt, .sampling = gen.sampling,
                    .max_new_tokens = std::min(gen.max_tokens.value_or(ctx), ctx - n_prompt),
                    .stop_ids = model_.stop_ids,
                    .logprobs = gen.logprobs};
    r.sampling.seed = gen.seeded ? gen.sampling.seed + uint64_t(i) : random_seed();
    choices.push_back(std::move(r));
  }
  JobOptions options = job_options;
  options.logprobs = gen.logprobs >= 0;  // the engine requests above ask for them
  auto job = std::make_unique<GenerationJob>(model_.engine, model_.tokenizer, choices, options);
  const bool chat = kind == Kind::kChat;
  // The choice's "logprobs" for the tokens of one delta (or of the whole answer); null when not asked for.
  auto logprobs_json = [this, chat, wanted = gen.logprobs >= 0](const ChoiceDelta& d, int64_t& text_offset) -> json {
    if (!wanted) return nullptr;
    if (chat) return chat_logprobs_json(d.content_logprobs, d.reasoning_logprobs, model_.tokenizer);
    return completion_logprobs_json(d.content_logprobs, model_.tokenizer, text_offset);
  };
  json head = {{"id", (chat ? "chatcmpl-" : "cmpl-") + random_hex(24)},
               {"object", chat ? (gen.stream ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
               {"created", unix_time()},
               {"model", options_.limits.model_name}};

  if (!gen.stream) {
    std::vector<ChoiceDelta> acc(size_t(gen.n));
    while (!job->done()) {
      for (ChoiceDelta& d : job->poll(std::chrono::milliseconds(500))) {
        ChoiceDelta& a = acc[size_t(d.index)];
        a.reasoning += d.reasoning;
        a.content += d.content;
        a.reasoning_logprobs.insert(a.reasoning_logprobs.end(), d.reasoning_logprobs.begin(),
                                    d.reasoning_logprobs.end());
        a.content_logprobs.insert(a.content_logprobs.end(), d.content_logprobs.begin(), d.content_logprobs.end());
        if (!d.finish_reason.empty()) a.finish_reason = d.finish_reason;
      }
      if (job->error()) throw engine_failure(*job->error());  // the job's destructor cancels the rest
    }
    json out = head;
    out["choices"] = json::array();
    for (int64_t i = 0; i < gen.n; ++i) {
      const ChoiceDelta& a = acc[size_t(i)];
      int64_t text_offset = 0;
      json c = {{"index", i}, {"logprobs", logprobs_json(a, text_offset)}, {"finish_reason", a.finish_reason}};
      if (chat) {
        c["message"] = {{"role", "assistant"}, {"content", a.content}};
        if (job_options.in_reasoning || !a.reasoning.empty()) c["message"]["reasoning_content"] = a.reasoning;
      } else {
        c["text"] = a.content;
      }
      out["choices"].push_back(std::move(c));
    }
    out["usage"] = usage_json(*job);
    metrics_.add_tokens(job->prompt_tokens(), job->completion_tokens());
    if (auto t = job->time_to_first_token()) metrics_.observe_ttft(*t);
    res.set_content(out.dump(), "application/json");
    return;
  }

  auto state = std::make_shared<StreamState>(
      StreamState{.job = std::move(job), .head = head, .chat = chat, .include_usage = gen.include_usage,
                  .logprobs = logprobs_json, .text_offsets = std::vector<int64_t>(size_t(gen.n), 0)});
  Metrics& metrics = metrics_;
  const int64_t n = gen.n;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [state, &metrics, n](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) {
          state->last_write = Clock::now();
          if (sink.write(s.data(), s.size())) return true;
          state->job->cancel();  // the client went away: free its slots now
          return false;
        };
        auto chunk = [&](json choices) {
          json c = state->head;
          c["choices"] = std::move(choices);
          if (state->include_usage) c["usage"] = nullptr;
          return sse(c);
        };
        if (!state->started) {  // chat streams open with the role
          state->started = true;
          if (state->chat)
            for (int64_t i = 0; i < n; ++i)
              if (!write(chunk(json::array({{{"index", i},
                                              {"delta", {{"role", "assistant"}, {"content", ""}}},
                                              {"logprobs", nullptr},
                                              {"finish_reason", nullptr}}}))))
                return false;
          return true;
        }
        std::vector<ChoiceDelta> deltas = state->job->poll(std::chrono::milliseconds(200));
        if (state->job->error()) {  // OpenAI streams a failure as an error event and ends the stream
          state->job->cancel();
          write(sse(error_json(engine_failure(*state->job->error()))));
          sink.done();
          return true;
        }
        for (const ChoiceDelta& d : deltas) {
          json c = {{"index", d.index}, {"logprobs", state->logprobs(d, state->text_offsets[size_t(d.index)])},
                    {"finish_reason", d.finish_reason.empty() ? json(nullptr) : json(d.finish_reason)}};
          if (state->chat) {
            c["delta"] = json::object();
            if (!d.reasoning.empty()) c["delta"]["reasoning_content"] = d.reasoning;
            if (!d.content.empty()) c["delta"]["content"] = d.content;
          } else {
            c["text"] = d.content;
          }
          if (!write(chunk(json::array({c})))) return false;
        }
        // An idle stream (queued behind other requests) probes the connection with an SSE comment.
        if (deltas.empty() && Clock::now() - state->last_write > std::chrono::seconds(1) && !write(": keep-alive\n\n"))
          return false;
        if (state->job->done()) {
          if (state->include_usage) {
            json u = state->head;
            u["choices"] = json::array();
            u["usage"] = usage_json(*state->job);
            if (!write(sse(u))) return false;
          }
          if (!write("data: [DONE]\n\n")) return false;
          metrics.add_tokens(state->job->prompt_tokens(), state->job->completion_tokens());
          if (auto t = state->job->time_to_first_token()) metrics.observe_ttft(*t);
          sink.done();
        }
        return true;
      },
      [state](bool) { state->job->cancel(); });
}

}  // namespace whale::server

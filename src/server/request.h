// OpenAI request bodies → validated requests, without any socket (a fuzzer can call these directly).
// Every rejection is an HttpError with status 400 (404 for an unknown model) naming the offending field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/logit_adjust.h"
#include "engine/logprobs.h"
#include "engine/sampler.h"
#include "grammar/json_grammar.h"
#include "server/http_error.h"
#include "server/tools/tool_request.h"

namespace whale::server {

struct ServerLimits {
  std::string model_name = "whale";  // the served model; a request naming another one is rejected
  std::vector<std::string> aliases;  // other names a request may give it (--alias); answers still say model_name
  size_t max_body_bytes = 1 << 20;
  int64_t max_n = 16;                // choices per request
  int64_t max_stop = 16;             // stop strings per request (OpenAI allows 4, DeepSeek 16)
  size_t max_stop_bytes = 256;       // length of one stop string
  int64_t max_messages = 1024;
  // What a request that leaves them out gets: OpenAI's temperature 1 unless the checkpoint's
  // generation_config.json recommends other values.
  SamplingParams default_sampling{.temperature = 1.0f};
  std::optional<int64_t> default_max_tokens;  // absent: up to the context
  float default_repetition_penalty = 1.0f;    // generation_config.json's; a request's field replaces it
};

// Settings shared by chat and text completions.
struct GenerationRequest {
  std::optional<int64_t> max_tokens;  // absent: ServerLimits::default_max_tokens
  SamplingParams sampling;            // absent fields: ServerLimits::default_sampling
  LogitAdjust adjust;                 // logit_bias, frequency / presence / repetition penalties
  bool seeded = false;                // seed given: choice i samples with seed + i
  std::vector<std::string> stop;
  int64_t n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // -1: off; k >= 0: report each token's log-probability and the k most likely alternatives. Chat:
  // logprobs (bool) + top_logprobs; completions: logprobs (the count).
  int64_t logprobs = -1;
  // response_format json_object or json_schema, compiled (grammar/schema_compiler.h); null for text. A schema
  // the grammar cannot represent is a 400 naming the keyword, before anything is generated.
  std::shared_ptr<const grammar::JsonGrammar> response_format;
};

struct ChatRequest {
  GenerationRequest gen;
  // normalised for the chat template: [{role, content: string}, ...]; an assistant turn with tool_calls has them
  // (checked) and content null when it has no text; a tool turn keeps its tool_call_id.
  nlohmann::json messages;
  tools::ToolRequest tools;
  // DeepSeek's prefix completion: a last assistant message with "prefix": true is not in `messages`; the reply
  // continues its content (which the reply does not repeat).
  std::optional<std::string> assistant_prefix;
};

// One prompt of a completions request: text (encoded with BOS as the tokenizer adds it) or the token ids to use as
// they are.
struct CompletionPrompt {
  std::string text;
  std::optional<std::vector<int32_t>> ids;
};

struct CompletionRequest {
  GenerationRequest gen;
  // "prompt": a string, token ids, or an array of either; each prompt gets n choices, indexed prompt * n + i.
  std::vector<CompletionPrompt> prompts;
  bool echo = false;                  // each choice's text starts with its prompt
  std::optional<std::string> suffix;  // fill in the middle: the text after the completion
  int64_t best_of = 1;                // generations per prompt (>= n); the n likeliest per token are returned
};

ChatRequest parse_chat_request(const std::string& body, const ServerLimits& limits);
CompletionRequest parse_completion_request(const std::string& body, const ServerLimits& limits);

}  // namespace whale::server

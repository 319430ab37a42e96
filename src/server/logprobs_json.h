// Token log-probabilities in the two OpenAI response shapes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "engine/logprobs.h"
#include "tokenizer/tokenizer.h"

namespace whale::server {

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}],
// "refusal": null}, plus "reasoning_content" (same entries) for the tokens inside <think> when there are any.
// "token" is the token's text (an incomplete UTF-8 character shows as U+FFFD); "bytes" are its exact bytes.
nlohmann::json chat_logprobs_json(const std::vector<SampledToken>& content, const std::vector<SampledToken>& reasoning,
                                  const Tokenizer& tokenizer);

// Text completions: {"tokens", "token_logprobs", "top_logprobs": [{text: logprob}], "text_offset"}.
// text_offset counts bytes of the completion text from `offset`, which is advanced past these tokens (a
// stream carries it from chunk to chunk).
nlohmann::json completion_logprobs_json(const std::vector<SampledToken>& tokens, const Tokenizer& tokenizer,
                                        int64_t& offset);

}  // namespace whale::server

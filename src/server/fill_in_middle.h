// Fill in the middle (completions "suffix", DeepSeek's FIM completion): the prompt is the text before the gap and the
// suffix the text after it; the model writes the middle. The layout is the prefix-suffix-middle order spelled with the
// vocabulary's own FIM tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace whale::server {

// [BOS if the tokenizer adds one] begin prefix hole suffix end, where (begin, hole, end) are DeepSeek's
// <｜fim▁begin｜> <｜fim▁hole｜> <｜fim▁end｜>, Qwen2.5's <|fim_prefix|> <|fim_suffix|> <|fim_middle|> or StarCoder's
// <fim_prefix> <fim_suffix> <fim_middle>, whichever set the vocabulary holds. None: HttpError 400 on "suffix".
std::vector<int32_t> fill_in_middle_prompt(const Tokenizer& tokenizer, const std::string& prefix,
                                           const std::string& suffix);

}  // namespace whale::server

#include "server/fill_in_middle.h"

#include <array>

#include "server/http_error.h"

namespace whale::server {
namespace {

struct FimTokens {
  const char* before_prefix;
  const char* before_suffix;
  const char* before_middle;
};

constexpr std::array<FimTokens, 3> kFimSpellings = {{
    {"<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"},  // DeepSeek (Coder, V2, V3, R1)
    {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"},  // Qwen2.5 (and the R1-Distill-Qwen models)
    {"<fim_prefix>", "<fim_suffix>", "<fim_middle>"},        // StarCoder
}};

}  // namespace

std::vector<int32_t> fill_in_middle_prompt(const Tokenizer& tokenizer, const std::string& prefix,
                                           const std::string& suffix) {
  for (const FimTokens& fim : kFimSpellings) {
    const int32_t begin = tokenizer.token_to_id(fim.before_prefix), hole = tokenizer.token_to_id(fim.before_suffix),
                  end = tokenizer.token_to_id(fim.before_middle);
    if (begin < 0 || hole < 0 || end < 0) continue;
    std::vector<int32_t> ids;
    if (tokenizer.add_bos_token() && tokenizer.bos_id() >= 0) ids.push_back(tokenizer.bos_id());
    ids.push_back(begin);
    for (int32_t id : tokenizer.encode(prefix)) ids.push_back(id);
    ids.push_back(hole);
    for (int32_t id : tokenizer.encode(suffix)) ids.push_back(id);
    ids.push_back(end);
    return ids;
  }
  throw HttpError(400,
                  "'suffix' needs a model trained to fill in the middle: this tokenizer has no FIM tokens "
                  "(DeepSeek's <｜fim▁begin｜>, Qwen's <|fim_prefix|> or StarCoder's <fim_prefix>)",
                  "suffix", "unsupported_parameter");
}

}  // namespace whale::server

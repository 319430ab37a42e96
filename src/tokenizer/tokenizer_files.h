// Writing a trained tokenizer as the hub ships one: tokenizer.json (HF tokenizers format) and
// tokenizer_config.json (BOS/EOS, chat template), loadable by HF and by Tokenizer::load.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "tokenizer/bpe_trainer.h"

namespace whale {

// The pre_tokenizer of DeepSeek-V3's tokenizer.json: digits in runs of up to 3, CJK/kana runs, then the
// word/punctuation/whitespace regex, each Split Isolated; then ByteLevel without its own regex. With
// split_digits, every digit is a pre-token of its own.
nlohmann::json deepseek_v3_pre_tokenizer(bool split_digits = false);

// A DeepSeek-R1-style chat template: system prompts joined, tool calls and outputs, earlier assistant
// turns cut to the text after </think>, and a generation prompt ending in "<think>\n".
const std::string& deepseek_r1_chat_template();

struct TokenizerFileOptions {
  std::string bos_token;  // default: the first special token
  std::string eos_token;  // default: the second special token
  std::string pad_token;  // default: "<｜pad｜>" if it is a special token, else eos
};

// Writes DIR/tokenizer.json and DIR/tokenizer_config.json (creating DIR).
void write_tokenizer_files(const TrainedBpe& bpe, const std::filesystem::path& dir,
                           const TokenizerFileOptions& options = {});

}  // namespace whale

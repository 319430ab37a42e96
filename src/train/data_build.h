// `whale data build`: text, JSONL or chat JSONL → a token file (train/token_file.h).
//   text  (.txt and anything not .jsonl): one document per file, UTF-8;
//   jsonl ({"text": ...} per line):       one document per line;
//   chat  ({"messages": [...]} per line): one conversation per line, rendered with the tokenizer's chat
//                                         template, with a loss mask on the assistant tokens (train/sft_mask.h).
// Each pretraining document is [BOS if the tokenizer adds one] + tokens + EOS; a conversation is its
// rendering (the template writes BOS) + EOS unless it already ends with EOS. `auto` picks per file from the
// extension and, for .jsonl, the first line's fields; chat and non-chat inputs cannot be mixed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace whale {

class Tokenizer;

enum class InputFormat { kAuto, kText, kJsonl, kChat };
InputFormat parse_input_format(const std::string& text);  // "auto"|"text"|"jsonl"|"chat"

struct DataBuildOptions {
  std::vector<std::filesystem::path> inputs;
  std::filesystem::path out;
  InputFormat format = InputFormat::kAuto;
  size_t threads = 0;     // 0: all cores
  bool progress = false;  // progress on stderr (core/progress.h)
};

struct DataBuildStats {
  uint64_t n_documents = 0, n_tokens = 0, n_target_tokens = 0, bytes_read = 0;
  uint64_t n_skipped_turns = 0;  // chat: assistant turns left out of the loss (see sft_mask.h)
  double seconds = 0;
};

DataBuildStats build_token_file(const Tokenizer& tokenizer, const DataBuildOptions& options);

}  // namespace whale

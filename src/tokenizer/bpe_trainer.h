// Byte-level BPE training over the DeepSeek-V3 pre-tokenizer: count pre-token words (multithreaded), then
// merge the most frequent adjacent pair repeatedly, updating pair counts incrementally with a lazy
// max-heap (the standard fast algorithm, as HF tokenizers' BpeTrainer).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whale {

class ThreadPool;

struct BpeTrainerOptions {
  int32_t vocab_size = 32000;  // including special tokens and the 256 byte tokens
  std::vector<std::string> special_tokens = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>",
                                             "<｜Assistant｜>", "<think>", "</think>", "<｜pad｜>"};
  int64_t min_frequency = 2;  // pairs seen fewer times are never merged
  bool split_digits = false;  // every digit its own pre-token (as Llama/Qwen2), not runs of up to 3 (DeepSeek-V3)
  bool progress = false;      // progress display on stderr
};

// Result of training. Ids: special tokens 0..n_special-1, then `tokens` in order.
struct TrainedBpe {
  std::vector<std::string> special_tokens;
  std::vector<std::string> tokens;  // raw bytes: the 256 single bytes (byte-level character order), then merges
  std::vector<std::pair<int32_t, int32_t>> merges;  // by rank: ids of the two merged tokens
  bool split_digits = false;  // the pre-tokenizer it was trained with (see BpeTrainerOptions)
};

// Trains on UTF-8 text; special tokens found in it are not split into merges.
TrainedBpe train_bpe(const std::vector<std::string_view>& texts, const BpeTrainerOptions& options,
                     ThreadPool& pool);
// Trains on files (each must be valid UTF-8; errors name the file). A .jsonl file contributes the "text" (or
// the chat "messages" contents) of each line.
TrainedBpe train_bpe_files(const std::vector<std::filesystem::path>& files, const BpeTrainerOptions& options,
                           ThreadPool& pool);

}  // namespace whale

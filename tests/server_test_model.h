// A servable test model for the server tests (C++ and node): the deepseek-v3-tiny architecture with random
// weights, widened to DeepSeek-V3's real vocabulary (129,280 ids) so that it can be paired with the real
// DeepSeek-V3 tokenizer from the fixtures. The tiny fixture checkpoint itself has only 320 ids, far fewer
// than the tokenizer, so `whale init` weights for the same config with vocab_size 129280 are used instead.
// The tokenizer is made R1's: placeholders 128798/128799 become the added tokens <think> and </think>
// (as in DeepSeek-R1's tokenizer.json) and the generation prompt ends in "<think>\n".
// To exercise the reasoning split end to end, the greedy reply to kReasoningChat is made to contain
// </think>: the embedding and lm_head rows of the token it emits at step k are swapped with </think>'s,
// so the model emits </think> there and then continues exactly as before (same embedding). The builder
// checks the result and writes the directory once (atomically) beside the whale binary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace whale::testing {

// User message whose greedy reply (temperature 0) has reasoning, then </think>, then content.
inline constexpr const char* kReasoningChat = "Hello";
inline constexpr int kServerTestCtx = 256;  // the model's max_position_embeddings

// Builds the model directory if needed and returns it.
std::filesystem::path server_test_model_dir();

// Greedy reply (kProbeTokens ids) of the model in `dir` to kReasoningChat, as the server produces it; the
// prompt's ids in *prompt_out.
inline constexpr int64_t kProbeTokens = 16;
std::vector<int32_t> greedy_reply(const std::filesystem::path& dir, std::vector<int32_t>* prompt_out = nullptr);

// Swaps tokens a and b in the embedding and the output head of the checkpoint in `dir` (in place): the model
// then emits b where it emitted a and continues as before.
void swap_token_rows(const std::filesystem::path& dir, int32_t a, int32_t b);

}  // namespace whale::testing

// Small helpers shared by the subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/generation_config.h"
#include "engine/logit_adjust.h"
#include "engine/sampler.h"
#include "rl/prompt_style.h"

namespace whale::cli {

inline void add_threads_option(CLI::App* cmd, size_t& threads) {
  cmd->add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::Range(0, 4096));
}

inline void add_instruction_option(CLI::App* cmd, rl::Instruction& instruction) {
  const std::map<std::string, rl::Instruction> names = {
      {"user", rl::Instruction::kUser}, {"system", rl::Instruction::kSystem}, {"none", rl::Instruction::kNone}};
  cmd->add_option("--instruction", instruction,
                  "chat: where the answer-format instruction goes: user (after the question), system (a system "
                  "message) or none (the question alone, as a user types it)")
      ->transform(CLI::CheckedTransformer(names));
}

inline void add_mmap_option(CLI::App* cmd, bool& mmap) {
  cmd->add_flag("--mmap", mmap, "use the weights in place in the file mapping (zero-copy, for models larger than RAM; "
                                "slower decode) instead of copying them into huge-page memory");
}

// --temperature --top-k --top-p --min-p --seed. A value the user does not give comes from the checkpoint's
// generation_config.json, else from the command's own default.
struct SamplingFlags {
  SamplingParams given;
  float repetition_penalty = 1.0f;
  CLI::Option *temperature = nullptr, *top_k = nullptr, *top_p = nullptr, *min_p = nullptr, *seed = nullptr,
              *repetition = nullptr;
  void add(CLI::App* cmd, const SamplingParams& shown_defaults, bool random_seed = false);
  // Validated; throws whale::Error naming the field.
  SamplingParams resolve(const GenerationConfig& generation, const SamplingParams& fallback) const;
  // The logit adjustments: --repetition-penalty, else generation_config.json's, else none.
  LogitAdjust adjust(const GenerationConfig& generation) const;
};

// input_ids (I64 or I32 [B, T]) from a safetensors file, checked against the model's vocabulary and context.
struct InputIds {
  std::vector<int32_t> tokens;  // [B * T]
  int64_t batch = 0, seq = 0;
};
InputIds read_input_ids(const std::string& file, int64_t vocab_size, int64_t max_position);

// Parses "1,2,3" into token ids; throws whale::Error on anything else.
std::vector<int32_t> parse_id_list(const std::string& text, const std::string& what);

}  // namespace whale::cli

#include "cli/common.h"

#include <charconv>

#include "core/error.h"
#include "io/safetensors.h"

namespace whale::cli {

InputIds read_input_ids(const std::string& file, int64_t vocab_size, int64_t max_position) {
  TensorStore input = TensorStore::open(file);
  if (!input.has("input_ids")) fail("{}: no tensor 'input_ids'", file);
  Tensor ids = input.get("input_ids");
  if (ids.rank() != 2 || (ids.dtype() != DType::I64 && ids.dtype() != DType::I32))
    fail("{}: input_ids must be I64 [B, T], got {} {}", file, dtype_name(ids.dtype()), shape_str(ids.shape()));
  InputIds out{{}, ids.dim(0), ids.dim(1)};
  if (out.batch <= 0 || out.seq <= 0) fail("{}: input_ids is empty", file);
  if (out.seq > max_position) fail("{}: sequence length {} exceeds max_position_embeddings {}", file, out.seq, max_position);
  for (int64_t id : ids.i64_values()) {
    if (id < 0 || id >= vocab_size) fail("{}: token id {} outside the vocabulary (size {})", file, id, vocab_size);
    out.tokens.push_back(int32_t(id));
  }
  return out;
}

void SamplingFlags::add(CLI::App* cmd, const SamplingParams& shown, bool random_seed) {
  given = shown;
  temperature = cmd->add_option("--temperature", given.temperature,
                                "0 = greedy (default: generation_config.json, else this)")->capture_default_str();
  top_k = cmd->add_option("--top-k", given.top_k, "keep the K most likely tokens (0 = off)")->capture_default_str();
  top_p = cmd->add_option("--top-p", given.top_p, "nucleus sampling mass (1 = off)")->capture_default_str();
  min_p = cmd->add_option("--min-p", given.min_p, "drop tokens below min_p × the top probability (0 = off)")
              ->capture_default_str();
  repetition = cmd->add_option("--repetition-penalty", repetition_penalty,
                               "divide the logits of tokens already seen by this (1 = off; default: "
                               "generation_config.json, else 1)")
                   ->check(CLI::Range(1e-3f, 10.0f));
  seed = random_seed ? cmd->add_option("--seed", given.seed, "random seed (default: a new one each run)")
                           ->default_str("")
                     : cmd->add_option("--seed", given.seed, "random seed");
}

SamplingParams SamplingFlags::resolve(const GenerationConfig& generation, const SamplingParams& fallback) const {
  SamplingParams p = generation.sampling(fallback);
  if (temperature->count()) p.temperature = given.temperature;
  if (top_k->count()) p.top_k = given.top_k;
  if (top_p->count()) p.top_p = given.top_p;
  if (min_p->count()) p.min_p = given.min_p;
  if (seed->count()) p.seed = given.seed;
  p.validate();
  return p;
}

LogitAdjust SamplingFlags::adjust(const GenerationConfig& generation) const {
  const float file = generation.repetition_penalty.value_or(1.0f);
  return {.repetition_penalty = repetition->count() ? repetition_penalty : file};
}

std::vector<int32_t> parse_id_list(const std::string& text, const std::string& what) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(i, comma - i);
    int32_t v = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 0)
      fail("{}: '{}' is not a non-negative token id (expected a list like 1,2,3)", what, item);
    ids.push_back(v);
    i = comma + 1;
  }
  return ids;
}

}  // namespace whale::cli

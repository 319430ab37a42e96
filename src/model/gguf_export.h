// `whale quantize`: a model (hub checkpoint directory or GGUF) written as a GGUF file that llama.cpp and
// gguf-py read — converted (F32 / F16 / BF16) or quantized (Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K, IQ4_XS) with
// llama-quantize's per-tensor choices (1-D tensors and the router stay F32; output → Q6_K; "more bits" for
// some attn_v / ffn_down layers; Q5_K attn_output with 8 experts; 32-element fallbacks for rows that are not
// whole 256-element blocks). Tensors are read, quantized and written one at a time (stacked experts one
// expert at a time), so a model larger than RAM converts.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "core/thread_pool.h"
#include "tensor/dtype.h"

namespace whale {

struct GgufFileType {
  std::string_view name;  // "Q4_K_M"
  DType base;             // the type of most matrices
  int file_type;          // general.file_type (llama_ftype)
};
// The supported output types; an unknown name is an error listing them.
const GgufFileType& parse_gguf_file_type(std::string_view name);

struct QuantizeProgress {
  size_t tensor = 0, n_tensors = 0;
  std::string name;
  DType dtype = DType::F32;
};

// Writes `model` (a hub directory with config.json + safetensors + tokenizer files, or a GGUF model) to `out`
// as `type`. `on_tensor` (optional) is called before each tensor is written.
void quantize_to_gguf(const std::filesystem::path& model, const std::filesystem::path& out, const GgufFileType& type,
                      ThreadPool& pool, const std::function<void(const QuantizeProgress&)>& on_tensor = {});

}  // namespace whale

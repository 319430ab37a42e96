// Random-weight checkpoints in hub layout for any supported config (benchmarks, training from scratch).
#pragma once

#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "model/config.h"
#include "tensor/dtype.h"

namespace whale {

struct InitOptions {
  uint64_t seed = 0;
  DType dtype = DType::BF16;  // storage dtype of matrices and vectors (F32, BF16 or F16)
  double std = 0.02;          // initializer_range: matrices ~ N(0, std²); norms = 1; biases = 0
};

// Writes `out/config.json` (the given JSON, as is) and `out/model.safetensors`. When the config has an fp8
// quantization_config, projection matrices are stored as F8_E4M3 with 128×128 `weight_scale_inv` blocks
// (embeddings, lm_head and the router stay in opts.dtype), as the DeepSeek-V3 release does.
void init_checkpoint(const nlohmann::json& config_json, const std::filesystem::path& out, const InitOptions& opts,
                     ThreadPool& pool);

}  // namespace whale

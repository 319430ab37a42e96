// Random-weight checkpoints in hub layout for any supported config (benchmarks, training from scratch).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "model/config.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace whale {

struct InitOptions {
  uint64_t seed = 0;
  DType dtype = DType::BF16;  // storage dtype of matrices and vectors (F32, BF16 or F16)
  double std = 0.02;          // initializer_range: matrices ~ N(0, std²); norms = 1; biases = 0
};

// Initial f32 values of one checkpoint tensor: matrices ~ N(0, std²), biases (`.bias`,
// `e_score_correction_bias`) 0, other vectors (norm weights) 1. Each tensor draws from its own stream,
// seeded from `seed` and its name, so the values do not depend on the order tensors are visited in.
std::vector<float> initial_values(const std::string& name, const Shape& shape, uint64_t seed, double std);

// Writes `out/config.json` (the given JSON, as is) and `out/model.safetensors`. When the config has an fp8
// quantization_config, projection matrices are stored as F8_E4M3 with 128×128 `weight_scale_inv` blocks
// (embeddings, lm_head and the router stay in opts.dtype), as the DeepSeek-V3 release does.
void init_checkpoint(const nlohmann::json& config_json, const std::filesystem::path& out, const InitOptions& opts,
                     ThreadPool& pool);

}  // namespace whale

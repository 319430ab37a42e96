#include "model/init.h"

#include <cmath>
#include <functional>
#include <ostream>
#include <random>

#include "core/error.h"
#include "core/progress.h"
#include "core/regular_file.h"
#include "io/safetensors.h"
#include "model/weights.h"

namespace whale {
namespace {

bool is_quantized_projection(const std::string& name) {
  return name.find("embed_tokens") == std::string::npos && name != "lm_head.weight" &&
         name.find("mlp.gate.weight") == std::string::npos;
}

void store_value(Tensor& t, int64_t i, float v) {
  switch (t.dtype()) {
    case DType::F32: t.mutable_data<float>()[i] = v; break;
    case DType::BF16: t.mutable_data<uint16_t>()[i] = f32_to_bf16(v); break;
    case DType::F16: t.mutable_data<uint16_t>()[i] = f32_to_f16(v); break;
    default: WHALE_CHECK(!"unsupported init dtype");
  }
}

// Quantizes f32 W [rows, cols] to F8_E4M3 with one scale per 128×128 block (scale = amax / 448).
std::pair<Tensor, Tensor> quantize_fp8(const std::vector<float>& w, int64_t rows, int64_t cols) {
  const int64_t B = MatrixView::kBlock, br = (rows + B - 1) / B, bc = (cols + B - 1) / B;
  Tensor q = Tensor::zeros(DType::F8E4M3, {rows, cols});
  Tensor s = Tensor::zeros(DType::F32, {br, bc});
  for (int64_t i = 0; i < br; ++i)
    for (int64_t j = 0; j < bc; ++j) {
      float amax = 0;
      for (int64_t r = i * B; r < std::min(rows, (i + 1) * B); ++r)
        for (int64_t c = j * B; c < std::min(cols, (j + 1) * B); ++c) amax = std::max(amax, std::fabs(w[size_t(r * cols + c)]));
      float scale = amax > 0 ? amax / 448.0f : 1.0f;
      s.mutable_data<float>()[i * bc + j] = scale;
      for (int64_t r = i * B; r < std::min(rows, (i + 1) * B); ++r)
        for (int64_t c = j * B; c < std::min(cols, (j + 1) * B); ++c)
          q.mutable_data<uint8_t>()[r * cols + c] = f32_to_f8e4m3(w[size_t(r * cols + c)] / scale);
    }
  return {std::move(q), std::move(s)};
}

}  // namespace

std::vector<float> initial_values(const std::string& name, const Shape& shape, uint64_t seed, double std) {
  const bool is_matrix = shape.size() == 2;
  const bool is_bias = name.ends_with(".bias") || name.ends_with("e_score_correction_bias");
  std::mt19937_64 rng(seed ^ std::hash<std::string>{}(name));
  std::normal_distribution<float> normal(0.0f, float(std));
  std::vector<float> values(size_t(shape_numel(shape)));
  for (float& v : values) v = is_matrix ? normal(rng) : (is_bias ? 0.0f : 1.0f);
  return values;
}

void init_checkpoint(const nlohmann::json& config_json, const std::filesystem::path& out, const InitOptions& opts,
                     ThreadPool& pool) {
  if (opts.dtype != DType::F32 && opts.dtype != DType::BF16 && opts.dtype != DType::F16)
    fail("init: dtype must be F32, BF16 or F16, got {}", dtype_name(opts.dtype));
  ModelConfig config = ModelConfig::from_json(config_json, "config");
  const std::filesystem::path weights_file = out / "model.safetensors", config_file = out / "config.json";
  for (const auto& file : {weights_file, config_file}) require_replaceable_file(file);  // before the work
  ModelWeights layout;
  std::vector<ModelWeights::Slot> slots;
  layout.visit(config, [&](const ModelWeights::Slot& s) { slots.push_back(s); });

  NamedTensors tensors(slots.size() * 2);  // room for fp8 scales; empty names are dropped below
  double n_params = 0;
  for (const ModelWeights::Slot& s : slots) n_params += double(shape_numel(s.shape));
  Progress progress("init", n_params, Progress::Unit::kCount, "parameters");
  pool.parallel_for(slots.size(), 1, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const ModelWeights::Slot& slot = slots[i];
      std::vector<float> values = initial_values(slot.name, slot.shape, opts.seed, opts.std);
      if (slot.shape.size() == 2 && config.quant_block && is_quantized_projection(slot.name)) {
        auto [q, s] = quantize_fp8(values, slot.shape[0], slot.shape[1]);
        tensors[2 * i] = {slot.name, std::move(q)};
        tensors[2 * i + 1] = {slot.name + "_scale_inv", std::move(s)};
      } else {
        Tensor t = Tensor::zeros(opts.dtype, slot.shape);
        for (int64_t j = 0; j < t.numel(); ++j) store_value(t, j, values[size_t(j)]);
        tensors[2 * i] = {slot.name, std::move(t)};
      }
      progress.add(double(values.size()));
    }
  });
  progress.finish();
  std::erase_if(tensors, [](const auto& nt) { return nt.first.empty(); });

  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) fail("init: cannot create {}: {}", out.string(), ec.message());
  write_safetensors(weights_file, tensors, {{"format", "pt"}});
  write_file_atomically(config_file, [&](std::ostream& f) { f << config_json.dump(2) << "\n"; });
}

}  // namespace whale

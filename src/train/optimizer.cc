#include "train/optimizer.h"

#include <charconv>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"

namespace whale {

namespace {

constexpr const char* kFormat = "whale-adamw-1";

void check_unit_interval(double v, const char* name) {
  if (!(v >= 0.0 && v < 1.0)) fail("AdamW: {} must be in [0, 1), got {}", name, v);
}

// Runs fn(begin, end) over [0, n), on the pool when there is one.
template <typename Fn>
void for_range(ThreadPool* pool, size_t n, Fn&& fn) {
  if (pool && n > 32768) pool->parallel_for(n, 16384, fn);
  else fn(0, n);
}

}  // namespace

AdamW::AdamW(AdamWConfig config) : config_(config) {
  check_unit_interval(config.beta1, "beta1");
  check_unit_interval(config.beta2, "beta2");
  if (!(config.eps > 0.0)) fail("AdamW: eps must be > 0, got {}", config.eps);
  if (!(config.weight_decay >= 0.0)) fail("AdamW: weight_decay must be >= 0, got {}", config.weight_decay);
}

AdamW::Moments& AdamW::moments_for(const Param& p) {
  Moments& mo = state_[p.name];
  if (mo.m.empty() && p.numel() > 0) {
    mo.m.assign(p.value.size(), 0.0f);
    mo.v.assign(p.value.size(), 0.0f);
  }
  WHALE_CHECK(mo.m.size() == p.value.size());
  return mo;
}

void AdamW::step(ParamSet& params, double lr, ThreadPool* pool) {
  if (!std::isfinite(lr) || lr < 0.0) fail("AdamW: learning rate must be finite and >= 0, got {}", lr);
  ++step_;
  const double bias1 = 1.0 - std::pow(config_.beta1, double(step_));
  const double bias2 = 1.0 - std::pow(config_.beta2, double(step_));
  const float b1 = float(config_.beta1), b2 = float(config_.beta2), eps = float(config_.eps);
  const float step_size = float(lr / bias1);
  const float inv_sqrt_bias2 = float(1.0 / std::sqrt(bias2));
  for (Param& p : params.params()) {
    if (!p.trained) continue;
    WHALE_CHECK(p.grad.size() == p.value.size());
    Moments& mo = moments_for(p);
    const float keep = p.decay ? float(1.0 - lr * config_.weight_decay) : 1.0f;
    float* w = p.value.data();
    const float* g = p.grad.data();
    float* m = mo.m.data();
    float* v = mo.v.data();
    for_range(pool, p.value.size(), [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        const float denom = std::sqrt(v[i]) * inv_sqrt_bias2 + eps;
        w[i] = w[i] * keep - step_size * m[i] / denom;
      }
    });
  }
}

void AdamW::save(const std::filesystem::path& file, const ParamSet& params) const {
  NamedTensors tensors;
  for (const Param& p : params.params()) {
    if (!p.trained) continue;
    auto it = state_.find(p.name);
    const bool stepped = it != state_.end() && !it->second.m.empty();
    const std::vector<float> zeros(stepped ? 0 : p.value.size(), 0.0f);  // moments before the first step
    tensors.emplace_back("m." + p.name, Tensor::from_f32(p.shape, stepped ? it->second.m : zeros));
    tensors.emplace_back("v." + p.name, Tensor::from_f32(p.shape, stepped ? it->second.v : zeros));
  }
  write_safetensors(file, tensors,
                    {{"format", kFormat}, {"step", std::to_string(step_)},
                     {"beta1", fmt::format("{}", config_.beta1)}, {"beta2", fmt::format("{}", config_.beta2)}});
}

void AdamW::load(const std::filesystem::path& file, const ParamSet& params) {
  const auto st = SafetensorsFile::open(file);
  const auto& meta = st->metadata();
  auto format = meta.find("format");
  if (format == meta.end() || format->second != kFormat)
    fail("{}: not a whale AdamW state file (metadata 'format' must be '{}')", file.string(), kFormat);
  auto step_text = meta.find("step");
  int64_t step = -1;
  if (step_text != meta.end()) {
    const std::string& s = step_text->second;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
    if (ec != std::errc() || end != s.data() + s.size()) step = -1;
  }
  if (step < 0) fail("{}: metadata 'step' is missing or not a non-negative integer", file.string());

  std::unordered_map<std::string, Moments> state;
  std::set<std::string> expected;
  for (const Param& p : params.params()) {
    if (!p.trained) continue;
    Moments mo;
    for (const char* which : {"m.", "v."}) {
      const std::string name = which + p.name;
      expected.insert(name);
      if (!st->has(name)) fail("{}: optimizer state lacks tensor '{}'", file.string(), name);
      const Tensor t = st->get(name);
      if (t.dtype() != DType::F32 || t.shape() != p.shape)
        fail("{}: tensor '{}' is {} {}, expected F32 {}", file.string(), name, dtype_name(t.dtype()),
             shape_str(t.shape()), shape_str(p.shape));
      (which[0] == 'm' ? mo.m : mo.v) = t.f32_values();
    }
    state.emplace(p.name, std::move(mo));
  }
  for (const auto& [name, info] : st->tensors())
    if (!expected.count(name))
      fail("{}: optimizer state has tensor '{}' that matches no trained parameter of the model", file.string(),
           name);
  state_ = std::move(state);
  step_ = step;
}

double clip_grad_norm(ParamSet& params, double max_norm) {
  double sum_sq = 0.0;
  for (const Param& p : params.params()) {
    if (!p.trained) continue;
    for (float g : p.grad) sum_sq += double(g) * double(g);
  }
  const double norm = std::sqrt(sum_sq);
  if (max_norm > 0.0 && std::isfinite(norm) && norm > max_norm) {
    const float scale = float(max_norm / (norm + 1e-6));
    for (Param& p : params.params())
      if (p.trained)
        for (float& g : p.grad) g *= scale;
  }
  return norm;
}

}  // namespace whale

#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace whale {
namespace {

// YaRN: the rotary dim at which a frequency completes `n_rot` turns over the original context.
double yarn_correction_dim(double n_rot, int64_t dim, double base, int64_t max_pos) {
  return double(dim) * std::log(double(max_pos) / (n_rot * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

}  // namespace

Rope::Rope(const RopeConfig& c, int64_t dim, RopeLayout layout) : dim_(dim), layout_(layout) {
  WHALE_CHECK(dim % 2 == 0);
  const int64_t half = dim / 2;
  std::vector<double> freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) freq[size_t(i)] = 1.0 / std::pow(c.theta, double(2 * i) / double(dim));

  switch (c.scaling) {
    case RopeScaling::None: break;
    case RopeScaling::Linear:
      for (double& f : freq) f /= c.factor;
      break;
    case RopeScaling::Yarn: {
      // Blend interpolated (f / factor) and extrapolated (f) frequencies with a linear ramp over the
      // dims between the beta_fast and beta_slow correction dims (YaRN paper, eq. 18-19).
      double low = std::floor(yarn_correction_dim(c.beta_fast, dim, c.theta, c.original_max_position));
      double high = std::ceil(yarn_correction_dim(c.beta_slow, dim, c.theta, c.original_max_position));
      low = std::max(low, 0.0);
      high = std::min(high, double(dim - 1));
      if (low == high) high += 0.001;
      for (int64_t i = 0; i < half; ++i) {
        double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
        double extrapolation = 1.0 - ramp;
        freq[size_t(i)] = freq[size_t(i)] / c.factor * (1.0 - extrapolation) + freq[size_t(i)] * extrapolation;
      }
      double m_all = c.mscale_all_dim != 0.0 ? yarn_mscale(c.factor, c.mscale_all_dim) : 1.0;
      attention_factor_ = float(yarn_mscale(c.factor, c.mscale) / m_all);
      break;
    }
    case RopeScaling::Llama3: {
      // Llama 3.1: keep high frequencies, divide low ones by factor, smooth blend in between.
      double old_ctx = double(c.original_max_position);
      double low_wavelen = old_ctx / c.low_freq_factor, high_wavelen = old_ctx / c.high_freq_factor;
      for (double& f : freq) {
        double wavelen = 2.0 * std::numbers::pi / f;
        if (wavelen > low_wavelen) {
          f /= c.factor;
        } else if (wavelen >= high_wavelen) {
          double smooth = (old_ctx / wavelen - c.low_freq_factor) / (c.high_freq_factor - c.low_freq_factor);
          f = (1.0 - smooth) * f / c.factor + smooth * f;
        }
      }
      break;
    }
  }
  if (!c.freq_factors.empty()) {
    WHALE_CHECK(c.freq_factors.size() == freq.size());
    for (size_t i = 0; i < freq.size(); ++i) freq[i] /= c.freq_factors[i];
  }
  inv_freq_.assign(freq.begin(), freq.end());
}

void Rope::apply(float* x, int64_t n_vec, int64_t stride, int64_t pos) const {
  const int64_t half = dim_ / 2;
  for (int64_t i = 0; i < half; ++i) {
    float angle = float(pos) * inv_freq_[size_t(i)];  // f32 product, as the reference computes it
    float cos = float(std::cos(double(angle))) * attention_factor_;
    float sin = float(std::sin(double(angle))) * attention_factor_;
    int64_t a = layout_ == RopeLayout::Interleaved ? 2 * i : i;
    int64_t b = layout_ == RopeLayout::Interleaved ? 2 * i + 1 : i + half;
    for (int64_t v = 0; v < n_vec; ++v) {
      float* p = x + v * stride;
      float x0 = p[a], x1 = p[b];
      p[a] = x0 * cos - x1 * sin;
      p[b] = x1 * cos + x0 * sin;
    }
  }
}

}  // namespace whale

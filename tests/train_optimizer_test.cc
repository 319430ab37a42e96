// AdamW against a hand-computed two-step update and a double-precision reference loop; grad clipping;
// optimizer state save/load round trip and its failure paths.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "train/optimizer.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

Param make_param(std::string name, Shape shape, std::vector<float> value, bool decay = true, bool trained = true) {
  Param p{.name = std::move(name), .shape = std::move(shape), .value = std::move(value), .grad = {}};
  p.grad.assign(p.value.size(), 0.0f);
  p.decay = decay;
  p.trained = trained;
  return p;
}

fs::path scratch_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("whale-optim-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(AdamW, HandComputedTwoSteps) {
  ParamSet ps;
  ps.params().push_back(make_param("w", {1}, {1.0f}, /*decay=*/true));
  ps.params().push_back(make_param("norm", {1}, {1.0f}, /*decay=*/false));
  ps.params().push_back(make_param("bias", {1}, {1.0f}, true, /*trained=*/false));
  AdamW opt({.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1});
  for (float g : {0.5f, -0.2f}) {
    for (Param& p : ps.params()) p.grad = {g};
    opt.step(ps, 0.1);
  }
  // Step 1: m=0.05, v=0.00025, m̂=0.5, √v̂=0.5 → p = 1·(1-0.01) - 0.1·1 = 0.89.
  // Step 2: m=0.025, v=0.00028975, m̂=0.025/0.19, v̂=0.00028975/0.001999 → p = 0.89·0.99 - 0.1·0.345605.
  EXPECT_NEAR(ps.params()[0].value[0], 0.8465394181, 1e-6);
  EXPECT_NEAR(ps.params()[1].value[0], 0.8654394181, 1e-6);  // no weight decay
  EXPECT_EQ(ps.params()[2].value[0], 1.0f);                  // not trained: untouched
  EXPECT_EQ(opt.step_count(), 2);
}

// Straightforward double-precision AdamW on one tensor.
struct ReferenceAdamW {
  std::vector<double> w, m, v;
  void step(const std::vector<float>& g, double lr, const AdamWConfig& c, bool decay, int t) {
    for (size_t i = 0; i < w.size(); ++i) {
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g[i];
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * double(g[i]) * g[i];
      const double m_hat = m[i] / (1 - std::pow(c.beta1, t));
      const double v_hat = v[i] / (1 - std::pow(c.beta2, t));
      if (decay) w[i] -= lr * c.weight_decay * w[i];
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + c.eps);
    }
  }
};

TEST(AdamW, MatchesReferenceLoopWithThreads) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 100000;  // large enough to take the thread-pool path
  std::vector<float> init(n);
  for (float& x : init) x = normal(rng);
  ParamSet ps;
  ps.params().push_back(make_param("a", {n / 100, 100}, init, true));
  ps.params().push_back(make_param("b", {n}, init, false));
  const AdamWConfig cfg{.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05};
  AdamW opt(cfg);
  ThreadPool pool(2);
  std::vector<ReferenceAdamW> ref(2);
  for (auto& r : ref) {
    r.w.assign(init.begin(), init.end());
    r.m.assign(n, 0.0);
    r.v.assign(n, 0.0);
  }
  for (int t = 1; t <= 5; ++t) {
    const double lr = 0.01 * t;
    for (size_t k = 0; k < 2; ++k) {
      for (float& g : ps.params()[k].grad) g = normal(rng);
      ref[k].step(ps.params()[k].grad, lr, cfg, k == 0, t);
    }
    opt.step(ps, lr, &pool);
  }
  for (size_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(ps.params()[k].value[i], ref[k].w[i], 2e-5) << k << " " << i;
}

TEST(AdamW, RejectsBadHyperparameters) {
  EXPECT_THROW(AdamW({.beta1 = 1.0}), Error);
  EXPECT_THROW(AdamW({.beta2 = -0.1}), Error);
  EXPECT_THROW(AdamW({.eps = 0.0}), Error);
  EXPECT_THROW(AdamW({.weight_decay = -1.0}), Error);
  ParamSet ps;
  AdamW opt({});
  EXPECT_THROW(opt.step(ps, std::nan("")), Error);
}

TEST(ClipGradNorm, ReturnsPreClipNormAndScales) {
  ParamSet ps;
  ps.params().push_back(make_param("a", {2}, {0, 0}));
  ps.params().push_back(make_param("b", {1}, {0}));
  ps.params().push_back(make_param("frozen", {1}, {0}, true, /*trained=*/false));
  ps.params()[0].grad = {3, 0};
  ps.params()[1].grad = {4};
  ps.params()[2].grad = {100};  // not counted
  EXPECT_DOUBLE_EQ(clip_grad_norm(ps, 10.0), 5.0);  // below the limit: unchanged
  EXPECT_EQ(ps.params()[0].grad[0], 3.0f);
  EXPECT_DOUBLE_EQ(clip_grad_norm(ps, 1.0), 5.0);
  EXPECT_NEAR(ps.params()[0].grad[0], 0.6, 1e-6);
  EXPECT_NEAR(ps.params()[1].grad[0], 0.8, 1e-6);
  EXPECT_EQ(ps.params()[2].grad[0], 100.0f);
  ps.params()[1].grad = {INFINITY};
  EXPECT_FALSE(std::isfinite(clip_grad_norm(ps, 1.0)));
  EXPECT_NEAR(ps.params()[0].grad[0], 0.6, 1e-6);  // left alone
}

ParamSet two_params() {
  ParamSet ps;
  ps.params().push_back(make_param("x.weight", {2, 2}, {1, 2, 3, 4}));
  ps.params().push_back(make_param("x.norm", {2}, {1, 1}, false));
  ps.params().push_back(make_param("x.bias", {2}, {0, 0}, false, false));
  return ps;
}

void set_grads(ParamSet& ps, float scale) {
  for (Param& p : ps.params())
    for (size_t i = 0; i < p.grad.size(); ++i) p.grad[i] = scale * float(i + 1);
}

TEST(AdamW, SaveLoadContinuesIdentically) {
  const fs::path dir = scratch_dir("roundtrip");
  ParamSet a = two_params();
  AdamW opt_a({});
  set_grads(a, 1.0f);
  opt_a.step(a, 0.01);
  set_grads(a, -0.5f);
  opt_a.step(a, 0.01);
  opt_a.save(dir / "optimizer.safetensors", a);

  ParamSet b = a;
  AdamW opt_b({});
  opt_b.load(dir / "optimizer.safetensors", b);
  EXPECT_EQ(opt_b.step_count(), 2);
  set_grads(a, 0.25f);
  set_grads(b, 0.25f);
  opt_a.step(a, 0.01);
  opt_b.step(b, 0.01);
  for (size_t k = 0; k < a.params().size(); ++k) EXPECT_EQ(a.params()[k].value, b.params()[k].value);

  const auto st = SafetensorsFile::open(dir / "optimizer.safetensors");
  EXPECT_TRUE(st->has("m.x.weight"));
  EXPECT_TRUE(st->has("v.x.norm"));
  EXPECT_FALSE(st->has("m.x.bias"));  // untrained params carry no state
  EXPECT_EQ(st->metadata().at("step"), "2");
  fs::remove_all(dir);
}

TEST(AdamW, LoadRejectsMismatchedState) {
  const fs::path dir = scratch_dir("mismatch");
  ParamSet ps = two_params();
  AdamW opt({});
  opt.save(dir / "opt.safetensors", ps);  // before any step: zero moments

  auto expect_error = [&](const fs::path& file, const ParamSet& target, const std::string& needle) {
    AdamW other({});
    try {
      other.load(file, target);
      ADD_FAILURE() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  ParamSet bigger = two_params();
  bigger.params().push_back(make_param("y.weight", {1}, {0}));
  expect_error(dir / "opt.safetensors", bigger, "m.y.weight");
  ParamSet smaller = two_params();
  smaller.params().erase(smaller.params().begin());
  expect_error(dir / "opt.safetensors", smaller, "m.x.weight");
  ParamSet reshaped = two_params();
  reshaped.params()[0].shape = {4};
  expect_error(dir / "opt.safetensors", reshaped, "m.x.weight");
  write_safetensors(dir / "plain.safetensors", {{"m.x.weight", Tensor::zeros(DType::F32, {2, 2})}});
  expect_error(dir / "plain.safetensors", ps, "format");
  expect_error(dir / "missing.safetensors", ps, "missing.safetensors");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace whale

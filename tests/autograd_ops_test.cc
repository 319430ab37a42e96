// Finite-difference checks of every autograd op's backward, plus forward checks against direct formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "core/error.h"
#include "train/autograd/ops.h"

namespace whale::ag {
namespace {

// Parameters with random values that the op under test reads; the loss is Σ out ⊙ R for a fixed random R,
// so d loss / d out = R exercises every output element.
struct Harness {
  ThreadPool pool{2};
  std::vector<Param> inputs;
  std::mt19937 rng{7};

  Param& input(Shape shape, float lo = -1.0f, float hi = 1.0f) {
    Param p;
    p.name = "in" + std::to_string(inputs.size());
    p.shape = shape;
    std::uniform_real_distribution<float> u(lo, hi);
    for (int64_t i = 0; i < shape_numel(shape); ++i) p.value.push_back(u(rng));
    p.grad.assign(p.value.size(), 0.0f);
    inputs.reserve(8);  // references stay valid: tests use at most 8 inputs
    inputs.push_back(std::move(p));
    return inputs.back();
  }

  // Runs op on fresh leaves; returns Σ out ⊙ R (as double) and fills gradients when backward is set.
  double run(const std::function<Var(Graph&, std::vector<Var>&)>& op, bool backward) {
    Graph g(pool);
    std::vector<Var> leaves;
    for (Param& p : inputs) leaves.push_back(g.param(p));
    Var out = op(g, leaves);
    std::mt19937 r(11);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> weights(size_t(g.numel(out)));
    for (float& w : weights) w = u(r);
    double total = 0;
    for (int64_t i = 0; i < g.numel(out); ++i) total += double(g.value(out)[i]) * weights[size_t(i)];
    if (backward) {
      Var loss = scalar_fn(g, out, [&](const float* x, float* dx) {
        double s = 0;
        for (size_t i = 0; i < weights.size(); ++i) s += double(x[i]) * weights[i], dx[i] = weights[i];
        return float(s);
      });
      for (Param& p : inputs) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
      g.backward(loss);
    }
    return total;
  }

  // Central differences on every input element against the analytic gradient.
  void check(const std::function<Var(Graph&, std::vector<Var>&)>& op, double tol = 2e-3, double h = 1e-2) {
    run(op, true);
    for (Param& p : inputs) {
      std::vector<float> analytic = p.grad;
      for (size_t i = 0; i < p.value.size(); ++i) {
        const float saved = p.value[i];
        p.value[i] = saved + float(h);
        const double up = run(op, false);
        p.value[i] = saved - float(h);
        const double down = run(op, false);
        p.value[i] = saved;
        const double numeric = (up - down) / (2 * h);
        ASSERT_NEAR(analytic[i], numeric, tol * std::max(1.0, std::fabs(numeric))) << p.name << "[" << i << "]";
      }
    }
  }
};

TEST(AutogradOps, Linear) {
  Harness t;
  t.input({3, 2, 5});
  t.input({4, 5});
  t.input({4});
  t.check([](Graph& g, std::vector<Var>& v) { return linear(g, v[0], v[1], v[2]); });
  // Forward: y = x·wᵀ + b.
  Graph g(t.pool);
  Var y = linear(g, g.param(t.inputs[0]), g.param(t.inputs[1]), g.param(t.inputs[2]));
  float want = t.inputs[2].value[1];
  for (int j = 0; j < 5; ++j) want += t.inputs[0].value[size_t(5 + j)] * t.inputs[1].value[size_t(5 + j)];
  EXPECT_NEAR(g.value(y)[4 + 1], want, 1e-5f);
  EXPECT_EQ(g.shape(y), (Shape{3, 2, 4}));
}

TEST(AutogradOps, EmbeddingAccumulatesRepeatedIds) {
  Harness t;
  t.input({5, 3});
  std::vector<int32_t> ids = {4, 1, 4, 0};
  t.check([&](Graph& g, std::vector<Var>& v) { return embedding(g, v[0], ids); });
  Graph g(t.pool);
  EXPECT_THROW(embedding(g, g.param(t.inputs[0]), std::vector<int32_t>{5}), Error);
}

TEST(AutogradOps, ElementwiseAndLayout) {
  Harness t;
  t.input({2, 3, 4});
  t.input({2, 3, 4});
  t.check([](Graph& g, std::vector<Var>& v) { return add(g, v[0], scale(g, v[1], -1.5f)); });
  t.check([](Graph& g, std::vector<Var>& v) { return silu_mul(g, v[0], v[1]); });
  t.check([](Graph& g, std::vector<Var>& v) { return sigmoid(g, v[0]); });
  t.check([](Graph& g, std::vector<Var>& v) { return concat(g, slice(g, v[0], 1, 2), reshape(g, v[1], {2, 3, 4})); });
  t.check([](Graph& g, std::vector<Var>& v) { return sum(g, v[0]); });
  Graph g(t.pool);
  EXPECT_THROW(slice(g, g.param(t.inputs[0]), 3, 2), Error);
  EXPECT_THROW(reshape(g, g.param(t.inputs[0]), {5, 5}), Error);
}

TEST(AutogradOps, RowGatherScatterAndScale) {
  Harness t;
  t.input({4, 3});
  t.input({6});
  std::vector<int64_t> rows = {2, 0, 2, 3}, slots = {5, 1, 0, 3};
  t.check([&](Graph& g, std::vector<Var>& v) {
    return scatter_add_rows(g, scale_rows(g, gather_rows(g, v[0], rows), v[1], slots), rows, 5);
  });
  t.check([&](Graph& g, std::vector<Var>& v) {
    return concat_rows(g, std::vector<Var>{gather_rows(g, v[0], rows), v[0]});
  });
  t.check([&](Graph& g, std::vector<Var>& v) { return expand_heads(g, reshape(g, v[0], {4, 1, 3}), 3); });
}

TEST(AutogradOps, NormsAndSoftmax) {
  Harness t;
  t.input({3, 6});
  t.input({6}, 0.5f, 1.5f);
  t.check([](Graph& g, std::vector<Var>& v) { return rmsnorm(g, v[0], v[1], 1e-6f); });
  t.check([](Graph& g, std::vector<Var>& v) { return softmax(g, scale(g, v[0], 3.0f)); });
}

TEST(AutogradOps, RopeBothLayoutsWithYarn) {
  RopeConfig yarn;
  yarn.scaling = RopeScaling::Yarn;
  yarn.factor = 4;
  yarn.original_max_position = 16;
  yarn.mscale = 0.707;
  for (RopeLayout layout : {RopeLayout::Interleaved, RopeLayout::NeoX}) {
    Rope rope(yarn, 8, layout);
    Harness t;
    t.input({3, 2, 8});
    std::vector<int64_t> pos = {0, 5, 37};
    t.check([&](Graph& g, std::vector<Var>& v) { return ag::rope(g, v[0], rope, pos); });
  }
}

TEST(AutogradOps, CausalAttentionWithGroupedHeads) {
  Harness t;
  const int64_t batch = 2, T = 3, H = 4, Hk = 2;
  t.input({batch * T, H, 5});
  t.input({batch * T, Hk, 5});
  t.input({batch * T, Hk, 3});
  t.check([&](Graph& g, std::vector<Var>& v) { return attention(g, v[0], v[1], v[2], batch, 0.7f); });
  // Causality: the first token of each sequence attends only to itself, so its output is its own value.
  Graph g(t.pool);
  Var y = attention(g, g.param(t.inputs[0]), g.param(t.inputs[1]), g.param(t.inputs[2]), batch, 0.7f);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < 3; ++j)
        EXPECT_NEAR(g.value(y)[((b * T) * H + h) * 3 + j], t.inputs[2].value[size_t(((b * T) * Hk + h / 2) * 3 + j)], 1e-6);
  EXPECT_THROW(attention(g, g.param(t.inputs[0]), g.param(t.inputs[1]), g.param(t.inputs[2]), 4, 1.0f), Error);
}

TEST(AutogradOps, RoutingWeightsNormalisedAndNot) {
  Harness t;
  t.input({3, 5}, 0.1f, 1.0f);
  std::vector<int32_t> idx = {4, 1, 0, 2, 3, 4};
  for (bool normalize : {true, false})
    t.check([&](Graph& g, std::vector<Var>& v) { return routing_weights(g, v[0], idx, 2, normalize, 2.5f); });
  Graph g(t.pool);
  Var w = routing_weights(g, g.param(t.inputs[0]), idx, 2, true, 2.5f);
  EXPECT_NEAR(g.value(w)[0] + g.value(w)[1], 2.5f, 1e-5f);
}

TEST(AutogradOps, SequenceBalanceLoss) {
  Harness t;
  t.input({4, 3}, 0.1f, 1.0f);
  std::vector<int32_t> idx = {0, 1, 0, 2, 1, 2, 0, 1};
  t.check([&](Graph& g, std::vector<Var>& v) { return sequence_balance_loss(g, v[0], idx, 2, 2); });
  // Perfectly uniform scores and loads give f_i = 1, P_i = 1/E: the loss is 1.
  Param uniform{"u", {3, 3}, std::vector<float>(9, 0.5f), std::vector<float>(9, 0.0f)};
  Graph g(t.pool);
  std::vector<int32_t> balanced = {0, 1, 1, 2, 2, 0};
  EXPECT_NEAR(g.item(sequence_balance_loss(g, g.param(uniform), balanced, 2, 1)), 1.0f, 1e-6f);
}

TEST(AutogradOps, CrossEntropyAndTokenLogprobs) {
  Harness t;
  t.input({4, 7}, -3.0f, 3.0f);
  std::vector<int32_t> targets = {3, -1, 0, 6};
  t.check([&](Graph& g, std::vector<Var>& v) { return cross_entropy(g, v[0], targets); });
  t.check([&](Graph& g, std::vector<Var>& v) { return token_logprobs(g, v[0], targets); });
  // Forward: −log softmax at the target, averaged over the 3 counted rows.
  Graph g(t.pool);
  const float* x = t.inputs[0].value.data();
  double want = 0;
  for (int r : {0, 2, 3}) {
    double s = 0;
    for (int j = 0; j < 7; ++j) s += std::exp(double(x[r * 7 + j]));
    want += std::log(s) - x[r * 7 + targets[size_t(r)]];
  }
  EXPECT_NEAR(g.item(cross_entropy(g, g.param(t.inputs[0]), targets)), want / 3, 1e-5);
  EXPECT_THROW(cross_entropy(g, g.param(t.inputs[0]), std::vector<int32_t>{-1, -1, -1, -1}), Error);
  EXPECT_THROW(cross_entropy(g, g.param(t.inputs[0]), std::vector<int32_t>{7, 0, 0, 0}), Error);
}

TEST(AutogradGraph, BackwardNeedsAScalarThatDependsOnTrainedParameters) {
  ThreadPool pool(1);
  Graph g(pool);
  Param frozen{"f", {2}, {1.0f, 2.0f}, {}, /*trained=*/false};
  Var x = g.param(frozen);
  EXPECT_THROW(g.backward(x), Error);
  EXPECT_THROW(g.backward(sum(g, x)), Error);
}

}  // namespace
}  // namespace whale::ag

// Training forward + backward against the fixtures' PyTorch autograd loss and gradients (every tensor).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "io/safetensors.h"
#include "model/model.h"
#include "train/autograd/ops.h"
#include "train/transformer.h"

namespace whale {
namespace {

const std::string kModels = std::string(WHALE_FIXTURES_DIR) + "/models/";

class GradFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GradFixtureTest, LossAndEveryGradientMatchPyTorch) {
  const std::string dir = kModels + GetParam();
  TensorStore ref = TensorStore::open(dir + "/reference.safetensors");
  ParamSet params = ParamSet::from_checkpoint(dir);
  Tensor ids_t = ref.get("input_ids");
  std::vector<int64_t> raw = ids_t.i64_values();
  std::vector<int32_t> ids(raw.begin(), raw.end());
  const int64_t B = ids_t.dim(0);

  ThreadPool pool(2);
  ag::Graph g(pool);
  Transformer model(params);
  TrainForward f = model.forward(g, ids, B);

  // The training forward reproduces the reference logits too.
  std::vector<float> want_logits = ref.get("logits").f32_values();
  ASSERT_EQ(size_t(g.numel(f.logits)), want_logits.size());
  float logit_err = 0;
  for (size_t i = 0; i < want_logits.size(); ++i)
    logit_err = std::max(logit_err, std::fabs(g.value(f.logits)[i] - want_logits[i]));
  EXPECT_LE(logit_err, 1e-4f);

  ag::Var loss = ag::cross_entropy(g, f.logits, shifted_targets(ids, B, 1));
  g.backward(loss);
  const float want_loss = ref.get("loss").f32_values()[0];
  EXPECT_NEAR(g.item(loss), want_loss, 1e-5f * std::max(1.0f, std::fabs(want_loss)));

  int checked = 0;
  float worst = 0;
  std::string worst_name;
  for (const Param& p : params.params()) {
    if (!p.trained) {
      EXPECT_FALSE(ref.has("grad." + p.name)) << p.name << " is not trained here but has a reference gradient";
      continue;
    }
    ASSERT_TRUE(ref.has("grad." + p.name)) << "no reference gradient for " << p.name;
    std::vector<float> want = ref.get("grad." + p.name).f32_values();
    ASSERT_EQ(want.size(), p.grad.size()) << p.name;
    float scale = 0, err = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      scale = std::max(scale, std::fabs(want[i]));
      err = std::max(err, std::fabs(p.grad[i] - want[i]));
    }
    const float rel = scale > 0 ? err / scale : err;
    EXPECT_LE(rel, 1e-4f) << p.name << ": max error " << err << " vs max magnitude " << scale;
    if (rel > worst) worst = rel, worst_name = p.name;
    ++checked;
  }
  // Every reference gradient corresponds to one of our trained tensors.
  int reference_grads = 0;
  for (const std::string& name : ref.names()) reference_grads += name.starts_with("grad.");
  EXPECT_EQ(checked, reference_grads);
  std::printf("[%s] loss %.6f (ref %.6f), %d gradients, worst relative error %.3g (%s)\n", GetParam().c_str(),
              g.item(loss), want_loss, checked, worst, worst_name.c_str());
}

INSTANTIATE_TEST_SUITE_P(Models, GradFixtureTest,
                         ::testing::Values("deepseek-v3-tiny", "deepseek-v2-lite-tiny", "deepseek-v2-yarn-tiny",
                                           "deepseek-v3-fp8-tiny", "qwen2-r1-distill-tiny", "llama-r1-distill-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace whale

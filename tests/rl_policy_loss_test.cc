// The GRPO objective through the model: log-probs from the training forward, grpo_loss, backward into the
// parameters. Loss and every parameter gradient must match PyTorch autograd (fixtures/grpo) for the three
// published variants; micro-batches weighted as the trainer weights them must add up to the whole batch.
#include "rl/policy_loss.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "error_of.h"
#include "io/safetensors.h"
#include "train/params.h"

namespace whale::rl {
namespace {

const std::string kFixtures = WHALE_FIXTURES_DIR;
constexpr int64_t N = 12, T = 20;

struct Variant {
  std::string name;
  GrpoLossConfig config;
};

std::vector<Variant> variants(const SafetensorsFile& file) {
  const auto meta = nlohmann::json::parse(file.metadata().at("variants"));
  std::vector<Variant> out;
  for (const std::string name : {"grpo", "dr_grpo", "dapo"}) {
    const nlohmann::json& v = meta.at(name);
    out.push_back({name,
                   {.eps_low = v.at("eps_low").get<float>(),
                    .eps_high = v.at("eps_high").get<float>(),
                    .beta = v.at("beta").get<float>(),
                    .aggregation = name == "grpo"   ? Aggregation::kSeqMean
                                   : name == "dapo" ? Aggregation::kTokenMean
                                                    : Aggregation::kConstant,
                    .constant_norm = 16}});  // fixtures README: Σ ℓ / (12 × 16)
  }
  return out;
}

class PolicyLossFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = SafetensorsFile::open(kFixtures + "/grpo/grpo-deepseek-v3-tiny.safetensors");
    const Tensor ids = file_->get("input_ids");
    ids_.assign(ids.data<int64_t>(), ids.data<int64_t>() + ids.numel());
    batch_ = policy_batch(ids_, f32("completion_mask"), N, T);
    old_ = to_positions(f32("old_logprobs"), N, T);
    ref_ = to_positions(f32("ref_logprobs"), N, T);
  }
  std::vector<float> f32(const std::string& name) const { return file_->get(name).f32_values(); }

  // Rows [begin, end) of the batch as its own micro-batch.
  PolicyBatch rows(const PolicyBatch& b, int64_t begin, int64_t end) const {
    PolicyBatch out{end - begin, b.n_pos, {}, {}, {}};
    out.ids.assign(b.ids.begin() + begin * T, b.ids.begin() + end * T);
    out.targets.assign(b.targets.begin() + begin * T, b.targets.begin() + end * T);
    out.mask.assign(b.mask.begin() + begin * T, b.mask.begin() + end * T);
    return out;
  }
  static std::span<const float> part(const std::vector<float>& v, int64_t begin, int64_t end, int64_t width) {
    return std::span<const float>(v).subspan(size_t(begin * width), size_t((end - begin) * width));
  }

  std::shared_ptr<SafetensorsFile> file_;
  std::vector<int32_t> ids_;
  PolicyBatch batch_;
  std::vector<float> old_, ref_;
};

// Worst |got − want| / max|want| over every trained tensor of the reference gradients.
double worst_gradient_error(const ParamSet& params, const SafetensorsFile& file, const std::string& variant,
                            int* checked) {
  double worst = 0;
  for (const Param& p : params.params()) {
    const std::string name = "grad." + variant + "." + p.name;
    if (!file.has(name)) continue;
    const std::vector<float> want = file.get(name).f32_values();
    EXPECT_EQ(want.size(), p.grad.size()) << name;
    if (want.size() != p.grad.size()) continue;
    double scale = 1e-12, err = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      scale = std::max(scale, double(std::fabs(want[i])));
      err = std::max(err, double(std::fabs(p.grad[i] - want[i])));
    }
    worst = std::max(worst, err / scale);
    ++*checked;
  }
  return worst;
}

TEST_F(PolicyLossFixture, LossAndParameterGradientsMatchPyTorch) {
  ThreadPool pool(2);
  ParamSet params = ParamSet::from_checkpoint(kFixtures + "/models/deepseek-v3-tiny");
  Transformer model(params);
  for (const Variant& v : variants(*file_)) {
    params.zero_grad();
    const std::vector<float> adv = f32("advantages." + v.name);
    const PolicyLoss l = policy_loss(model, pool, batch_, old_, ref_, adv, v.config, 1.0f);
    const double want = f32("loss." + v.name)[0];
    int checked = 0;
    const double worst = worst_gradient_error(params, *file_, v.name, &checked);
    std::printf("[%s] loss %.8f (reference %.8f), %d gradients, worst relative error %.3g\n", v.name.c_str(),
                l.grpo.loss, want, checked, worst);
    EXPECT_NEAR(l.grpo.loss, want, 1e-6 + 1e-4 * std::fabs(want)) << v.name;
    EXPECT_GT(checked, 20) << v.name;
    EXPECT_LT(worst, 1e-4) << v.name;
    EXPECT_EQ(l.grpo.stats.n_tokens, 121);
    EXPECT_GT(l.entropy_sum, 0);
  }
}

// The trainer splits a rollout batch into micro-batches and weights each loss (n_m / N for the per-sequence
// aggregations, tokens_m / tokens for token-mean): the accumulated gradient must equal the whole batch's.
TEST_F(PolicyLossFixture, WeightedMicroBatchesAddUpToTheWholeBatch) {
  ThreadPool pool(2);
  ParamSet params = ParamSet::from_checkpoint(kFixtures + "/models/deepseek-v3-tiny");
  Transformer model(params);
  for (const Variant& v : variants(*file_)) {
    const std::vector<float> adv = f32("advantages." + v.name);
    params.zero_grad();
    const double whole = policy_loss(model, pool, batch_, old_, ref_, adv, v.config, 1.0f).grpo.loss;
    std::vector<std::vector<float>> want;
    for (const Param& p : params.params()) want.push_back(p.grad);

    params.zero_grad();
    double total_tokens = 0;
    for (float m : batch_.mask) total_tokens += m;
    double summed = 0;
    for (const auto& [begin, end] : {std::pair<int64_t, int64_t>{0, 5}, {5, 12}}) {
      const PolicyBatch micro = rows(batch_, begin, end);
      double tokens = 0;
      for (float m : micro.mask) tokens += m;
      const float weight = v.config.aggregation == Aggregation::kTokenMean ? float(tokens / total_tokens)
                                                                           : float(end - begin) / float(N);
      summed += weight * policy_loss(model, pool, micro, part(old_, begin, end, T), part(ref_, begin, end, T),
                                     part(adv, begin, end, 1), v.config, weight)
                             .grpo.loss;
    }
    EXPECT_NEAR(summed, whole, 1e-6 + 1e-5 * std::fabs(whole)) << v.name;
    for (size_t i = 0; i < want.size(); ++i) {
      const Param& p = params.params()[i];
      double scale = 1e-12, err = 0;
      for (size_t j = 0; j < want[i].size(); ++j) {
        scale = std::max(scale, double(std::fabs(want[i][j])));
        err = std::max(err, double(std::fabs(p.grad[j] - want[i][j])));
      }
      EXPECT_LT(err / scale, 1e-4) << v.name << " " << p.name;
    }
  }
}

// Without the sampling policy's log-probs (first update on fresh rollouts) ρ = 1: nothing is clipped and
// the loss is −mean advantage (seq-mean, β = 0).
TEST_F(PolicyLossFixture, FreshRolloutsHaveUnitRatio) {
  ThreadPool pool(2);
  ParamSet params = ParamSet::from_checkpoint(kFixtures + "/models/deepseek-v3-tiny");
  Transformer model(params);
  const std::vector<float> adv = f32("advantages.grpo");
  const PolicyLoss l = policy_loss(model, pool, batch_, {}, {}, adv, {.beta = 0}, 0.0f);
  double mean_adv = 0;
  for (float a : adv) mean_adv += a / double(N);
  EXPECT_NEAR(l.grpo.loss, -mean_adv, 1e-6);
  EXPECT_EQ(l.grpo.stats.clip_fraction, 0.0);
  EXPECT_NEAR(l.grpo.stats.mean_ratio, 1.0, 1e-12);
  for (const Param& p : params.params()) EXPECT_TRUE(p.grad.empty() || std::all_of(p.grad.begin(), p.grad.end(),
                                                                                 [](float g) { return g == 0; }));
}

TEST(PolicyBatch, PromptsAndCompletionsArePaddedAndMasked) {
  const std::vector<int32_t> p0 = {5, 6}, c0 = {7, 8, 1}, p1 = {5, 6, 9, 9}, c1 = {2};
  const std::vector<const std::vector<int32_t>*> prompts = {&p0, &p1}, completions = {&c0, &c1};
  const PolicyBatch b = policy_batch(prompts, completions);
  EXPECT_EQ(b.n_seq, 2);
  EXPECT_EQ(b.n_pos, 5);
  EXPECT_EQ(b.ids, (std::vector<int32_t>{5, 6, 7, 8, 1, 5, 6, 9, 9, 2}));
  // Position t predicts token t + 1: the completion tokens are predicted from the last prompt token on.
  EXPECT_EQ(b.targets, (std::vector<int32_t>{-1, 7, 8, 1, -1, -1, -1, -1, 2, -1}));
  EXPECT_EQ(b.mask, (std::vector<float>{0, 1, 1, 1, 0, 0, 0, 0, 1, 0}));
  EXPECT_NE(testing::error_of([&] { policy_batch(prompts, std::vector<const std::vector<int32_t>*>{&c0}); })
                .find("2 prompts for 1 completions"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] { policy_batch(std::vector<int32_t>(3), std::vector<float>(4), 2, 2); })
                .find("must both hold"),
            std::string::npos);
}

}  // namespace
}  // namespace whale::rl

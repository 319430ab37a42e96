// engine/logit_adjust.h against hand-computed logits, and in the engine: logit_bias steers greedy decoding.
#include "engine/logit_adjust.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "engine/batch_engine.h"
#include "model/model.h"

namespace whale {
namespace {

TEST(LogitAdjust, AppliesBiasThenPenaltiesAsOpenAiAndVllmDefineThem) {
  TokenHistory h;
  h.reset({1, 1, 4}, /*keep_prompt=*/true);  // the prompt saw 1 and 4
  h.add(2);
  h.add(2);
  h.add(3);  // the completion: 2 twice, 3 once
  const LogitAdjust a{.frequency_penalty = 0.5f,
                      .presence_penalty = 0.25f,
                      .repetition_penalty = 2.0f,
                      .logit_bias = {{0, 1.0f}, {3, -4.0f}}};
  float logits[6] = {1.0f, 3.0f, 2.0f, 1.0f, -1.0f, 5.0f};
  h.apply(a, logits, 6);
  // 0: bias +1 → 2 (never seen). 1: prompt only → 3 / 2. 2: 2 − (0.5·2 + 0.25) = 0.75, then / 2.
  // 3: 1 − 4 = −3, − (0.5 + 0.25) = −3.75, then × 2. 4: prompt, negative → −1 × 2. 5: untouched.
  const float want[6] = {2.0f, 1.5f, 0.375f, -7.5f, -2.0f, 5.0f};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(logits[i], want[i]) << i;
  // Without the repetition penalty the prompt is not kept, and only the completion counts.
  TokenHistory plain;
  plain.reset({1}, /*keep_prompt=*/false);
  plain.add(1);
  float l2[2] = {0.0f, 0.0f};
  plain.apply({.presence_penalty = 1.0f}, l2, 2);
  EXPECT_FLOAT_EQ(l2[1], -1.0f);
  EXPECT_FLOAT_EQ(l2[0], 0.0f);
}

TEST(LogitAdjust, ValidateNamesTheField) {
  auto message = [](const LogitAdjust& a) {
    try {
      a.validate(10);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({.frequency_penalty = 3}).find("frequency_penalty"), std::string::npos);
  EXPECT_NE(message({.presence_penalty = -2.5f}).find("presence_penalty"), std::string::npos);
  EXPECT_NE(message({.repetition_penalty = 0}).find("repetition_penalty"), std::string::npos);
  EXPECT_NE(message({.logit_bias = {{10, 1.0f}}}).find("token id 10 is outside the vocabulary"), std::string::npos);
  EXPECT_NE(message({.logit_bias = {{1, 200.0f}}}).find("[-100, 100]"), std::string::npos);
  EXPECT_EQ(message({.frequency_penalty = 2, .logit_bias = {{9, -100.0f}}}), "");
}

TEST(LogitAdjust, LogitBiasSteersTheEngine) {
  ThreadPool pool(2);
  auto model = Model::load(std::string(WHALE_FIXTURES_DIR) + "/models/deepseek-v3-tiny", pool);
  BatchEngine engine(*model, {.n_slots = 2, .ctx = 64});
  const std::vector<int32_t> prompt = {1, 17, 42};
  const std::vector<int32_t> plain = engine.generate_batch({{.prompt = prompt, .max_new_tokens = 12}})[0].tokens;
  // +100 on one id: greedy picks it every step. −100 on each id the plain run chose: none of them appears.
  const int32_t forced = 123;
  const std::vector<int32_t> steered =
      engine.generate_batch({{.prompt = prompt, .max_new_tokens = 12, .adjust = {.logit_bias = {{forced, 100.0f}}}}})[0]
          .tokens;
  EXPECT_EQ(steered, std::vector<int32_t>(12, forced));
  LogitAdjust ban;
  for (int32_t id : plain) ban.logit_bias.emplace_back(id, -100.0f);
  const std::vector<int32_t> banned =
      engine.generate_batch({{.prompt = prompt, .max_new_tokens = 12, .adjust = ban}})[0].tokens;
  for (int32_t id : banned) EXPECT_EQ(std::count(plain.begin(), plain.end(), id), 0) << id;
  // A request with a bad adjustment is refused before it runs.
  EXPECT_THROW(engine.generate_batch({{.prompt = prompt, .adjust = {.logit_bias = {{1 << 20, 1.0f}}}}}), Error);
}

}  // namespace
}  // namespace whale

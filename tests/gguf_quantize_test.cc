// whale quantize against llama-quantize and llama.cpp's converter (tests/fixtures/gguf): requantizing the
// BF16 fixture reproduces every tensor (type and bytes) and every metadata key of llama-quantize's files; a
// hub checkpoint written as GGUF keeps its logits; the tokenizer keys equal the converter's.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>

#include "error_of.h"
#include "temp_dir.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/gguf_export.h"
#include "model/gguf_metadata.h"
#include "model/model.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer_files.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::TempDir;
const std::string kFixtures = std::string(WHALE_FIXTURES_DIR) + "/";


bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.elem_type != b.elem_type || a.i != b.i || a.s != b.s || a.ints != b.ints ||
      a.strings != b.strings || a.items.size() != b.items.size())
    return false;
  // Floats as the file stores them: f32 keys compare after rounding to f32.
  auto same_float = [&](double x, double y) {
    return a.type == GgufValueType::F64 || a.elem_type == GgufValueType::F64 ? x == y : float(x) == float(y);
  };
  if (!same_float(a.f, b.f) || a.floats.size() != b.floats.size()) return false;
  for (size_t i = 0; i < a.floats.size(); ++i)
    if (!same_float(a.floats[i], b.floats[i])) return false;
  for (size_t i = 0; i < a.items.size(); ++i)
    if (!same_value(a.items[i], b.items[i])) return false;
  return true;
}

struct Case {
  std::string model, type;
};

class RequantizeTest : public ::testing::TestWithParam<Case> {};

TEST_P(RequantizeTest, ReproducesLlamaQuantizeTensorForTensor) {
  const auto& [model, type] = GetParam();
  TempDir dir;
  const fs::path out = dir.path() / "out.gguf";
  ThreadPool pool(2);
  quantize_to_gguf(kFixtures + "gguf/" + model + "/BF16/" + model + "-BF16.gguf", out, parse_gguf_file_type(type), pool);
  auto got = GgufFile::open(out);
  auto want = GgufFile::open(kFixtures + "gguf/" + model + "/" + type + "/" + model + "-" + type + ".gguf");
  ASSERT_EQ(got->tensors().size(), want->tensors().size());
  for (const GgufTensorInfo& w : want->tensors()) {
    SCOPED_TRACE(w.name);
    const GgufTensorInfo* g = got->find(w.name);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(ggml_type_name(g->ggml_type), ggml_type_name(w.ggml_type));
    EXPECT_EQ(g->ne, w.ne);
    ASSERT_EQ(g->nbytes, w.nbytes);
    const Tensor a = got->get(w.name), b = want->get(w.name);
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), w.nbytes), 0) << "tensor bytes differ";
  }
  EXPECT_EQ(got->metadata().values().size(), want->metadata().values().size());
  for (const auto& [key, value] : want->metadata().values()) {
    const GgufValue* v = got->metadata().find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_TRUE(same_value(*v, value)) << key;
  }
}

std::vector<Case> requantize_cases() {
  std::vector<Case> cases;
  for (const char* t : {"Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_XS"}) cases.push_back({"ds3", t});
  for (const char* m : {"qwen2", "llama"})
    for (const char* t : {"Q8_0", "Q4_K_M"}) cases.push_back({m, t});
  return cases;
}
INSTANTIATE_TEST_SUITE_P(Fixtures, RequantizeTest, ::testing::ValuesIn(requantize_cases()),
                         [](const auto& info) { return info.param.model + "_" + info.param.type; });

// A hub fixture checkpoint beside a small trained tokenizer (the fixtures ship none of its size).
fs::path hub_checkpoint(const fs::path& dir, const std::string& model, bool split_digits = false) {
  ThreadPool pool(1);
  BpeTrainerOptions opt;
  opt.vocab_size = 300;
  opt.split_digits = split_digits;
  const std::string text = "the quick brown fox jumps over the lazy dog 123 times, then 45 more times.";
  write_tokenizer_files(train_bpe({text, text}, opt, pool), dir);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(kFixtures + "models/" + model + "/" + f, dir / f);
  return dir;
}

class HubToGgufTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HubToGgufTest, KeepsTheReferenceLogits) {
  TempDir dir;
  const fs::path hub = hub_checkpoint(dir.path() / "hub", GetParam());
  ThreadPool pool(2);
  TensorStore ref = TensorStore::open(kFixtures + "models/" + GetParam() + "/reference.safetensors");
  Tensor ids = ref.get("input_ids");
  std::vector<int64_t> ids64 = ids.i64_values();
  const std::vector<int32_t> tokens(ids64.begin(), ids64.end());
  const std::vector<float> want = ref.get("logits").f32_values();
  const bool fp8 = GetParam().find("fp8") != std::string::npos;
  for (const char* type : {"F32", "BF16", "Q8_0"}) {
    if (fp8 && std::string(type) == "BF16") continue;  // bf16 cannot hold fp8 × scale exactly
    SCOPED_TRACE(type);
    const fs::path out = dir.path() / (std::string(type) + ".gguf");
    quantize_to_gguf(hub, out, parse_gguf_file_type(type), pool);
    std::unique_ptr<Model> model = Model::load(out, pool);
    std::vector<float> logits;
    model->forward_full(tokens, ids.dim(0), ids.dim(1), {}, logits);
    ASSERT_EQ(logits.size(), want.size());
    float max_diff = 0;
    double sum_diff = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(logits[i] - want[i]));
      sum_diff += std::fabs(logits[i] - want[i]);
    }
    const double mean_diff = sum_diff / double(want.size());
    double mean_abs = 0;
    for (float v : want) mean_abs += std::fabs(v) / double(want.size());
    std::printf("[%s %s] |logits - reference|: max %.3g mean %.3g\n", GetParam().c_str(), type, max_diff, mean_diff);
    if (std::string(type) == "Q8_0") {
      // 8-bit rounding of every matrix: small beside the logits on average (near-tied expert choices of these
      // random-weight models can flip, so no bound on the max).
      EXPECT_LE(mean_diff, 0.1 * mean_abs) << "mean |logit| " << mean_abs;
    } else {
      EXPECT_LE(max_diff, 1e-4f);  // F32 / BF16 hold the checkpoint's values exactly
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HubToGgufTest,
                         ::testing::Values("deepseek-v3-tiny", "deepseek-v2-lite-tiny", "deepseek-v2-yarn-tiny",
                                           "deepseek-v3-fp8-tiny", "qwen2-r1-distill-tiny", "llama-r1-distill-tiny"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

TEST(GgufTokenizerKeys, EqualTheConvertersForDeepSeekV3) {
  const GgufKeyValues got = gguf_tokenizer_keys(kFixtures + "tokenizer/deepseek-v3", 129280);
  auto want = GgufFile::open(kFixtures + "gguf/deepseek-v3-vocab/deepseek-v3-vocab.gguf");
  for (const auto& [key, value] : got) {
    const GgufValue* w = want->metadata().find(key);
    ASSERT_NE(w, nullptr) << key;
    EXPECT_TRUE(same_value(value, *w)) << key << ": " << value.i << " " << value.s.substr(0, 40) << " vs " << w->i
                                       << " " << w->s.substr(0, 40);
  }
  for (const auto& [key, value] : want->metadata().values())
    if (key.starts_with("tokenizer.")) {
      EXPECT_TRUE(std::any_of(got.begin(), got.end(), [&](const auto& kv) { return kv.first == key; })) << key;
    }
}

TEST(GgufQuantize, FailurePathsAreClearErrors) {
  TempDir dir;
  ThreadPool pool(1);
  const std::string bf16 = kFixtures + "gguf/qwen2/BF16/qwen2-BF16.gguf";
  EXPECT_NE(error_of([&] { parse_gguf_file_type("Q3_K_M"); }).find("unsupported (supported: F32, F16, BF16, Q8_0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { quantize_to_gguf(kFixtures + "gguf", dir.path() / "x.gguf",
                                            parse_gguf_file_type("Q8_0"), pool); })
                .find("not a model"),
            std::string::npos);
  const fs::path fifo = dir.path() / "fifo.gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { quantize_to_gguf(bf16, fifo, parse_gguf_file_type("Q8_0"), pool); }).find("not a regular file"),
            std::string::npos);
  fs::copy_file(bf16, dir.path() / "in.gguf");
  EXPECT_NE(error_of([&] {
              quantize_to_gguf(dir.path() / "in.gguf", dir.path() / "in.gguf", parse_gguf_file_type("Q8_0"), pool);
            }).find("overwrite the input"),
            std::string::npos);
  // A tokenizer whose pre-tokenizer llama.cpp has no name for (digits split one by one with DeepSeek's regexes).
  const fs::path hub = hub_checkpoint(dir.path() / "hub", "qwen2-r1-distill-tiny", /*split_digits=*/true);
  EXPECT_NE(error_of([&] { quantize_to_gguf(hub, dir.path() / "y.gguf", parse_gguf_file_type("Q8_0"), pool); })
                .find("pre_tokenizer is none that llama.cpp knows"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "y.gguf"));
}

}  // namespace
}  // namespace whale

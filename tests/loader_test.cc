// Loading checkpoints: random init round trip and every failure path of binding tensors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/init.h"
#include "model/model.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
const std::string kModels = std::string(WHALE_FIXTURES_DIR) + "/models/";

json fixture_config(const std::string& name) {
  std::ifstream in(kModels + name + "/config.json");
  return json::parse(in);
}

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("whale_loader_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string load_error(const fs::path& dir) {
  ThreadPool pool(1);
  try {
    Model::load(dir, pool);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Rewrites dir/model.safetensors through `edit`.
void edit_checkpoint(const fs::path& dir, const std::function<void(NamedTensors&)>& edit) {
  NamedTensors tensors;
  {
    TensorStore store = TensorStore::open(dir);
    for (const std::string& name : store.names()) {
      Tensor t = store.get(name);
      Tensor copy = Tensor::zeros(t.dtype(), t.shape());
      std::memcpy(copy.mutable_raw(), t.raw(), t.nbytes());
      tensors.emplace_back(name, std::move(copy));
    }
  }
  edit(tensors);
  write_safetensors(dir / "model.safetensors", tensors);
}

class InitRoundTrip : public ::testing::TestWithParam<std::string> {};

// Every architecture initialises, loads back, and runs a finite forward; fp8 configs store F8_E4M3 + scales.
TEST_P(InitRoundTrip, InitThenLoadAndRun) {
  fs::path dir = temp_dir(GetParam());
  ThreadPool pool(2);
  init_checkpoint(fixture_config(GetParam()), dir, {.seed = 3}, pool);
  std::unique_ptr<Model> model = Model::load(dir, pool);
  std::vector<int32_t> ids = {1, 5, 9, 2};
  std::vector<float> logits;
  model->forward_full(ids, 1, 4, {}, logits);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
  if (model->config().quant_block) {
    TensorStore store = TensorStore::open(dir);
    EXPECT_EQ(store.info("model.layers.0.self_attn.q_a_proj.weight").dtype, DType::F8E4M3);
    EXPECT_TRUE(store.has("model.layers.0.self_attn.q_a_proj.weight_scale_inv"));
  }
  // Same seed → identical bytes; another seed → different weights.
  fs::path again = temp_dir(GetParam() + "_again");
  init_checkpoint(fixture_config(GetParam()), again, {.seed = 3}, pool);
  Tensor a = TensorStore::open(dir).get("model.embed_tokens.weight");
  Tensor b = TensorStore::open(again).get("model.embed_tokens.weight");
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
  fs::remove_all(dir);
  fs::remove_all(again);
}

INSTANTIATE_TEST_SUITE_P(Archs, InitRoundTrip,
                         ::testing::Values("deepseek-v3-tiny", "deepseek-v2-lite-tiny", "deepseek-v3-fp8-tiny",
                                           "qwen2-r1-distill-tiny", "llama-r1-distill-tiny"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

// Initialises a checkpoint of `fixture`'s config, applies `edit` to its tensors, returns the load error.
std::string error_after_edit(const std::string& fixture, const std::function<void(NamedTensors&)>& edit) {
  fs::path dir = temp_dir("edit_" + fixture);
  ThreadPool pool(1);
  init_checkpoint(fixture_config(fixture), dir, {}, pool);
  edit_checkpoint(dir, edit);
  std::string err = load_error(dir);
  fs::remove_all(dir);
  return err;
}

auto remove_tensor(const std::string& name) {
  return [name](NamedTensors& t) { std::erase_if(t, [&](const auto& nt) { return nt.first == name; }); };
}

auto replace_tensor(const std::string& name, DType dtype, Shape shape) {
  return [=](NamedTensors& t) {
    for (auto& [n, tensor] : t)
      if (n == name) tensor = Tensor::zeros(dtype, shape);
  };
}

TEST(Loader, MissingTensorIsNamed) {
  std::string err = error_after_edit("deepseek-v3-tiny", remove_tensor("model.layers.1.mlp.experts.3.up_proj.weight"));
  EXPECT_NE(err.find("tensor 'model.layers.1.mlp.experts.3.up_proj.weight' is missing"), std::string::npos);
}

TEST(Loader, WrongShapeNamesBothShapes) {
  std::string err = error_after_edit("qwen2-r1-distill-tiny",
                                     replace_tensor("model.layers.0.self_attn.k_proj.weight", DType::BF16, {8, 64}));
  EXPECT_NE(err.find("'model.layers.0.self_attn.k_proj.weight' has shape [8, 64], expected [16, 64]"), std::string::npos)
      << err;
}

TEST(Loader, Fp8WithoutScalesIsAnError) {
  std::string err =
      error_after_edit("deepseek-v3-fp8-tiny", remove_tensor("model.layers.0.self_attn.o_proj.weight_scale_inv"));
  EXPECT_NE(err.find("o_proj.weight_scale_inv"), std::string::npos);
}

TEST(Loader, IntegerWeightIsAnError) {
  std::string err = error_after_edit("llama-r1-distill-tiny", replace_tensor("model.norm.weight", DType::I32, {64}));
  EXPECT_NE(err.find("integer dtype"), std::string::npos);
}

TEST(Loader, MissingDirectoryOrWeights) {
  EXPECT_NE(load_error("/nonexistent/model").find("/nonexistent/model"), std::string::npos);
  fs::path dir = temp_dir("noweights");
  std::ofstream(dir / "config.json") << fixture_config("llama-r1-distill-tiny").dump();
  EXPECT_FALSE(load_error(dir).empty());
  fs::remove_all(dir);
}

// A checkpoint split into shards with model.safetensors.index.json loads and computes the same logits.
TEST(Loader, ShardedCheckpointMatchesSingleFile) {
  const fs::path src = kModels + "deepseek-v3-tiny";
  fs::path dir = temp_dir("sharded");
  fs::copy_file(src / "config.json", dir / "config.json");
  TensorStore store = TensorStore::open(src);
  NamedTensors shard[2];
  json index = {{"metadata", json::object()}, {"weight_map", json::object()}};
  size_t i = 0;
  for (const std::string& name : store.names()) {
    const size_t s = i++ % 2;
    shard[s].emplace_back(name, store.get(name));
    index["weight_map"][name] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  }
  write_safetensors(dir / "model-00001-of-00002.safetensors", shard[0]);
  write_safetensors(dir / "model-00002-of-00002.safetensors", shard[1]);
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  ThreadPool pool(2);
  std::vector<int32_t> ids = {3, 1, 4, 1, 5, 9, 2, 6};
  std::vector<float> a, b;
  Model::load(src, pool)->forward_full(ids, 1, 8, {}, a);
  Model::load(dir, pool)->forward_full(ids, 1, 8, {}, b);
  EXPECT_EQ(a, b);
  fs::remove_all(dir);
}

// Weights used in place from the file mapping and weights copied into huge-page memory compute the same.
TEST(Loader, MmapAndResidentWeightsAgree) {
  ThreadPool pool(2);
  std::vector<int32_t> ids = {7, 1, 8, 2, 8};
  for (const char* name : {"deepseek-v3-fp8-tiny", "qwen2-r1-distill-tiny"}) {
    std::vector<float> a, b;
    auto mapped = Model::load(kModels + name, pool, {.mmap = true});
    auto resident = Model::load(kModels + name, pool, {.mmap = false});
    EXPECT_NE(mapped->weights().embed.data, resident->weights().embed.data);
    mapped->forward_full(ids, 1, 5, {}, a);
    resident->forward_full(ids, 1, 5, {}, b);
    EXPECT_EQ(a, b) << name;
  }
}

TEST(Loader, TiedEmbeddingsNeedNoLmHead) {
  fs::path dir = temp_dir("tied");
  ThreadPool pool(1);
  json cfg = fixture_config("qwen2-r1-distill-tiny");
  cfg["tie_word_embeddings"] = true;
  init_checkpoint(cfg, dir, {}, pool);
  EXPECT_FALSE(TensorStore::open(dir).has("lm_head.weight"));
  std::unique_ptr<Model> model = Model::load(dir, pool);
  EXPECT_EQ(model->weights().lm_head.data, model->weights().embed.data);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace whale

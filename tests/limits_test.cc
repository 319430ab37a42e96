// Hostile inputs must not exhaust memory: sizes claimed by a file or request are checked against limits
// before anything is allocated, and the error names the field (issue 7, "Limits").
#include <gtest/gtest.h>

#include "error_of.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::error_of;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class Limits : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("whale_limits_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A safetensors file with header `header` and `data_bytes` bytes of data.
  fs::path safetensors(const std::string& header, size_t data_bytes) {
    const fs::path path = dir_ / "hostile.safetensors";
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 8; ++i) out.put(char(uint8_t(uint64_t(header.size()) >> (8 * i))));
    out << header << std::string(data_bytes, '\0');
    return path;
  }

  fs::path dir_;
};

TEST_F(Limits, SafetensorsClaimingHugeTensorsIsRejectedBeforeMapping) {
  // 1 TB of F32 that the 16-byte data buffer does not hold.
  fs::path p = safetensors(R"({"w":{"dtype":"F32","shape":[262144,1048576],"data_offsets":[0,1099511627776]}})", 16);
  EXPECT_PRED2(contains, error_of([&] { SafetensorsFile::open(p); }), "beyond the data buffer");
  // Element counts whose product overflows 64 bits.
  p = safetensors(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})", 16);
  EXPECT_PRED2(contains, error_of([&] { SafetensorsFile::open(p); }), "overflow");
  // A header length of 2^62 bytes.
  const fs::path huge = dir_ / "huge_header.safetensors";
  std::ofstream(huge, std::ios::binary) << std::string("\0\0\0\0\0\0\0\x40{}", 10);
  EXPECT_PRED2(contains, error_of([&] { SafetensorsFile::open(huge); }), "limit");
}

json small_config() {
  return {{"model_type", "qwen2"},         {"vocab_size", 256},       {"hidden_size", 64},
          {"num_hidden_layers", 2},        {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"intermediate_size", 128},      {"max_position_embeddings", 512}};
}

TEST(LimitsConfig, AbsurdDimensionsAreRejectedNamingTheField) {
  EXPECT_NO_THROW(ModelConfig::from_json(small_config(), "config.json"));
  for (const char* field : {"hidden_size", "vocab_size", "num_hidden_layers", "intermediate_size",
                            "max_position_embeddings", "num_attention_heads"}) {
    json c = small_config();
    c[field] = 1e12;
    const std::string msg = error_of([&] { ModelConfig::from_json(c, "config.json"); });
    EXPECT_PRED2(contains, msg, std::string(field) + " = 1000000000000 is out of range") << field;
  }
  json c = small_config();
  c["hidden_size"] = 1e300;  // not representable as an integer
  EXPECT_PRED2(contains, error_of([&] { ModelConfig::from_json(c, "config.json"); }), "'hidden_size'");
}

// Each dimension within its range, but together 1e16 parameters: the count itself overflowed int64 before.
TEST(LimitsConfig, ParameterCountBeyondLimitIsRejected) {
  json c = {{"model_type", "deepseek_v3"}, {"vocab_size", 129280},      {"hidden_size", 65536},
            {"num_hidden_layers", 1024},   {"num_attention_heads", 128}, {"intermediate_size", 18432},
            {"q_lora_rank", 1536},         {"kv_lora_rank", 512},        {"qk_nope_head_dim", 128},
            {"qk_rope_head_dim", 64},      {"v_head_dim", 128},          {"n_routed_experts", 65536},
            {"n_shared_experts", 1},       {"num_experts_per_tok", 8},   {"moe_intermediate_size", 1048576},
            {"n_group", 8},                {"topk_group", 4}};
  EXPECT_PRED2(contains, error_of([&] { ModelConfig::from_json(c, "config.json"); }),
               "parameters, beyond the 4e12 limit");
  // DeepSeek-V3's own dimensions pass (671B parameters without the MTP layer).
  c["hidden_size"] = 7168;
  c["num_hidden_layers"] = 61;
  c["n_routed_experts"] = 256;
  c["moe_intermediate_size"] = 2048;
  c["first_k_dense_replace"] = 3;
  const ModelConfig v3 = ModelConfig::from_json(c, "config.json");
  EXPECT_NEAR(double(v3.n_params()), 671e9, 2e9);
}

// A byte-level tokenizer.json whose vocab is the 256-byte alphabet, ids 0..255.
json byte_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[std::string(byte_level::char_of(uint8_t(b)))] = b;
  return {{"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}}};
}

// Tables are indexed by token id: an id of 2^31 - 1 used to allocate tens of GB before any check.
TEST(LimitsTokenizer, SparseHugeTokenIdsAreRejected) {
  EXPECT_EQ(Tokenizer::from_json(byte_tokenizer(), json(), "t.json").encode("hi"), (std::vector<int32_t>{104, 105}));
  json t = byte_tokenizer();
  t["model"]["vocab"]["hello"] = 2147483647;
  std::string msg = error_of([&] { Tokenizer::from_json(t, json(), "t.json"); });
  EXPECT_PRED2(contains, msg, "t.json: model.vocab[\"hello\"] = 2147483647 is beyond the id limit");

  t = byte_tokenizer();
  t["added_tokens"].push_back({{"id", 2000000000}, {"content", "<s>"}, {"special", true}});
  msg = error_of([&] { Tokenizer::from_json(t, json(), "t.json"); });
  EXPECT_PRED2(contains, msg, "t.json: added_tokens[0].id = 2000000000 is beyond the id limit");

  // Below 2^24 but far beyond the 257 tokens listed: still refused (it would allocate 16M entries).
  t = byte_tokenizer();
  t["model"]["vocab"]["hello"] = 16000000;
  EXPECT_PRED2(contains, error_of([&] { Tokenizer::from_json(t, json(), "t.json"); }), "beyond the id limit");
  // Small gaps, as some hub files have, are fine.
  t = byte_tokenizer();
  t["added_tokens"].push_back({{"id", 300}, {"content", "<s>"}, {"special", true}});
  EXPECT_EQ(Tokenizer::from_json(t, json(), "t.json").vocab_size(), 301);
}

// "Enormous merges": a tokenizer.json too large to be a real one is refused before it is read (the file is
// sparse, so the test writes nothing to disk).
TEST_F(Limits, OversizedTokenizerFileIsRejectedBeforeReading) {
  const fs::path file = dir_ / "tokenizer.json";
  std::ofstream(file) << "{";
  fs::resize_file(file, uintmax_t(4) << 30);
  EXPECT_PRED2(contains, error_of([&] { Tokenizer::load(dir_); }), "byte limit of a tokenizer file");
}

}  // namespace
}  // namespace whale

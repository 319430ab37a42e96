#include "io/safetensors.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

const fs::path kTinyDir = fs::path(WHALE_FIXTURES_DIR) / "models/deepseek-v3-tiny";
const fs::path kFp8Dir = fs::path(WHALE_FIXTURES_DIR) / "models/deepseek-v3-fp8-tiny";

using testing::error_of;

// Tensor of `dtype` and `shape` whose bytes are a deterministic pattern seeded by `seed`.
Tensor pattern_tensor(DType dtype, Shape shape, uint8_t seed) {
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  auto* p = static_cast<uint8_t*>(t.mutable_raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = uint8_t(seed + i * 31 + (i >> 8));
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("whale_st_{}_{}_{}", ::getpid(), info->test_suite_name(), info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a raw safetensors file: 8-byte LE `header_len` (default: the header's size), header, data.
  fs::path write_raw(const std::string& file, const std::string& header, const std::string& data = "",
                     std::optional<uint64_t> header_len = std::nullopt) {
    fs::path path = dir_ / file;
    std::ofstream out(path, std::ios::binary);
    uint64_t n = header_len.value_or(header.size());
    for (int i = 0; i < 8; ++i) out.put(char(uint8_t(n >> (8 * i))));
    out << header << data;
    return path;
  }

  // A one-tensor file whose entry for tensor "w" is `entry` (JSON text), with `data_bytes` bytes of data.
  fs::path write_entry(const std::string& entry, size_t data_bytes = 16) {
    return write_raw("bad.safetensors", R"({"w":)" + entry + "}", std::string(data_bytes, '\x01'));
  }

  std::vector<std::string> dir_listing() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
};

// ------------------------------------------------------------------------------------------ round trip

TEST_F(SafetensorsTest, RoundTripAllDtypesAndMetadata) {
  const NamedTensors tensors = {
      {"z.f32", pattern_tensor(DType::F32, {3, 5}, 1)},
      {"a.bf16", pattern_tensor(DType::BF16, {7}, 2)},
      {"m.f16", pattern_tensor(DType::F16, {2, 3, 4}, 3)},
      {"fp8", pattern_tensor(DType::F8E4M3, {5, 3}, 4)},  // odd byte count: later tensors are unaligned
      {"ids", pattern_tensor(DType::I64, {2, 3}, 5)},
      {"i32", pattern_tensor(DType::I32, {9}, 6)},
      {"scalar", pattern_tensor(DType::F32, {}, 7)},
      {"empty", pattern_tensor(DType::BF16, {0, 4}, 8)},
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "round \"trip\""}};
  const fs::path path = dir_ / "rt.safetensors";
  write_safetensors(path, tensors, metadata);
  EXPECT_EQ(dir_listing(), std::vector<std::string>{"rt.safetensors"});  // no temp file left behind

  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->metadata(), metadata);
  ASSERT_EQ(file->tensors().size(), tensors.size());
  for (const auto& [name, expect] : tensors) {
    ASSERT_TRUE(file->has(name)) << name;
    EXPECT_TRUE(same_bytes(file->get(name), expect)) << name;
  }
  EXPECT_EQ(file->get("scalar").numel(), 1);
  EXPECT_EQ(file->get("empty").numel(), 0);
}

TEST_F(SafetensorsTest, WrittenHeaderIsPaddedAndKeepsOrder) {
  const NamedTensors tensors = {{"zeta", pattern_tensor(DType::F32, {2}, 1)},
                                {"alpha", pattern_tensor(DType::BF16, {3}, 2)}};
  const fs::path path = dir_ / "order.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}});

  // Parse the bytes independently of the reader.
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 8 + 6);  // header + 2 f32 + 3 bf16
  const std::string header = bytes.substr(8, n);
  const size_t json_end = header.find_last_not_of(' ') + 1;  // only spaces pad the JSON, fewer than 8
  EXPECT_EQ(header[json_end - 1], '}');
  EXPECT_LT(n - json_end, 8u);
  EXPECT_LT(header.find("\"zeta\""), header.find("\"alpha\""));
  auto j = nlohmann::json::parse(header);
  EXPECT_EQ(j["zeta"]["dtype"], "F32");
  EXPECT_EQ(j["zeta"]["data_offsets"], nlohmann::json({0, 8}));
  EXPECT_EQ(j["alpha"]["dtype"], "BF16");
  EXPECT_EQ(j["alpha"]["shape"], nlohmann::json({3}));
  EXPECT_EQ(j["alpha"]["data_offsets"], nlohmann::json({8, 14}));
  EXPECT_EQ(j["__metadata__"]["format"], "pt");
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n, tensors[0].second.raw(), 8), 0);
}

TEST_F(SafetensorsTest, EmptyFileIsValid) {
  const fs::path written = dir_ / "none.safetensors";
  write_safetensors(written, {});
  EXPECT_TRUE(SafetensorsFile::open(written)->tensors().empty());
  const fs::path crafted = write_raw("crafted.safetensors", "{}");
  EXPECT_TRUE(SafetensorsFile::open(crafted)->tensors().empty());
}

TEST_F(SafetensorsTest, ViewOutlivesFileHandleAndAcceptsUnalignedData) {
  // Unpadded header, so the data buffer starts at an offset that is not a multiple of 4.
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} )";
  ASSERT_NE((8 + header.size()) % 4, 0u);
  float values[2] = {1.5f, -2.25f};
  const fs::path path = write_raw("u.safetensors", header, std::string(reinterpret_cast<char*>(values), 8));
  Tensor t;
  {
    auto file = SafetensorsFile::open(path);
    t = file->get("w");
  }  // the file object is gone; the view must keep the mapping alive
  EXPECT_NE(reinterpret_cast<uintptr_t>(t.raw()) % 4, 0u);  // a view into the mapping, not a copy
  float back[2];
  std::memcpy(back, t.raw(), sizeof(back));
  EXPECT_EQ(back[0], 1.5f);
  EXPECT_EQ(back[1], -2.25f);
}

// ------------------------------------------------------------------------------------- real fixtures

TEST_F(SafetensorsTest, ReadsBf16Fixture) {
  TensorStore store = TensorStore::open(kTinyDir);  // the dir also holds reference.safetensors: model wins
  EXPECT_EQ(store.names().size(), 91u);
  EXPECT_FALSE(store.has("logits"));
  const std::string q_a = "model.layers.0.self_attn.q_a_proj.weight";
  const TensorInfo& info = store.info(q_a);
  EXPECT_EQ(info.dtype, DType::BF16);
  EXPECT_EQ(info.shape, (Shape{32, 64}));
  Tensor t = store.get(q_a);
  EXPECT_EQ(t.shape(), (Shape{32, 64}));
  // Raw values read with Python's struct module from the fixture file.
  EXPECT_EQ(t.data<uint16_t>()[0], 0xbc4c);
  EXPECT_EQ(t.data<uint16_t>()[3], 0x3ccb);
  EXPECT_EQ(t.data<uint16_t>()[32 * 64 - 1], 0x3e1f);
  EXPECT_EQ(store.info("model.embed_tokens.weight").shape, (Shape{320, 64}));
  EXPECT_EQ(store.info("model.layers.0.self_attn.kv_b_proj.weight").shape, (Shape{128, 16}));

  auto file = SafetensorsFile::open(kTinyDir / "model.safetensors");
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

TEST_F(SafetensorsTest, ReadsFp8FixtureWithBlockScales) {
  TensorStore store = TensorStore::open(kFp8Dir / "model.safetensors");  // explicit file
  EXPECT_EQ(store.names().size(), 93u);
  Tensor w = store.get("model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(w.dtype(), DType::F8E4M3);
  EXPECT_EQ(w.shape(), (Shape{256, 320}));
  EXPECT_EQ(w.data<uint8_t>()[0], 0xf3);
  EXPECT_EQ(w.data<uint8_t>()[1], 0x6d);
  EXPECT_EQ(w.data<uint8_t>()[256 * 320 - 1], 0xd1);
  Tensor s = store.get("model.layers.0.mlp.down_proj.weight_scale_inv");
  EXPECT_EQ(s.dtype(), DType::F32);
  EXPECT_EQ(s.shape(), (Shape{2, 3}));  // ceil(256/128) × ceil(320/128)
  EXPECT_EQ(s.data<float>()[0], 0.000732421875f);
  EXPECT_FLOAT_EQ(s.data<float>()[1], 0.00076729909f);
  EXPECT_FLOAT_EQ(s.data<float>()[5], 0.00077601842f);
}

// ------------------------------------------------------------------------------------ stores & shards

TEST_F(SafetensorsTest, ShardedIndex) {
  const Tensor a = pattern_tensor(DType::BF16, {4, 4}, 10);
  const Tensor b = pattern_tensor(DType::F32, {3}, 20);
  const Tensor c = pattern_tensor(DType::F8E4M3, {2, 8}, 30);
  write_safetensors(dir_ / "model-00001-of-00002.safetensors", {{"a", a}, {"b", b}});
  write_safetensors(dir_ / "model-00002-of-00002.safetensors", {{"c", c}});
  std::ofstream(dir_ / "model.safetensors.index.json") << R"({"metadata": {"total_size": 92},
      "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                     "c": "model-00002-of-00002.safetensors"}})";
  TensorStore store = TensorStore::open(dir_);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(same_bytes(store.get("a"), a));
  EXPECT_TRUE(same_bytes(store.get("b"), b));
  EXPECT_TRUE(same_bytes(store.get("c"), c));
  EXPECT_EQ(store.info("c").dtype, DType::F8E4M3);
  const std::string msg = error_of([&] { store.get("nope"); });
  EXPECT_NE(msg.find("tensor 'nope' not found in " + dir_.string()), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { store.info("nope"); }).find("'nope'"), std::string::npos);
}

TEST_F(SafetensorsTest, ShardedIndexErrors) {
  write_safetensors(dir_ / "s1.safetensors", {{"a", pattern_tensor(DType::F32, {2}, 1)}});
  write_safetensors(dir_ / "s2.safetensors", {{"a", pattern_tensor(DType::F32, {2}, 2)}});
  const fs::path index = dir_ / "model.safetensors.index.json";
  auto open_with = [&](const std::string& weight_map) {
    std::ofstream(index) << R"({"weight_map": )" + weight_map + "}";
    return error_of([&] { TensorStore::open(dir_); });
  };

  std::string msg = open_with(R"({"a": "s1.safetensors", "b": "missing.safetensors"})");
  EXPECT_NE(msg.find(index.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing.safetensors"), std::string::npos) << msg;

  msg = open_with(R"({"a": "s1.safetensors", "x": "s2.safetensors"})");  // "a" in both shards
  EXPECT_NE(msg.find("'a'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("s1.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("s2.safetensors"), std::string::npos) << msg;

  msg = open_with(R"({"a": "s1.safetensors", "ghost": "s1.safetensors"})");  // listed, not in the shard
  EXPECT_NE(msg.find("'ghost'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(index.string()), std::string::npos) << msg;

  msg = open_with(R"(["not", "an", "object"])");
  EXPECT_NE(msg.find("weight_map"), std::string::npos) << msg;

  std::ofstream(index) << "{ broken";
  msg = error_of([&] { TensorStore::open(dir_); });
  EXPECT_NE(msg.find(index.string()), std::string::npos) << msg;
}

// weight_map entries name files inside the model directory: absolute paths and ".." are errors naming the entry;
// subdirectories are fine, and so are symlinks the directory holds, wherever they lead (a Hugging Face cache
// snapshot links each file into ../../blobs).
TEST_F(SafetensorsTest, ShardedIndexEntriesStayInsideTheModelDirectory) {
  const fs::path model = dir_ / "model", outside = dir_ / "outside";
  fs::create_directories(model / "shards");
  fs::create_directories(outside);
  const Tensor a = pattern_tensor(DType::F32, {2}, 1);
  write_safetensors(outside / "s.safetensors", {{"a", a}});
  write_safetensors(model / "shards/s.safetensors", {{"a", a}});
  fs::create_symlink(outside / "s.safetensors", model / "escape.safetensors");
  fs::create_symlink("shards/s.safetensors", model / "inside.safetensors");
  auto open_with = [&](const std::string& shard) {
    std::ofstream(model / "model.safetensors.index.json") << nlohmann::json{{"weight_map", {{"a", shard}}}}.dump();
    return error_of([&] { TensorStore::open(model); });
  };
  for (const std::string& shard : {(outside / "s.safetensors").string(), std::string("../outside/s.safetensors"),
                                  std::string("shards/../../outside/s.safetensors"), std::string("")}) {
    const std::string msg = open_with(shard);
    EXPECT_NE(msg.find("weight_map entry '" + shard + "' (tensor 'a') points outside the model directory"),
              std::string::npos) << msg;
  }
  for (const std::string shard : {"shards/s.safetensors", "inside.safetensors", "escape.safetensors"}) {
    std::ofstream(model / "model.safetensors.index.json") << nlohmann::json{{"weight_map", {{"a", shard}}}}.dump();
    EXPECT_TRUE(same_bytes(TensorStore::open(model).get("a"), a)) << shard;
  }
}

TEST_F(SafetensorsTest, DirectoryFallbacks) {
  std::string msg = error_of([&] { TensorStore::open(dir_); });
  EXPECT_NE(msg.find("no safetensors weights in " + dir_.string()), std::string::npos) << msg;
  msg = error_of([&] { TensorStore::open(dir_ / "absent"); });
  EXPECT_NE(msg.find((dir_ / "absent").string()), std::string::npos) << msg;

  // No model.safetensors and no index: every *.safetensors in the dir, sorted.
  write_safetensors(dir_ / "b.safetensors", {{"y", pattern_tensor(DType::I32, {2}, 1)}});
  write_safetensors(dir_ / "a.safetensors", {{"x", pattern_tensor(DType::I64, {2}, 2)}});
  std::ofstream(dir_ / "notes.txt") << "not weights";
  TensorStore store = TensorStore::open(dir_);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"x", "y"}));

  // Duplicate name across plain files.
  write_safetensors(dir_ / "c.safetensors", {{"x", pattern_tensor(DType::I64, {2}, 3)}});
  msg = error_of([&] { TensorStore::open(dir_); });
  EXPECT_NE(msg.find("'x'"), std::string::npos) << msg;

  // model.safetensors takes precedence over the other files.
  write_safetensors(dir_ / "model.safetensors", {{"m", pattern_tensor(DType::F16, {1}, 4)}});
  EXPECT_EQ(TensorStore::open(dir_).names(), std::vector<std::string>{"m"});
}

// --------------------------------------------------------------------------------- malformed headers

TEST_F(SafetensorsTest, RejectsTruncatedAndOversizedHeaders) {
  const fs::path empty = dir_ / "zero.safetensors";
  std::ofstream(empty).close();
  std::string msg = error_of([&] { SafetensorsFile::open(empty); });
  EXPECT_NE(msg.find(empty.string()), std::string::npos) << msg;

  const fs::path short_file = dir_ / "short.safetensors";
  std::ofstream(short_file) << "abc";
  msg = error_of([&] { SafetensorsFile::open(short_file); });
  EXPECT_NE(msg.find(short_file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  fs::path p = write_raw("huge.safetensors", "{}", "", uint64_t(1) << 62);
  msg = error_of([&] { SafetensorsFile::open(p); });
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("limit"), std::string::npos) << msg;

  p = write_raw("beyond.safetensors", "{}", "", 1000);
  msg = error_of([&] { SafetensorsFile::open(p); });
  EXPECT_NE(msg.find("beyond end of file"), std::string::npos) << msg;

  // A real file cut in the middle of its data.
  std::ifstream in(kTinyDir / "model.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  p = dir_ / "cut.safetensors";
  std::ofstream(p, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  msg = error_of([&] { SafetensorsFile::open(p); });
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("beyond the data buffer"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, RejectsMalformedJson) {
  for (const std::string header : {"{\"w\": {", "not json", "", "[1, 2]", "\"str\""}) {
    const fs::path p = write_raw("json.safetensors", header);
    const std::string msg = error_of([&] { SafetensorsFile::open(p); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << header << " → " << msg;
  }
}

TEST_F(SafetensorsTest, RejectsBadTensorEntries) {
  struct Case {
    std::string entry;
    std::string expect;  // substring of the message besides the file and tensor name
  };
  const std::vector<Case> cases = {
      {R"("F32")", "JSON object"},
      {R"({"shape":[4],"data_offsets":[0,16]})", "'dtype'"},
      {R"({"dtype":"F32","data_offsets":[0,16]})", "'shape'"},
      {R"({"dtype":"F32","shape":[4]})", "'data_offsets'"},
      {R"({"dtype":32,"shape":[4],"data_offsets":[0,16]})", "'dtype' must be a string"},
      {R"({"dtype":"F32","shape":"4","data_offsets":[0,16]})", "'shape' must be an array"},
      {R"({"dtype":"F32","shape":[4.0],"data_offsets":[0,16]})", "shape[0]"},
      {R"({"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]})", "negative"},
      {R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]})", "overflow"},
      {R"({"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,16]})", "too large"},
      {R"({"dtype":"F32","shape":[2305843009213693952,2],"data_offsets":[0,16]})", "overflow"},
      {R"({"dtype":"I64","shape":[1152921504606846976,2],"data_offsets":[0,16]})", "overflow"},
      {R"({"dtype":"F8_E5M2","shape":[16],"data_offsets":[0,16]})", "unsupported dtype 'F8_E5M2'"},
      {R"({"dtype":"F32","shape":[4],"data_offsets":[0]})", "[begin, end]"},
      {R"({"dtype":"F32","shape":[4],"data_offsets":{"b":0}})", "[begin, end]"},
      {R"({"dtype":"F32","shape":[4],"data_offsets":[-16,0]})", "negative"},
      {R"({"dtype":"F32","shape":[0],"data_offsets":[16,8]})", "end before begin"},
      {R"({"dtype":"F32","shape":[4],"data_offsets":[8,24]})", "beyond the data buffer"},
      {R"({"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551615]})", "too large"},
      {R"({"dtype":"F32","shape":[3],"data_offsets":[0,16]})", "needs 12"},
      {R"({"dtype":"BF16","shape":[4,4],"data_offsets":[0,16]})", "needs 32"},
  };
  for (const Case& c : cases) {
    const fs::path p = write_entry(c.entry);
    const std::string msg = error_of([&] { SafetensorsFile::open(p); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << c.entry << " → " << msg;
    EXPECT_NE(msg.find("tensor 'w'"), std::string::npos) << c.entry << " → " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.entry << " → " << msg;
  }
}

TEST_F(SafetensorsTest, RejectsOverlapsAndBadMetadata) {
  fs::path p = write_raw("overlap.safetensors",
                         R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                             "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         std::string(12, '\0'));
  std::string msg = error_of([&] { SafetensorsFile::open(p); });
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("overlaps"), std::string::npos) << msg;

  for (const std::string meta : {R"({"format": 1})", R"({"a": {"b": "c"}})", R"("pt")", R"(["pt"])"}) {
    p = write_raw("meta.safetensors", R"({"__metadata__": )" + meta + "}");
    msg = error_of([&] { SafetensorsFile::open(p); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << meta << " → " << msg;
    EXPECT_NE(msg.find("__metadata__"), std::string::npos) << meta << " → " << msg;
  }
}

TEST_F(SafetensorsTest, GetMissingTensorNamesFile) {
  const fs::path p = dir_ / "one.safetensors";
  write_safetensors(p, {{"w", pattern_tensor(DType::F32, {1}, 0)}});
  auto file = SafetensorsFile::open(p);
  const std::string msg = error_of([&] { file->get("v"); });
  EXPECT_NE(msg.find("tensor 'v' not found in " + p.string()), std::string::npos) << msg;
}

// ------------------------------------------------------------------------------------------- writer

TEST_F(SafetensorsTest, WriterRejectsDuplicateAndReservedNames) {
  const fs::path p = dir_ / "dup.safetensors";
  std::string msg = error_of([&] {
    write_safetensors(p, {{"w", pattern_tensor(DType::F32, {1}, 0)}, {"w", pattern_tensor(DType::F32, {1}, 1)}});
  });
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("duplicate tensor name 'w'"), std::string::npos) << msg;
  msg = error_of([&] { write_safetensors(p, {{"__metadata__", pattern_tensor(DType::F32, {1}, 0)}}); });
  EXPECT_NE(msg.find("reserved"), std::string::npos) << msg;
  EXPECT_TRUE(dir_listing().empty());
}

TEST_F(SafetensorsTest, WriterIsAtomic) {
  // Into a directory that does not exist: error naming the path, nothing created.
  const fs::path missing = dir_ / "no_such_dir" / "w.safetensors";
  std::string msg = error_of([&] { write_safetensors(missing, {{"w", pattern_tensor(DType::F32, {4}, 0)}}); });
  EXPECT_NE(msg.find(missing.string()), std::string::npos) << msg;
  EXPECT_TRUE(dir_listing().empty());

  // A directory at the destination is refused before anything is written (core/regular_file.h).
  const fs::path blocked = dir_ / "blocked.safetensors";
  fs::create_directories(blocked / "inside");
  msg = error_of([&] { write_safetensors(blocked, {{"w", pattern_tensor(DType::F32, {4}, 0)}}); });
  EXPECT_NE(msg.find(blocked.string()), std::string::npos) << msg;
  EXPECT_EQ(dir_listing(), std::vector<std::string>{"blocked.safetensors"});

  // Overwriting an existing checkpoint replaces it whole.
  const fs::path p = dir_ / "ckpt.safetensors";
  write_safetensors(p, {{"old", pattern_tensor(DType::F32, {64}, 1)}});
  const Tensor fresh = pattern_tensor(DType::BF16, {3}, 2);
  write_safetensors(p, {{"new", fresh}});
  auto file = SafetensorsFile::open(p);
  EXPECT_FALSE(file->has("old"));
  EXPECT_TRUE(same_bytes(file->get("new"), fresh));
  EXPECT_EQ(dir_listing(), (std::vector<std::string>{"blocked.safetensors", "ckpt.safetensors"}));
}

}  // namespace
}  // namespace whale

// GGUF reader and writer: the fixture files as llama.cpp wrote them, a write → read round trip of every value
// type, split sets, and malformed files (each a whale::Error naming the problem, never a crash or a hang).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "error_of.h"
#include "temp_dir.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::TempDir;
const std::string kGguf = std::string(WHALE_FIXTURES_DIR) + "/gguf/";


std::vector<char> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const fs::path& p, const std::vector<char>& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(b.data(), std::streamsize(b.size()));
}

// A small valid file: two metadata keys, an F32 [2, 3] tensor and a Q8_0 [1, 32] tensor.
fs::path write_small(const fs::path& dir, const std::string& name = "small.gguf") {
  std::vector<std::pair<std::string, GgufValue>> kv = {
      {"general.architecture", gguf_string("llama")},
      {"general.alignment", gguf_int(GgufValueType::U32, 32)},
  };
  GgufWriter w(dir / name, kv, {{"a", DType::F32, {2, 3}}, {"qb", DType::Q8_0, {1, 32}}});
  const float a[6] = {1, 2, 3, 4, 5, 6};
  w.write_tensor(a, sizeof(a));
  std::vector<char> q(34, 0);
  q[2] = 5;
  w.write_tensor(q.data(), q.size());
  w.finish();
  return dir / name;
}

// Byte position of the tensor info of `name` (its u32 n_dims follows the name).
size_t info_pos(const std::vector<char>& b, const std::string& name) {
  std::string needle(8, '\0');
  uint64_t n = name.size();
  std::memcpy(needle.data(), &n, 8);
  needle += name;
  auto it = std::search(b.begin(), b.end(), needle.begin(), needle.end());
  EXPECT_NE(it, b.end());
  return size_t(it - b.begin()) + needle.size();
}

template <typename T>
void patch(std::vector<char>& b, size_t pos, T v) {
  std::memcpy(b.data() + pos, &v, sizeof(T));
}

TEST(GgufReader, ReadsTheFixtureFilesAsLlamaCppWroteThem) {
  for (const char* rel : {"ds3/Q4_K_M", "ds3/IQ4_XS", "qwen2/Q8_0", "llama/BF16"}) {
    SCOPED_TRACE(rel);
    std::ifstream in(kGguf + rel + "/meta.json");
    const nlohmann::json meta = nlohmann::json::parse(in);
    auto file = GgufFile::open(kGguf + rel + "/" + meta["file"].get<std::string>());
    EXPECT_EQ(file->version(), 3u);
    EXPECT_EQ(file->alignment(), meta["alignment"].get<size_t>());
    EXPECT_EQ(file->data_offset(), meta["tensor_data_offset"].get<size_t>());
    EXPECT_EQ(file->metadata().get_int("general.file_type"), meta["general.file_type"].get<int64_t>());
    ASSERT_EQ(file->tensors().size(), meta["tensors"].size());
    for (const auto& want : meta["tensors"]) {
      const GgufTensorInfo* t = file->find(want["name"]);
      ASSERT_NE(t, nullptr) << want["name"];
      EXPECT_EQ(ggml_type_name(t->ggml_type), want["type"].get<std::string>());
      EXPECT_EQ(t->ne, want["ne"].get<std::vector<int64_t>>());
      EXPECT_EQ(file->data_offset() + t->offset, want["offset"].get<size_t>());
      EXPECT_EQ(t->nbytes, want["n_bytes"].get<size_t>());
    }
  }
}

TEST(GgufReader, ReadsAVocabOnlyFile) {
  auto file = GgufFile::open(kGguf + "deepseek-v3-vocab/deepseek-v3-vocab.gguf");
  const GgufMetadata& m = file->metadata();
  EXPECT_TRUE(file->tensors().empty());
  EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(m.get_strings("tokenizer.ggml.tokens").size(), 129280u);
  EXPECT_EQ(m.get_strings("tokenizer.ggml.merges").size(), 127741u);
  EXPECT_EQ(m.get_ints("tokenizer.ggml.token_type").size(), 129280u);
  EXPECT_TRUE(m.get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_NE(m.get_string("tokenizer.chat_template").find("Assistant"), std::string::npos);
  EXPECT_NE(error_of([&] { m.get_int("tokenizer.ggml.model"); }).find("'tokenizer.ggml.model' must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] { m.get_int("no.such.key"); }).find("'no.such.key' is missing"), std::string::npos);
}

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensorData) {
  TempDir dir;
  GgufValue nested = gguf_ints(GgufValueType::Array, {});
  nested.items = {gguf_ints(GgufValueType::U8, {1, 2}), gguf_strings({"x"})};
  std::vector<std::pair<std::string, GgufValue>> kv = {
      {"u8", gguf_int(GgufValueType::U8, 200)},      {"i8", gguf_int(GgufValueType::I8, -100)},
      {"u16", gguf_int(GgufValueType::U16, 60000)},  {"i16", gguf_int(GgufValueType::I16, -30000)},
      {"u32", gguf_int(GgufValueType::U32, 4000000000)}, {"i32", gguf_int(GgufValueType::I32, -2000000000)},
      {"u64", gguf_int(GgufValueType::U64, int64_t(1) << 40)}, {"i64", gguf_int(GgufValueType::I64, -(int64_t(1) << 40))},
      {"f32", gguf_float(0.5)},                      {"f64", gguf_float(1e300, GgufValueType::F64)},
      {"bool", gguf_int(GgufValueType::Bool, 1)},    {"str", gguf_string("héllo")},
      {"strs", gguf_strings({"a", "", "ccc"})},      {"ints", gguf_ints(GgufValueType::I16, {-1, 7})},
      {"floats", gguf_floats({0.25, -2})},           {"nested", nested},
      {"general.alignment", gguf_int(GgufValueType::U32, 64)},
  };
  std::vector<float> a(6 * 5);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i) * 0.5f;
  std::vector<uint16_t> b(64, 0x3f80);  // bf16 1.0
  {
    GgufWriter w(dir.path() / "all.gguf", kv, {{"a", DType::F32, {6, 5}}, {"b", DType::BF16, {2, 32}}}, 64);
    w.write_tensor(a.data(), a.size() * 4);
    w.write_tensor(b.data(), b.size() * 2);
    w.finish();
  }
  auto f = GgufFile::open(dir.path() / "all.gguf");
  const GgufMetadata& m = f->metadata();
  EXPECT_EQ(m.get_int("u8"), 200);
  EXPECT_EQ(m.get_int("i8"), -100);
  EXPECT_EQ(m.get_int("u16"), 60000);
  EXPECT_EQ(m.get_int("i16"), -30000);
  EXPECT_EQ(m.get_int("u32"), 4000000000);
  EXPECT_EQ(m.get_int("i32"), -2000000000);
  EXPECT_EQ(m.get_int("u64"), int64_t(1) << 40);
  EXPECT_EQ(m.get_int("i64"), -(int64_t(1) << 40));
  EXPECT_EQ(m.get_float("f32"), 0.5);
  EXPECT_EQ(m.get_float("f64"), 1e300);
  EXPECT_TRUE(m.get_bool("bool"));
  EXPECT_EQ(m.get_string("str"), "héllo");
  EXPECT_EQ(m.get_strings("strs"), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(m.get_ints("ints"), (std::vector<int64_t>{-1, 7}));
  EXPECT_EQ(m.get_floats("floats"), (std::vector<double>{0.25, -2}));
  const GgufValue* n = m.find("nested");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->items.size(), 2u);
  EXPECT_EQ(n->items[0].ints, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(n->items[1].strings, (std::vector<std::string>{"x"}));
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  Tensor ta = f->get("a");
  EXPECT_EQ(ta.shape(), (Shape{6, 5}));
  EXPECT_EQ(ta.f32_values(), a);
  Tensor tb = f->get("b");
  EXPECT_EQ(tb.shape(), (Shape{2, 32}));
  EXPECT_EQ(tb.f32_values(), std::vector<float>(64, 1.0f));
  EXPECT_EQ(f->find("b")->offset % 64, 0u);
}

TEST(GgufReader, EveryTruncationIsAnErrorNotACrash) {
  TempDir dir;
  const fs::path small = write_small(dir.path());
  const std::vector<char> whole = read_bytes(small);
  auto f = GgufFile::open(small);
  const size_t data_end = f->data_offset() + f->find("qb")->offset + f->find("qb")->nbytes;  // then padding
  for (size_t len = 0; len < whole.size(); ++len) {
    write_bytes(dir.path() / "cut.gguf", std::vector<char>(whole.begin(), whole.begin() + std::ptrdiff_t(len)));
    if (len < data_end) EXPECT_THROW(GgufFile::open(dir.path() / "cut.gguf"), Error) << "length " << len;
    else EXPECT_NO_THROW(GgufFile::open(dir.path() / "cut.gguf")) << "length " << len;  // only padding cut
  }
}

TEST(GgufReader, MalformedHeadersNameTheProblem) {
  TempDir dir;
  const std::vector<char> good = read_bytes(write_small(dir.path()));
  auto error_with = [&](auto&& edit) {
    std::vector<char> b = good;
    edit(b);
    write_bytes(dir.path() / "bad.gguf", b);
    return error_of([&] { GgufFile::open(dir.path() / "bad.gguf"); });
  };
  auto has = [](const std::string& msg, const char* part) { return msg.find(part) != std::string::npos; };
  EXPECT_TRUE(has(error_with([](auto& b) { b[0] = 'X'; }), "bad magic"));
  EXPECT_TRUE(has(error_with([](auto& b) { patch<uint32_t>(b, 4, 1); }), "version 1 is not supported"));
  EXPECT_TRUE(has(error_with([](auto& b) { patch<uint32_t>(b, 4, 7); }), "unsupported GGUF version 7"));
  EXPECT_TRUE(has(error_with([](auto& b) { patch<uint32_t>(b, 4, 0x03000000); }), "big-endian"));
  EXPECT_TRUE(has(error_with([](auto& b) { patch<uint64_t>(b, 8, uint64_t(1) << 60); }), "tensors cannot fit"));
  EXPECT_TRUE(has(error_with([](auto& b) { patch<uint64_t>(b, 16, uint64_t(1) << 60); }), "metadata entries cannot fit"));
  EXPECT_TRUE(has(error_with([](auto& b) { patch<uint64_t>(b, 24, uint64_t(1) << 40); }), "beyond the end"));
  const size_t qb = info_pos(good, "qb");  // u32 n_dims, 2 × u64 ne, u32 type, u64 offset
  EXPECT_TRUE(has(error_with([&](auto& b) { patch<uint32_t>(b, qb, 5); }), "5 dimensions"));
  EXPECT_TRUE(has(error_with([&](auto& b) { patch<uint64_t>(b, qb + 4, 31); }), "not whole 32-element blocks"));
  EXPECT_TRUE(has(error_with([&](auto& b) { patch<uint32_t>(b, qb + 20, 1000); }), "unknown GGML type id 1000"));
  EXPECT_TRUE(has(error_with([&](auto& b) { patch<uint64_t>(b, qb + 24, 8); }), "not a multiple of the alignment"));
  EXPECT_TRUE(has(error_with([&](auto& b) { patch<uint64_t>(b, qb + 24, 1 << 20); }), "beyond the end of the data"));
  EXPECT_TRUE(has(error_with([&](auto& b) { patch<uint64_t>(b, qb + 24, 0); }), "overlaps"));
  EXPECT_TRUE(has(error_with([&](auto& b) { patch<uint64_t>(b, qb + 12, uint64_t(1) << 62); }), "overflow"));
  // A known ggml type whale does not run opens (its metadata is usable) and fails when read, naming the type.
  std::vector<char> b = good;
  patch<uint32_t>(b, qb + 20, 10);  // Q2_K
  patch<uint64_t>(b, qb + 4, 256);
  write_bytes(dir.path() / "q2k.gguf", b);
  auto f = GgufFile::open(dir.path() / "q2k.gguf");
  EXPECT_TRUE(has(error_of([&] { f->get("qb"); }), "type Q2_K, which whale does not run"));
}

// Found by fuzzing: a zero dimension makes numel 0, but the product of the others must not overflow either
// (shapes are multiplied in the other order elsewhere).
TEST(GgufReader, AZeroDimensionDoesNotHideAnOverflow) {
  TempDir dir;
  const float v[32] = {};
  {
    GgufWriter w(dir.path() / "t.gguf", {}, {{"t", DType::F32, {1, 1, 1, 32}}});
    w.write_tensor(v, sizeof(v));
    w.finish();
  }
  std::vector<char> b = read_bytes(dir.path() / "t.gguf");
  const size_t t = info_pos(b, "t");
  patch<uint64_t>(b, t + 12, 0);
  patch<uint64_t>(b, t + 20, uint64_t(1) << 40);
  patch<uint64_t>(b, t + 28, uint64_t(1) << 40);
  write_bytes(dir.path() / "t.gguf", b);
  EXPECT_NE(error_of([&] { GgufFile::open(dir.path() / "t.gguf"); }).find("overflow"), std::string::npos);
}

TEST(GgufReader, DuplicateNamesAreErrors) {
  TempDir dir;
  const float v[8] = {};
  {
    GgufWriter w(dir.path() / "t.gguf", {}, {{"a", DType::F32, {1, 8}}, {"a", DType::F32, {1, 8}}});
    w.write_tensor(v, sizeof(v));
    w.write_tensor(v, sizeof(v));
    w.finish();
  }
  EXPECT_NE(error_of([&] { GgufFile::open(dir.path() / "t.gguf"); }).find("tensor 'a': appears twice"), std::string::npos);
  {
    GgufWriter w(dir.path() / "k.gguf", {{"k", gguf_string("x")}, {"k", gguf_string("y")}}, {});
    w.finish();
  }
  EXPECT_NE(error_of([&] { GgufFile::open(dir.path() / "k.gguf"); }).find("metadata key 'k' appears twice"),
            std::string::npos);
}

TEST(GgufReader, RefusesAFifoWithoutBlocking) {
  TempDir dir;
  const fs::path fifo = dir.path() / "model.gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { GgufFile::open(fifo); }).find("not a regular file"), std::string::npos);
}

TEST(GgufStore, OpensASplitSetFromItsFirstShard) {
  TempDir dir;
  auto shard = [&](int no, const std::string& tensor) {
    std::vector<std::pair<std::string, GgufValue>> kv = {{"split.no", gguf_int(GgufValueType::U16, no)},
                                                         {"split.count", gguf_int(GgufValueType::U16, 2)},
                                                         {"split.tensors.count", gguf_int(GgufValueType::I32, 2)}};
    const fs::path p = dir.path() / fmt::format("m-{:05d}-of-00002.gguf", no + 1);
    GgufWriter w(p, kv, {{tensor, DType::F32, {1, 4}}});
    const float v[4] = {float(no), 1, 2, 3};
    w.write_tensor(v, sizeof(v));
    w.finish();
    return p;
  };
  const fs::path first = shard(0, "x"), second = shard(1, "y");
  GgufStore store = GgufStore::open(first);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(store.get("y").f32_values()[0], 1.0f);
  EXPECT_EQ(GgufStore::open(dir.path()).names().size(), 2u);  // the directory finds the set's first shard
  EXPECT_NE(error_of([&] { GgufStore::open(second); }).find("pass the first shard"), std::string::npos);
  fs::remove(second);
  EXPECT_NE(error_of([&] { GgufStore::open(first); }).find("shard 2 of 2 is missing"), std::string::npos);
}

TEST(GgufStore, ADirectoryWithSeveralModelsAsksWhichOne) {
  TempDir dir;
  write_small(dir.path(), "a.gguf");
  write_small(dir.path(), "b.gguf");
  EXPECT_NE(error_of([&] { GgufStore::open(dir.path()); }).find("several GGUF models (a.gguf, b.gguf)"),
            std::string::npos);
  EXPECT_FALSE(GgufStore::find_model_file(kGguf + "ds3/source"));
}

TEST(GgufWriter, RefusesToReplaceANonRegularFile) {
  TempDir dir;
  const fs::path fifo = dir.path() / "out.gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { GgufWriter(fifo, {}, {}); }).find("not a regular file"), std::string::npos);
  EXPECT_TRUE(fs::is_fifo(fifo));
}

}  // namespace
}  // namespace whale

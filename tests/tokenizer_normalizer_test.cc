// tokenizer.json "normalizer": NFC/NFKC/NFD/NFKD and Sequences (Qwen2 ships NFC), applied to the text
// between added tokens before pre-tokenization.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

using nlohmann::json;

// A byte-level BPE tokenizer.json whose vocab is the 256-byte alphabet plus the merges of "é" (C3 A9),
// "ﬁ" (EF AC 81) and "fi"; `normalizer` is the field under test.
json tokenizer_json(const json& normalizer) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[std::string(byte_level::char_of(uint8_t(b)))] = b;
  const std::vector<std::string> merges = {"Ã ©", "ï ¬", "ï¬ ģ", "f i"};
  int id = 256;
  for (const std::string& m : merges) vocab[m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1)] = id++;
  return json{{"version", "1.0"},
              {"added_tokens", json::array({{{"id", 300}, {"content", "<s>"}, {"special", true}}})},
              {"normalizer", normalizer},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"decoder", {{"type", "ByteLevel"}}},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

Tokenizer make(const json& normalizer) { return Tokenizer::from_json(tokenizer_json(normalizer), json(), "t.json"); }

constexpr const char* kComposed = "\xC3\xA9";     // é U+00E9
constexpr const char* kDecomposed = "e\xCC\x81";  // e + U+0301 combining acute
constexpr const char* kLigature = "\xEF\xAC\x81";  // ﬁ U+FB01

TEST(Normalizer, NfcEncodesDecomposedLikeComposed) {
  const Tokenizer nfc = make({{"type", "NFC"}});
  const std::vector<int32_t> composed = nfc.encode(kComposed);
  EXPECT_EQ(composed, (std::vector<int32_t>{256}));
  EXPECT_EQ(nfc.encode(kDecomposed), composed);
  EXPECT_EQ(nfc.encode(std::string("caf") + kDecomposed + "<s>" + kDecomposed),
            (std::vector<int32_t>{'c', 'a', 'f', 256, 300, 256}));
  // Without a normalizer the decomposed form stays three bytes: e, CC, 81.
  EXPECT_EQ(make(nullptr).encode(kDecomposed), (std::vector<int32_t>{'e', 0xCC, 0x81}));
  // NFC keeps compatibility characters.
  EXPECT_EQ(nfc.encode(kLigature), (std::vector<int32_t>{258}));
}

TEST(Normalizer, CompatibilityAndDecomposingForms) {
  EXPECT_EQ(make({{"type", "NFKC"}}).encode(kLigature), (std::vector<int32_t>{259}));  // ﬁ → "fi"
  EXPECT_EQ(make({{"type", "NFKD"}}).encode(kLigature), (std::vector<int32_t>{259}));
  EXPECT_EQ(make({{"type", "NFD"}}).encode(kComposed), (std::vector<int32_t>{'e', 0xCC, 0x81}));
  // A Sequence applies its steps in order: NFD then NFC is NFC.
  const json sequence = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFD"}}, {{"type", "NFC"}}}}};
  EXPECT_EQ(make(sequence).encode(kDecomposed), (std::vector<int32_t>{256}));
  EXPECT_EQ(make({{"type", "Sequence"}, {"normalizers", json::array()}}).encode(kDecomposed),
            (std::vector<int32_t>{'e', 0xCC, 0x81}));
}

TEST(Normalizer, NormalizeUtf8Directly) {
  const Normalizer nfc = Normalizer::from_json({{"type", "NFC"}}, "t");
  EXPECT_FALSE(nfc.is_identity());
  EXPECT_TRUE(Normalizer::from_json(nullptr, "t").is_identity());
  std::string out = "stale";
  nfc.normalize("", out);
  EXPECT_EQ(out, "");
  nfc.normalize(std::string("A") + kDecomposed + "\xED\x95\x9C", out);  // precomposed Hangul stays
  EXPECT_EQ(out, std::string("A") + kComposed + "\xED\x95\x9C");
  nfc.normalize("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", out);  // conjoining jamo compose to 한
  EXPECT_EQ(out, "\xED\x95\x9C");
}

std::string load_error(const json& normalizer) {
  try {
    make(normalizer);
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Normalizer, UnsupportedTypesErrorClearly) {
  const std::string lowercase = load_error({{"type", "Lowercase"}});
  EXPECT_NE(lowercase.find("t.json: unsupported normalizer"), std::string::npos) << lowercase;
  EXPECT_NE(lowercase.find("Lowercase"), std::string::npos) << lowercase;
  const std::string nested =
      load_error({{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "BertNormalizer"}}}}});
  EXPECT_NE(nested.find("BertNormalizer"), std::string::npos) << nested;
  EXPECT_NE(load_error("NFC").find("unsupported normalizer"), std::string::npos);
  EXPECT_NE(load_error({{"type", 7}}).find("unsupported normalizer"), std::string::npos);
  json deep = {{"type", "NFC"}};
  for (int i = 0; i < 100; ++i) deep = {{"type", "Sequence"}, {"normalizers", {deep}}};
  EXPECT_NE(load_error(deep).find("nested deeper"), std::string::npos);
}

}  // namespace
}  // namespace whale

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_files.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

using nlohmann::json;

const std::string kDeepSeekDir = std::string(WHALE_FIXTURES_DIR) + "/tokenizer/deepseek-v3";

const Tokenizer& deepseek() {
  static const Tokenizer t = Tokenizer::load(kDeepSeekDir);
  return t;
}

std::vector<json> fixture_cases() {
  std::ifstream in(kDeepSeekDir + "/cases.jsonl");
  std::vector<json> cases;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) cases.push_back(json::parse(line));
  return cases;
}

TEST(Tokenizer, EveryFixtureTextCaseMatchesHf) {
  int n_text = 0, n_passed = 0;
  for (const json& c : fixture_cases()) {
    if (!c.contains("text")) continue;
    ++n_text;
    const std::string text = c["text"].get<std::string>();
    const auto expected = c["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = deepseek().encode(text);
    EXPECT_EQ(ids, expected) << "text: " << json(text).dump();
    const std::string decoded = deepseek().decode(expected);
    EXPECT_EQ(decoded, c["decoded"].get<std::string>()) << "text: " << json(text).dump();
    n_passed += ids == expected && decoded == c["decoded"].get<std::string>();
  }
  EXPECT_GT(n_text, 300);
  std::printf("fixture text cases passed: %d / %d\n", n_passed, n_text);
}


// Random strings drawn from several scripts, whitespace, digits, emoji and the added tokens.
std::string random_unicode(std::mt19937& rng) {
  static const std::vector<std::pair<uint32_t, uint32_t>> kRanges = {
      {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x370, 0x4FF}, {0x590, 0x6FF},
      {0x900, 0x97F}, {0x2000, 0x206F}, {0x3000, 0x30FF}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7A3},
      {0xFF00, 0xFFEF}, {0x1F300, 0x1F64F}, {0x10000, 0x10FFFF}};
  static const std::vector<std::string> kSpecial = {"<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"};
  std::string s;
  const int n = std::uniform_int_distribution<int>(0, 40)(rng);
  for (int i = 0; i < n; ++i) {
    if (rng() % 50 == 0) {
      s += kSpecial[rng() % kSpecial.size()];
      continue;
    }
    const auto& [lo, hi] = kRanges[rng() % kRanges.size()];
    uint32_t cp = std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
    utf8::append_code_point(cp, s);
  }
  return s;
}

TEST(Tokenizer, RoundTripsRandomUnicode) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    const std::string text = random_unicode(rng);
    ASSERT_EQ(deepseek().decode(deepseek().encode(text)), text) << json(text).dump();
  }
}

std::string stream_decode(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip_special) {
  StreamingDecoder decoder(t, skip_special);
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_EQ(utf8::find_invalid(piece), std::string::npos);
    out += piece;
  }
  return out + decoder.finish();
}

TEST(Tokenizer, StreamingDecodeEqualsWholeDecode) {
  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    const std::vector<int32_t> ids = deepseek().encode(random_unicode(rng));
    EXPECT_EQ(stream_decode(deepseek(), ids, false), deepseek().decode(ids));
    EXPECT_EQ(stream_decode(deepseek(), ids, true), deepseek().decode(ids, true));
  }
  // Arbitrary id sequences: partial characters, invalid byte runs, special tokens.
  std::uniform_int_distribution<int32_t> any_id(0, deepseek().vocab_size() - 1);
  for (int i = 0; i < 500; ++i) {
    std::vector<int32_t> ids(rng() % 12);
    for (int32_t& id : ids) id = any_id(rng);
    EXPECT_EQ(stream_decode(deepseek(), ids, false), deepseek().decode(ids));
  }
}

TEST(Tokenizer, StreamingHoldsPartialCharacters) {
  // "🐋" is four bytes; byte-level tokens for single bytes exist, so feed it byte by byte.
  const std::string whale = "🐋";
  std::vector<int32_t> ids;
  for (char c : whale) ids.push_back(deepseek().token_to_id(std::string(byte_level::char_of(uint8_t(c)))));
  StreamingDecoder decoder(deepseek());
  EXPECT_EQ(decoder.push(ids[0]), "");
  EXPECT_EQ(decoder.push(ids[1]), "");
  EXPECT_EQ(decoder.push(ids[2]), "");
  EXPECT_EQ(decoder.push(ids[3]), whale);
  // An unfinished character is flushed as U+FFFD, as whole decoding does.
  EXPECT_EQ(decoder.push(ids[0]), "");
  EXPECT_EQ(decoder.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(deepseek().decode({ids[0]}), "\xEF\xBF\xBD");
}

TEST(Tokenizer, LookupsAndSpecialTokens) {
  const Tokenizer& t = deepseek();
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_TRUE(t.add_bos_token());
  EXPECT_EQ(t.vocab_size(), 128815);
  EXPECT_EQ(t.token_to_id("<｜User｜>"), 128803);
  EXPECT_EQ(t.id_to_token(128803), "<｜User｜>");
  EXPECT_EQ(t.token_to_id("Ġbottoms"), 127998);
  EXPECT_EQ(t.id_to_token(127998), "Ġbottoms");
  EXPECT_EQ(t.token_to_id("no such token"), -1);
  EXPECT_TRUE(t.is_special(0));
  EXPECT_FALSE(t.is_special(128803));  // <｜User｜> is an added but not special token
  EXPECT_FALSE(t.is_special(127998));
  const std::vector<int32_t> ids = t.encode("<｜begin▁of▁sentence｜>hi<｜User｜>");
  EXPECT_EQ(t.decode(ids, /*skip_special_tokens=*/true), "hi<｜User｜>");
  EXPECT_EQ(t.decode(ids), "<｜begin▁of▁sentence｜>hi<｜User｜>");
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Tokenizer, RejectsInvalidInput) {
  EXPECT_NE(error_of([] { deepseek().encode("ok \xC3\x28 bad"); }).find("invalid UTF-8 at byte offset 3"),
            std::string::npos);
  EXPECT_NE(error_of([] { deepseek().encode("\xED\xA0\x80"); }).find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(error_of([] { deepseek().encode("\xF0\x9F\x90"); }).find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(error_of([] { deepseek().decode({5, 999999}); }).find("unknown token id 999999"), std::string::npos);
  EXPECT_NE(error_of([] { deepseek().decode({-1}); }).find("unknown token id -1"), std::string::npos);
  EXPECT_NE(error_of([] { deepseek().id_to_token(128815); }).find("128815"), std::string::npos);
  StreamingDecoder decoder(deepseek());
  EXPECT_NE(error_of([&] { decoder.push(200000); }).find("unknown token id 200000"), std::string::npos);
}

// A minimal byte-level BPE tokenizer.json: vocab of the bytes a..e and space, merges "a b" and "ab c".
json tiny_tokenizer() {
  json vocab = json::object();
  int id = 0;
  for (const char* s : {"a", "b", "c", "d", "e", "Ġ", "ab", "abc"}) vocab[s] = id++;
  return json{{"version", "1.0"},
              {"added_tokens", json::array({{{"id", 8}, {"content", "<s>"}, {"special", true}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"decoder", {{"type", "ByteLevel"}}},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b", "ab c"})}}}};
}

TEST(Tokenizer, TinyTokenizerBothMergeFormats) {
  json j = tiny_tokenizer();
  const Tokenizer strings = Tokenizer::from_json(j, json(), "tiny");
  EXPECT_EQ(strings.encode("abc ab<s>abd"), (std::vector<int32_t>{7, 5, 6, 8, 6, 3}));
  j["model"]["merges"] = json::array({json::array({"a", "b"}), json::array({"ab", "c"})});
  const Tokenizer pairs = Tokenizer::from_json(j, json(), "tiny");
  EXPECT_EQ(pairs.encode("abc ab<s>abd"), (std::vector<int32_t>{7, 5, 6, 8, 6, 3}));
  EXPECT_EQ(pairs.decode({7, 5, 6, 8, 6, 3}), "abc ab<s>abd");
  EXPECT_EQ(pairs.decode({7, 5, 6, 8, 6, 3}, true), "abc ababd");
}

TEST(Tokenizer, MalformedTokenizerJsonNamesTheField) {
  auto load_error = [](const std::function<void(json&)>& edit) {
    json j = tiny_tokenizer();
    edit(j);
    return error_of([&] { Tokenizer::from_json(j, json(), "t.json"); });
  };
  auto contains = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };
  EXPECT_PRED2(contains, load_error([](json& j) { j.erase("model"); }), "missing field 'model'");
  EXPECT_PRED2(contains, load_error([](json& j) { j["model"].erase("vocab"); }), "model.vocab");
  EXPECT_PRED2(contains, load_error([](json& j) { j["model"].erase("merges"); }), "model.merges");
  EXPECT_PRED2(contains, load_error([](json& j) { j["model"]["merges"].push_back("a z"); }),
               "model.merges[2]");
  EXPECT_PRED2(contains, load_error([](json& j) { j["model"]["merges"].push_back("abc"); }), "model.merges[2]");
  EXPECT_PRED2(contains, load_error([](json& j) { j["model"]["type"] = "WordPiece"; }), "WordPiece");
  EXPECT_PRED2(contains, load_error([](json& j) { j["model"]["type"] = "Unigram"; }), "Unigram");
  EXPECT_PRED2(contains, load_error([](json& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }),
               "unsupported pre_tokenizer type 'Whitespace'");
  EXPECT_PRED2(contains,
               load_error([](json& j) {
                 j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}},
                                       {"behavior", "Isolated"}};
               }),
               "cannot compile regex");
  EXPECT_PRED2(contains, load_error([](json& j) { j["normalizer"] = {{"type", "Lowercase"}}; }),
               "unsupported normalizer");
  EXPECT_PRED2(contains, load_error([](json& j) { j["added_tokens"][0].erase("id"); }), "added_tokens[0]");
  EXPECT_PRED2(contains, error_of([] { Tokenizer::load("/nonexistent/dir"); }), "/nonexistent/dir/tokenizer.json");
}

std::vector<std::string> split_with(const std::string& pattern, SplitBehavior behavior, bool invert,
                                    std::string_view text) {
  const SplitStep step{Regex(pattern, "test", /*literal=*/true), behavior, invert};
  std::vector<std::string_view> pieces;
  split_piece(step, text, pieces);
  return {pieces.begin(), pieces.end()};
}

// Expected values are the examples of HF tokenizers' SplitDelimiterBehavior documentation.
TEST(PreTokenizer, SplitBehaviorsMatchHf) {
  using V = std::vector<std::string>;
  const std::string text = "the-final--countdown";
  EXPECT_EQ(split_with("-", SplitBehavior::kRemoved, false, text), (V{"the", "final", "countdown"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kIsolated, false, text), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kMergedWithPrevious, false, text),
            (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kMergedWithNext, false, text), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kContiguous, false, text), (V{"the", "-", "final", "--", "countdown"}));
  // invert: the pattern marks what is kept, everything else is the delimiter.
  EXPECT_EQ(split_with("-", SplitBehavior::kRemoved, true, text), (V{"-", "-", "-"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kMergedWithPrevious, true, "a-b"), (V{"a", "-b"}));
}

TEST(PreTokenizer, ByteLevelWithRegexAndPrefixSpace) {
  const json spec = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  const PreTokenizer p = PreTokenizer::from_json(spec, "test");
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  p.split("Hello world's  12", pieces, arena);
  EXPECT_EQ(std::vector<std::string>(pieces.begin(), pieces.end()),
            (std::vector<std::string>{" Hello", " world", "'s", " ", " 12"}));
}

using Strings = std::vector<std::string>;

Strings matches(const std::string& pattern, std::string_view text) {
  std::vector<Span> spans;
  Regex(pattern, "test").find_all(text, spans);
  Strings out;
  for (const auto& [begin, end] : spans) out.emplace_back(text.substr(begin, end - begin));
  return out;
}

// HF's \s (Oniguruma) is the White_Space property. PCRE2's \s (UCP) also matches U+180E MONGOLIAN VOWEL
// SEPARATOR, a format character (Cf) since Unicode 6.3.
TEST(Regex, WhitespaceIsTheWhiteSpacePropertyAsInHf) {
  const std::string mvs = "\u180E";
  EXPECT_EQ(matches(R"(\s+)", "a" + mvs + " b\u00A0\u3000c\u0085"), (Strings{" ", "\u00A0\u3000", "\u0085"}));
  EXPECT_EQ(matches(R"(\S+)", mvs), (Strings{mvs}));
  EXPECT_EQ(matches(R"([^\s\p{L}]+)", "x" + mvs + "\t"), (Strings{mvs}));
  EXPECT_EQ(matches(R"(\s*[\r\n]+)", mvs + "\n"), (Strings{"\n"}));
}

// Characters new in Unicode 15.0 (DerivedAge), which PCRE2 10.42's Unicode 14 tables leave unassigned and HF
// (Unicode 15) classifies: U+11F04 KAWI LETTER A (Lo), U+31350 the first CJK Extension H ideograph (Lo),
// U+1E4D0 NAG MUNDARI LETTER O (Lo), U+11F50 KAWI DIGIT ZERO (Nd), U+11B00 DEVANAGARI HEAD MARK (Po),
// U+1F6DC WIRELESS (So), U+0CF3 KANNADA SIGN COMBINING ANUSVARA ABOVE RIGHT (Mc).
TEST(Regex, CharactersNewInUnicode15AreClassifiedAsInHf) {
  const std::string kawi_a = "\U00011F04", cjk_h = "\U00031350", mundari_o = "\U0001E4D0";
  const std::string kawi_digits = "\U00011F50\U00011F51\U00011F52\U00011F53";
  const std::string head_mark = "\U00011B00", wireless = "\U0001F6DC", anusvara = "\u0CF3";
  EXPECT_EQ(matches(R"(\p{L}+)", kawi_a + cjk_h + mundari_o), (Strings{kawi_a + cjk_h + mundari_o}));
  EXPECT_EQ(matches(R"(\pL)", kawi_a), (Strings{kawi_a}));
  EXPECT_EQ(matches(R"(\p{Lo})", cjk_h), (Strings{cjk_h}));
  EXPECT_EQ(matches(R"(\P{L})", kawi_a), (Strings{}));
  EXPECT_EQ(matches(R"(\p{^L})", kawi_a), (Strings{}));
  EXPECT_EQ(matches(R"([^\p{L}])", kawi_a), (Strings{}));
  EXPECT_EQ(matches(R"(\p{N}+)", kawi_digits), (Strings{kawi_digits}));
  EXPECT_EQ(matches(R"(\p{Nd}{1,3})", kawi_digits), (Strings{kawi_digits.substr(0, 12), kawi_digits.substr(12)}));
  EXPECT_EQ(matches(R"(\p{L})", kawi_digits), (Strings{}));
  EXPECT_EQ(matches(R"(\p{P})", head_mark), (Strings{head_mark}));
  EXPECT_EQ(matches(R"(\p{S})", wireless), (Strings{wireless}));
  EXPECT_EQ(matches(R"(a\p{M})", "a" + anusvara), (Strings{"a" + anusvara}));
  // GPT-2's "other" class: the new symbol is in it, the new digit and letter are not.
  EXPECT_EQ(matches(R"( ?[^\s\p{L}\p{N}]+)", kawi_a + " " + wireless + kawi_digits),
            (Strings{" " + wireless}));
  // Still unassigned in Unicode 15.0: U+11F11 (inside the Kawi block).
  EXPECT_EQ(matches(R"(\p{L})", "\U00011F11"), (Strings{}));
  // A word of a million letters ending in a new one is one match (the widened class needs no JIT stack).
  std::string word;
  for (int i = 0; i < 1000000; ++i) word += "ж";
  word += kawi_a;
  EXPECT_EQ(matches(R"([^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)", word), (Strings{word}));
}

Strings deepseek_v3_pieces(const std::string& text) {
  const PreTokenizer p = PreTokenizer::from_json(deepseek_v3_pre_tokenizer(), "test");
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  p.split(text, pieces, arena);
  return {pieces.begin(), pieces.end()};
}

// DeepSeek-V3's pre-tokenizer on those characters, as HF splits (from the classes above): runs of up to three
// Kawi digits; Kawi letters as a word with its leading space; U+180E is not the whitespace before a newline.
TEST(PreTokenizer, DeepSeekV3RegexesSplitNewerCharactersAsHf) {
  const std::string d0 = "\U00011F50", d1 = "\U00011F51", d2 = "\U00011F52", d3 = "\U00011F53";
  EXPECT_EQ(deepseek_v3_pieces(d0 + d1 + d2 + d3), (Strings{d0 + d1 + d2, d3}));
  const std::string a = "\U00011F04", i = "\U00011F06";
  EXPECT_EQ(deepseek_v3_pieces(a + a + " " + i), (Strings{a + a, " " + i}));
  EXPECT_EQ(deepseek_v3_pieces("\u180E\n"), (Strings{"\u180E", "\n"}));
  const Tokenizer& t = deepseek();
  std::vector<int32_t> by_piece;
  for (const std::string& piece : {d0 + d1 + d2, d3}) {
    const std::vector<int32_t> ids = t.encode(piece);
    by_piece.insert(by_piece.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(t.encode(d0 + d1 + d2 + d3), by_piece);
}

}  // namespace
}  // namespace whale

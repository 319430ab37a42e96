// Tokenizers built from GGUF vocabularies against llama.cpp: every text of the fixtures' tokens.jsonl
// (llama_tokenize with parse_special, llama_detokenize), the DeepSeek-V3 vocabulary against HF's cases, and
// small GGUFs written here for the token types, the pre-tokenizer choices and the malformed inputs.
#include "tokenizer/gguf_tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "error_of.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "run_command.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_of;

const std::string kFixtures = WHALE_FIXTURES_DIR;
const std::string kDeepSeekVocabDir = kFixtures + "/gguf/deepseek-v3-vocab";

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(json::parse(line));
  return lines;
}

// The ids and the decoded text of every line of a tokens.jsonl; returns how many lines match both.
int count_matching_lines(const Tokenizer& t, const std::string& tokens_jsonl) {
  const std::vector<json> lines = read_jsonl(tokens_jsonl);
  int matching = 0;
  for (const json& line : lines) {
    const std::string text = line["text"].get<std::string>();
    const auto ids = line["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> got = t.encode(text);
    const std::string decoded = t.decode(ids);
    EXPECT_EQ(got, ids) << "text: " << json(text).dump();
    EXPECT_EQ(decoded, line["decoded"].get<std::string>()) << "text: " << json(text).dump();
    matching += got == ids && decoded == line["decoded"];
  }
  EXPECT_EQ(lines.size(), 63u);
  std::printf("%s: %d / %zu texts match llama.cpp\n", tokens_jsonl.c_str(), matching, lines.size());
  return matching;
}

const Tokenizer& deepseek_vocab() {
  static const Tokenizer t = Tokenizer::load(kDeepSeekVocabDir);  // a directory holding a vocab-only GGUF
  return t;
}

TEST(GgufTokenizer, TinyModelsMatchLlamaCpp) {
  for (const std::string model : {"ds3", "qwen2", "llama"}) {
    SCOPED_TRACE(model);
    const std::string dir = kFixtures + "/gguf/" + model;
    const Tokenizer t = Tokenizer::load(dir + "/BF16/" + model + "-BF16.gguf");
    EXPECT_EQ(count_matching_lines(t, dir + "/tokens.jsonl"), 63);
    EXPECT_EQ(t.bos_id(), 0);
    EXPECT_EQ(t.eos_id(), 1);
    EXPECT_TRUE(t.add_bos_token());
  }
}

TEST(GgufTokenizer, DeepSeekV3VocabularyMatchesLlamaCpp) {
  EXPECT_EQ(count_matching_lines(deepseek_vocab(), kDeepSeekVocabDir + "/tokens.jsonl"), 63);
  const Tokenizer& t = deepseek_vocab();
  EXPECT_EQ(t.vocab_size(), 129280);
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_TRUE(t.add_bos_token());
  EXPECT_EQ(t.config()["pad_token"], "<｜end▁of▁sentence｜>");
  // The UNUSED [PAD] ids that round the vocabulary up: known ids that llama.cpp detokenizes to nothing.
  EXPECT_EQ(t.id_to_token(128815), "[PAD128815]");
  EXPECT_EQ(t.decode({128815, 129279}), "");
  EXPECT_NE(t.encode("[PAD128815]"), (std::vector<int32_t>{128815}));
}

TEST(GgufTokenizer, DeepSeekV3VocabularyMatchesHfCases) {
  const Tokenizer& t = deepseek_vocab();
  const ChatTemplate chat = ChatTemplate::from_tokenizer_config(t.config(), kDeepSeekVocabDir);
  int n_text = 0, n_chat = 0, matching = 0;
  for (const json& c : read_jsonl(kFixtures + "/tokenizer/deepseek-v3/cases.jsonl")) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    if (c.contains("text")) {
      ++n_text;
      const std::string text = c["text"].get<std::string>();
      EXPECT_EQ(t.encode(text), ids) << "text: " << json(text).dump();
      EXPECT_EQ(t.decode(ids), c["decoded"].get<std::string>()) << "text: " << json(text).dump();
      matching += t.encode(text) == ids && t.decode(ids) == c["decoded"];
    } else {
      ++n_chat;
      const std::string rendered = chat.render(c["messages"], c["add_generation_prompt"].get<bool>());
      EXPECT_EQ(rendered, c["rendered"].get<std::string>()) << "chat: " << c["messages"].dump();
      EXPECT_EQ(t.encode(rendered), ids) << "chat: " << c["messages"].dump();
      matching += rendered == c["rendered"] && t.encode(rendered) == ids;
    }
  }
  EXPECT_EQ(n_text, 311);
  EXPECT_GE(n_chat, 10);
  EXPECT_EQ(matching, n_text + n_chat);
  std::printf("deepseek-v3 cases.jsonl: %d / %d (%d texts, %d chats) match HF\n", matching, n_text + n_chat,
              n_text, n_chat);
}

TEST(GgufTokenizer, DeepSeekV3VocabularyEqualsTokenizerJsonOnRandomText) {
  const Tokenizer hf = Tokenizer::load(kFixtures + "/tokenizer/deepseek-v3");
  const Tokenizer& gguf = deepseek_vocab();
  const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x370, 0x4FF}, {0x900, 0x97F}, {0x2000, 0x206F},
      {0x3000, 0x30FF}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7A3}, {0xFF00, 0xFFEF}, {0x1F300, 0x1F64F}};
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string text;
    for (int n = int(rng() % 30); n > 0; --n) {
      if (rng() % 40 == 0) text += "<｜User｜>";
      const auto& [lo, hi] = ranges[rng() % ranges.size()];
      utf8::append_code_point(std::uniform_int_distribution<uint32_t>(lo, hi)(rng), text);
    }
    ASSERT_EQ(gguf.encode(text), hf.encode(text)) << json(text).dump();
  }
}

TEST(GgufTokenizer, TokenizeCommandReadsAGgufFile) {
  const std::string gguf = kFixtures + "/gguf/ds3/BF16/ds3-BF16.gguf";
  const testing::CommandResult r =
      testing::run_command(std::string(WHALE_BINARY) + " tokenize --tokenizer " + gguf + " --text 'Advertisements'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ids: [998]"), std::string::npos) << r.output;
  const testing::CommandResult chat = testing::run_command(
      "echo '{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}' | " + std::string(WHALE_BINARY) +
      " tokenize --tokenizer " + gguf);
  EXPECT_EQ(chat.exit_code, 0) << chat.output;
  EXPECT_NE(chat.output.find("\"rendered\":\"<｜begin▁of▁sentence｜><｜User｜>hi\""), std::string::npos)
      << chat.output;
}

// ------------------------------------------------------------------------------------------- small GGUFs

using Metadata = std::vector<std::pair<std::string, GgufValue>>;

// Ids of the small vocabulary: four added/unused tokens, the 256 byte-level characters, then merged tokens.
constexpr int32_t kBos = 0, kEos = 1, kTool = 2, kPad = 3, kBytes = 4;
int32_t byte_id(char c) { return kBytes + uint8_t(c); }
constexpr int32_t kAb = kBytes + 256, kAbc = kAb + 1, k12 = kAb + 2, kSpaceA = kAb + 3, kCa = kAb + 4;

// <s> and </s> CONTROL, <tool> USER_DEFINED, [PAD3] UNUSED; merges "a b", "ab c", "1 2", "Ġ a"; "ca" is a
// token that no merge forms.
Metadata small_vocab(const std::string& pre) {
  std::vector<std::string> tokens = {"<s>", "</s>", "<tool>", "[PAD3]"};
  std::vector<int64_t> types = {3, 3, 4, 5};
  for (int b = 0; b < 256; ++b) tokens.emplace_back(byte_level::char_of(uint8_t(b)));
  for (const char* merged : {"ab", "abc", "12", "Ġa", "ca"}) tokens.emplace_back(merged);
  types.resize(tokens.size(), 1);
  return {{"general.architecture", gguf_string("llama")},
          {"tokenizer.ggml.model", gguf_string("gpt2")},
          {"tokenizer.ggml.pre", gguf_string(pre)},
          {"tokenizer.ggml.tokens", gguf_strings(tokens)},
          {"tokenizer.ggml.token_type", gguf_ints(GgufValueType::I32, types)},
          {"tokenizer.ggml.merges", gguf_strings({"a b", "ab c", "1 2", "Ġ a"})},
          {"tokenizer.ggml.bos_token_id", gguf_int(GgufValueType::U32, kBos)},
          {"tokenizer.ggml.eos_token_id", gguf_int(GgufValueType::U32, kEos)},
          {"tokenizer.chat_template",
           gguf_string("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}")}};
}

void set_key(Metadata& meta, const std::string& key, GgufValue value) {
  for (auto& [k, v] : meta)
    if (k == key) {
      v = std::move(value);
      return;
    }
  meta.emplace_back(key, std::move(value));
}

const GgufValue& value_of(const Metadata& meta, const std::string& key) {
  for (const auto& [k, v] : meta)
    if (k == key) return v;
  throw std::out_of_range(key);
}

void remove_key(Metadata& meta, const std::string& key) {
  std::erase_if(meta, [&](const auto& entry) { return entry.first == key; });
}

// Writes a GGUF into a scratch directory of this test process, removed when the process ends.
fs::path write_gguf(const Metadata& meta) {
  struct ScratchDir {
    fs::path path = fs::temp_directory_path() / ("whale_gguf_tokenizer_test_" + std::to_string(::getpid()));
    ScratchDir() { fs::create_directories(path); }
    ~ScratchDir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const ScratchDir dir;
  static int n = 0;
  const fs::path path = dir.path / ("vocab" + std::to_string(n++) + ".gguf");
  GgufWriter(path, meta, {}).finish();
  return path;
}

Tokenizer small_tokenizer(const Metadata& meta) { return Tokenizer::load(write_gguf(meta)); }
Tokenizer small_tokenizer(const std::string& pre) { return small_tokenizer(small_vocab(pre)); }

using Ids = std::vector<int32_t>;

TEST(GgufTokenizer, TokenTypesAsLlamaCppTreatsThem) {
  const Tokenizer t = small_tokenizer("deepseek-v3");
  // CONTROL and USER_DEFINED texts are matched first; "abc ab" pre-tokenizes into "abc" and " ab".
  EXPECT_EQ(t.encode("abc ab<s>x<tool>"), (Ids{kAbc, byte_id(' ') /* Ġ */, kAb, kBos, byte_id('x'), kTool}));
  EXPECT_EQ(t.encode(" a"), (Ids{kSpaceA}));
  EXPECT_TRUE(t.is_special(kBos));
  EXPECT_FALSE(t.is_special(kTool));
  EXPECT_EQ(t.decode({kAbc, kBos, kTool}), "abc<s><tool>");
  EXPECT_EQ(t.decode({kAbc, kBos, kTool}, /*skip_special_tokens=*/true), "abc<tool>");
  // UNUSED: a known id that decodes to nothing and is never matched in the text.
  EXPECT_EQ(t.decode({kPad}), "");
  EXPECT_EQ(t.id_to_token(kPad), "[PAD3]");
  EXPECT_EQ(t.encode("[PAD3]").size(), 6u);
  // Without token types every token is NORMAL: "<s>" is plain text.
  Metadata untyped = small_vocab("deepseek-v3");
  remove_key(untyped, "tokenizer.ggml.token_type");
  EXPECT_EQ(small_tokenizer(untyped).encode("<s>"), (Ids{byte_id('<'), byte_id('s'), byte_id('>')}));
}

TEST(GgufTokenizer, PreTypesChooseLlamaCppsRegexesAndFlags) {
  const Tokenizer deepseek = small_tokenizer("deepseek-v3"), llama = small_tokenizer("llama-bpe");
  const Tokenizer qwen = small_tokenizer("qwen2"), gpt2 = small_tokenizer("gpt-2");
  const Ids ones_twos = {byte_id('1'), byte_id('2'), byte_id('1'), byte_id('2')};
  EXPECT_EQ(deepseek.encode("1212"), (Ids{k12, byte_id('1'), byte_id('2')}));  // digits in runs of 3
  EXPECT_EQ(llama.encode("1212"), (Ids{k12, byte_id('1'), byte_id('2')}));
  EXPECT_EQ(qwen.encode("1212"), ones_twos);                                    // single digits
  EXPECT_EQ(small_tokenizer("deepseek-coder").encode("1212"), ones_twos);
  EXPECT_EQ(gpt2.encode("1212"), (Ids{k12, k12}));                              // one run
  EXPECT_EQ(small_tokenizer("deepseek-llm").encode("1212 abc"), (Ids{k12, k12, byte_id(' '), kAbc}));
  // llama-bpe ignores merges for a pre-token found whole in the vocabulary.
  EXPECT_EQ(llama.encode("ca"), (Ids{kCa}));
  EXPECT_EQ(deepseek.encode("ca"), (Ids{byte_id('c'), byte_id('a')}));
  // llama-bpe (and gpt-2) clean up spaces when decoding; deepseek-v3 and qwen2 do not.
  const std::string text = "a ? b ' c 's d 're e 't";
  EXPECT_EQ(llama.decode(llama.encode(text)), "a? b'c's d're e 't");
  EXPECT_EQ(gpt2.decode(gpt2.encode(text)), "a? b'c's d're e 't");
  EXPECT_EQ(deepseek.decode(deepseek.encode(text)), text);
  EXPECT_EQ(qwen.decode(qwen.encode(text)), text);
  // BOS is added by default for llama-bpe only; the GGUF key decides when present.
  Metadata no_flag = small_vocab("llama-bpe");
  EXPECT_TRUE(small_tokenizer(no_flag).add_bos_token());
  set_key(no_flag, "tokenizer.ggml.pre", gguf_string("qwen2"));
  EXPECT_FALSE(small_tokenizer(no_flag).add_bos_token());
  set_key(no_flag, "tokenizer.ggml.add_bos_token", gguf_int(GgufValueType::Bool, 1));
  EXPECT_TRUE(small_tokenizer(no_flag).add_bos_token());
  // No pre key: llama.cpp's "default".
  Metadata no_pre = small_vocab("default");
  remove_key(no_pre, "tokenizer.ggml.pre");
  const std::string mixed = "Hello 1234 world!! x+y";
  EXPECT_EQ(small_tokenizer(no_pre).encode(mixed), small_tokenizer("default").encode(mixed));
  for (const char* pre : {"deepseek-llm", "deepseek-coder", "deepseek-r1-qwen", "llama3", "default"})
    EXPECT_EQ(small_tokenizer(pre).decode(small_tokenizer(pre).encode(mixed)), mixed) << pre;
}

TEST(GgufTokenizer, ChatTemplateAndSpecialTokensFromMetadata) {
  const Tokenizer t = small_tokenizer("deepseek-v3");
  EXPECT_EQ(t.bos_id(), kBos);
  EXPECT_EQ(t.eos_id(), kEos);
  const ChatTemplate chat = ChatTemplate::from_tokenizer_config(t.config(), "small.gguf");
  EXPECT_EQ(chat.render(json::array({{{"role", "user"}, {"content", "ab"}}}), false), "<s>ab");
}

TEST(GgufTokenizer, MalformedVocabulariesNameTheKey) {
  auto error_with = [](const std::function<void(Metadata&)>& edit) {
    Metadata meta = small_vocab("deepseek-v3");
    edit(meta);
    const fs::path path = write_gguf(meta);
    const std::string message = error_of([&] { tokenizer_from_gguf(GgufFile::open(path)->metadata()); });
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  };
  auto setting = [&](const std::string& key, const GgufValue& value) {
    return error_with([&](Metadata& m) { set_key(m, key, value); });
  };
  auto erasing = [&](const std::string& key) { return error_with([&](Metadata& m) { remove_key(m, key); }); };
  auto contains = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };

  EXPECT_PRED2(contains, setting("tokenizer.ggml.pre", gguf_string("tekken")),
               "tokenizer.ggml.pre 'tekken' is not supported (supported: deepseek-v3, deepseek-llm");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.model", gguf_string("llama")),
               "tokenizer.ggml.model 'llama' is not supported (supported: gpt2");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.model", gguf_string("bert")), "tokenizer.ggml.model 'bert'");
  EXPECT_PRED2(contains, erasing("tokenizer.ggml.model"), "'tokenizer.ggml.model' is missing");
  EXPECT_PRED2(contains, erasing("tokenizer.ggml.tokens"), "'tokenizer.ggml.tokens' is missing");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.tokens", gguf_int(GgufValueType::U32, 1)),
               "'tokenizer.ggml.tokens' must be an array of strings");
  EXPECT_PRED2(contains, erasing("tokenizer.ggml.merges"), "'tokenizer.ggml.merges' is missing");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.token_type", gguf_ints(GgufValueType::I32, {1})),
               "tokenizer.ggml.token_type has 1 entries but tokenizer.ggml.tokens has 265");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.merges", gguf_strings({"a zz"})),
               "tokenizer.ggml.merges[0] = \"a zz\" names \"zz\", which is not a vocabulary token");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.merges", gguf_strings({"b a"})), "names \"ba\"");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.merges", gguf_strings({"a <s>"})), "names \"<s>\"");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.merges", gguf_strings({"ab"})),
               "tokenizer.ggml.merges[0] = \"ab\" is not two tokens separated by one space");
  EXPECT_PRED2(contains, setting("tokenizer.ggml.bos_token_id", gguf_int(GgufValueType::U32, 265)),
               "tokenizer.ggml.bos_token_id = 265 is out of range (tokenizer.ggml.tokens has 265 tokens)");
  EXPECT_PRED2(contains,
               error_with([](Metadata& m) {
                 remove_key(m, "tokenizer.ggml.bos_token_id");
                 set_key(m, "tokenizer.ggml.add_bos_token", gguf_int(GgufValueType::Bool, 1));
               }),
               "tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is not set");
  std::vector<std::string> tokens = value_of(small_vocab("qwen2"), "tokenizer.ggml.tokens").strings;
  tokens[kTool] = "<s>";
  EXPECT_PRED2(contains, setting("tokenizer.ggml.tokens", gguf_strings(tokens)),
               "tokenizer.ggml.tokens[2] = \"<s>\" repeats token 0");
  std::vector<int64_t> types = value_of(small_vocab("qwen2"), "tokenizer.ggml.token_type").ints;
  types[kAb] = 9;
  EXPECT_PRED2(contains, setting("tokenizer.ggml.token_type", gguf_ints(GgufValueType::I32, types)),
               "tokenizer.ggml.token_type[260] = 9 is not a token type");
}

TEST(GgufTokenizer, LoadFindsTheGgufOrFallsBackToTokenizerJson) {
  EXPECT_EQ(Tokenizer::load(kFixtures + "/gguf/llama/BF16").encode("Advertisements"),
            Tokenizer::load(kFixtures + "/gguf/llama/BF16/llama-BF16.gguf").encode("Advertisements"));
  // A directory holding tokenizer.json reads it, GGUF or not; one with neither names tokenizer.json.
  EXPECT_EQ(Tokenizer::load(kFixtures + "/gguf/llama/source").vocab_size(), 1024);
  EXPECT_NE(error_of([&] { Tokenizer::load(kFixtures + "/gguf"); }).find("tokenizer.json"), std::string::npos);
}

}  // namespace
}  // namespace whale

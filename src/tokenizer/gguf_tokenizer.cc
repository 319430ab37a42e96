#include "tokenizer/gguf_tokenizer.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/bpe.h"
#include "tokenizer/tokenizer_files.h"

namespace whale {
namespace {

using nlohmann::json;

constexpr const char* kModelKey = "tokenizer.ggml.model";
constexpr const char* kPreKey = "tokenizer.ggml.pre";
constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kTokenTypeKey = "tokenizer.ggml.token_type";
constexpr const char* kMergesKey = "tokenizer.ggml.merges";
constexpr const char* kBosKey = "tokenizer.ggml.bos_token_id";
constexpr const char* kEosKey = "tokenizer.ggml.eos_token_id";
constexpr const char* kPadKey = "tokenizer.ggml.padding_token_id";
constexpr const char* kAddBosKey = "tokenizer.ggml.add_bos_token";
constexpr const char* kAddEosKey = "tokenizer.ggml.add_eos_token";
constexpr const char* kChatTemplateKey = "tokenizer.chat_template";

// llama.cpp's token types (llama_token_type).
enum TokenType : int64_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Types matched as whole tokens in the raw text before pre-tokenization (llama.cpp's special-token cache).
bool is_added(int64_t type) { return type == kControl || type == kUnknown || type == kUserDefined; }

// The pre-tokenizer regexes llama.cpp applies for each tokenizer.ggml.pre value (src/llama-vocab.cpp), in
// order, each splitting every piece into matches and the text between them; and its flags for that value.
constexpr std::string_view kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr std::string_view kNewline = R"([\r\n])";
// [一-龥ࠀ-一가-퟿]+
constexpr std::string_view kDeepSeekCjk = R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
// DeepSeek LLM's cased letters (its tokenizer.json writes them as characters; escaped here because several,
// e.g. U+1F7D, U+2126 and U+212A, are singletons that Unicode normalization in an editor would replace).
constexpr std::string_view kDeepSeekLlmLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF})"
    R"(\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1})"
    R"(\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5})"
    R"(\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A})"
    R"(\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B})"
    R"(\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC})"
    R"(\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})"
    R"(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134})"
    R"(\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787})"
    R"(\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A})"
    R"(\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2})"
    R"(\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";
// \s?[!-/:-~！-／：-～‘-‟　-。]+
constexpr std::string_view kDeepSeekLlmPunctuation =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";

// Llama 3's regex (also Qwen2's, with single digits), its case-insensitive contractions spelled out.
std::string llama3_regex(std::string_view digits) {
  return R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)" +
         std::string(digits) + R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
}

struct PreType {
  std::vector<std::string> names;
  std::vector<std::string> regexes;  // empty: DeepSeek-V3's pre-tokenizer (tokenizer_files.h)
  bool ignore_merges = false;        // a whole pre-token in the vocabulary is one token
  bool clean_spaces = false;         // llama.cpp's detokenizer clean-up of spaces
  bool add_bos = false;              // when tokenizer.ggml.add_bos_token is absent
};

const std::vector<PreType>& pre_types() {
  static const std::vector<PreType> kTypes = {
      {.names = {"deepseek-v3"}},
      {.names = {"deepseek-llm"},
       .regexes = {std::string(kNewline), std::string(kDeepSeekLlmLetters), std::string(kDeepSeekLlmPunctuation),
                   R"(\s+$)", std::string(kDeepSeekCjk), R"(\p{N}+)"}},
      {.names = {"deepseek-coder"},
       .regexes = {std::string(kNewline), R"(\s?\p{L}+)", R"(\s?\p{P}+)", std::string(kDeepSeekCjk), R"(\p{N})"}},
      {.names = {"qwen2", "deepseek-r1-qwen"}, .regexes = {llama3_regex(R"(\p{N})")}},
      {.names = {"llama-bpe", "llama3", "llama-v3"},
       .regexes = {llama3_regex(R"(\p{N}{1,3})")},
       .ignore_merges = true,
       .clean_spaces = true,
       .add_bos = true},
      {.names = {"gpt-2"}, .regexes = {std::string(kGpt2Regex)}, .clean_spaces = true},
      {.names = {"default"},
       .regexes = {R"([\p{P}\$\+<=>\^~\|]+)", std::string(kGpt2Regex), R"(\p{N}+)", "[0-9][0-9][0-9]"},
       .clean_spaces = true},
  };
  return kTypes;
}

const PreType& find_pre_type(const GgufMetadata& meta) {
  std::string name = meta.string_or(kPreKey, "");
  if (name.empty()) name = "default";  // llama.cpp's choice when the key is absent or empty
  std::string supported;
  for (const PreType& type : pre_types())
    for (const std::string& n : type.names) {
      if (n == name) return type;
      supported += (supported.empty() ? "" : ", ") + n;
    }
  fail("{}: {} '{}' is not supported (supported: {})", meta.source(), kPreKey, name, supported);
}

json pre_tokenizer_json(const PreType& type) {
  if (type.regexes.empty()) return deepseek_v3_pre_tokenizer();
  json steps = json::array();
  for (const std::string& regex : type.regexes)
    steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}});
  steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}});
  return {{"type", "Sequence"}, {"pretokenizers", std::move(steps)}};
}

// Every merge must be "a b" with a, b and ab vocabulary tokens (BPE merges never form added tokens).
void check_merges(const GgufMetadata& meta, const std::unordered_map<std::string_view, int32_t>& id_of,
                  const std::vector<int64_t>& types) {
  const std::vector<std::string>& merges = meta.get_strings(kMergesKey);
  auto in_vocabulary = [&](std::string_view token) {
    const auto it = id_of.find(token);
    return it != id_of.end() && !is_added(types[it->second]);
  };
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& merge = merges[i];
    const size_t space = merge.find(' ');
    if (space == 0 || space == std::string::npos || space + 1 == merge.size() ||
        merge.find(' ', space + 1) != std::string::npos)
      fail("{}: {}[{}] = \"{}\" is not two tokens separated by one space", meta.source(), kMergesKey, i, merge);
    const std::string left = merge.substr(0, space), right = merge.substr(space + 1);
    for (const std::string& token : {left, right, left + right})
      if (!in_vocabulary(token))
        fail("{}: {}[{}] = \"{}\" names \"{}\", which is not a vocabulary token of {}", meta.source(), kMergesKey, i,
             merge, token, kTokensKey);
  }
}

// The text of the token a special-token id key names, or nullopt if the key is absent.
std::optional<std::string> special_token(const GgufMetadata& meta, const char* key,
                                         const std::vector<std::string>& tokens) {
  if (!meta.has(key)) return std::nullopt;
  const int64_t id = meta.get_int(key);
  if (id < 0 || id >= int64_t(tokens.size()))
    fail("{}: {} = {} is out of range ({} has {} tokens)", meta.source(), key, id, kTokensKey, tokens.size());
  return tokens[size_t(id)];
}

// tokenizer_config.json: BOS/EOS/PAD, add_bos_token and the chat template.
json config_json(const GgufMetadata& meta, const PreType& pre, const std::vector<std::string>& tokens) {
  json config = json::object();
  const std::optional<std::string> bos = special_token(meta, kBosKey, tokens);
  const std::optional<std::string> eos = special_token(meta, kEosKey, tokens);
  const std::optional<std::string> pad = special_token(meta, kPadKey, tokens);
  if (bos) config["bos_token"] = *bos;
  if (eos) config["eos_token"] = *eos;
  if (pad) config["pad_token"] = *pad;
  const bool add_bos = meta.bool_or(kAddBosKey, pre.add_bos), add_eos = meta.bool_or(kAddEosKey, false);
  if (add_bos && !bos) fail("{}: {} is true but {} is not set", meta.source(), kAddBosKey, kBosKey);
  if (add_eos && !eos) fail("{}: {} is true but {} is not set", meta.source(), kAddEosKey, kEosKey);
  config["add_bos_token"] = add_bos;
  config["add_eos_token"] = add_eos;
  if (meta.has(kChatTemplateKey)) config["chat_template"] = meta.get_string(kChatTemplateKey);
  return config;
}

}  // namespace

Tokenizer tokenizer_from_gguf(const GgufMetadata& meta) {
  const std::string& file = meta.source();
  const std::string& model = meta.get_string(kModelKey);
  if (model != "gpt2")
    fail("{}: {} '{}' is not supported (supported: gpt2, i.e. byte-level BPE)", file, kModelKey, model);
  const PreType& pre = find_pre_type(meta);
  const std::vector<std::string>& tokens = meta.get_strings(kTokensKey);
  if (tokens.empty() || int64_t(tokens.size()) > BpeModel::kMaxId + 1)
    fail("{}: {} has {} tokens (1 to {} supported)", file, kTokensKey, tokens.size(), BpeModel::kMaxId + 1);
  const std::vector<int64_t> all_normal(meta.has(kTokenTypeKey) ? 0 : tokens.size(), kNormal);
  const std::vector<int64_t>& types = meta.has(kTokenTypeKey) ? meta.get_ints(kTokenTypeKey) : all_normal;
  if (types.size() != tokens.size())
    fail("{}: {} has {} entries but {} has {}", file, kTokenTypeKey, types.size(), kTokensKey, tokens.size());

  json vocab = json::object(), added = json::array();
  std::unordered_map<std::string_view, int32_t> id_of;
  std::vector<int32_t> silent;  // decode to nothing, as llama.cpp does for UNUSED and UNDEFINED tokens
  for (int32_t id = 0; id < int32_t(tokens.size()); ++id) {
    const std::string& text = tokens[id];
    const int64_t type = types[id];
    if (text.empty()) fail("{}: {}[{}] is empty", file, kTokensKey, id);
    if (type < kUndefined || type > kByte)
      fail("{}: {}[{}] = {} is not a token type (0 to 6)", file, kTokenTypeKey, id, type);
    const auto [previous, fresh] = id_of.emplace(text, id);
    if (!fresh) fail("{}: {}[{}] = \"{}\" repeats token {}", file, kTokensKey, id, text, previous->second);
    if (is_added(type)) {
      added.push_back({{"id", id}, {"content", text}, {"special", type != kUserDefined}, {"normalized", false}});
      continue;
    }
    vocab[text] = id;
    if (type == kUnused || type == kUndefined) silent.push_back(id);
  }
  check_merges(meta, id_of, types);

  json bpe = {{"type", "BPE"}, {"ignore_merges", pre.ignore_merges}};
  bpe["vocab"] = std::move(vocab);
  bpe["merges"] = meta.get_strings(kMergesKey);
  json tokenizer = {
      {"normalizer", nullptr}, {"pre_tokenizer", pre_tokenizer_json(pre)}, {"decoder", {{"type", "ByteLevel"}}}};
  tokenizer["added_tokens"] = std::move(added);
  tokenizer["model"] = std::move(bpe);

  Tokenizer t = Tokenizer::from_json(tokenizer, config_json(meta, pre, tokens), file);
  for (int32_t id : silent) t.token_bytes_[id].clear();
  t.clean_up_spaces_ = pre.clean_spaces;
  return t;
}

}  // namespace whale

#include "tokenizer/tokenizer_files.h"

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "tokenizer/byte_level.h"

namespace whale {
namespace {

using ordered_json = nlohmann::ordered_json;

ordered_json split_isolated(const std::string& regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}

ordered_json byte_level_step(bool add_prefix_space, bool trim_offsets, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", trim_offsets},
          {"use_regex", use_regex}};
}

void write_json(const ordered_json& j, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("cannot write {}", path.string());
  out << j.dump(1) << "\n";
  if (!out) fail("error writing {}", path.string());
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

ordered_json pre_tokenizer_spec(bool split_digits) {
  // The three patterns exactly as DeepSeek-V3's tokenizer.json has them (CR/LF are literal characters);
  // split_digits isolates single digits instead of runs of up to three.
  const std::string kDigits = split_digits ? "\\p{N}" : "\\p{N}{1,3}";
  static const std::string kCjk = "[一-龥぀-ゟ゠-ヿ]+";
  static const std::string kWords =
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
      " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
  return {{"type", "Sequence"},
          {"pretokenizers", {split_isolated(kDigits), split_isolated(kCjk), split_isolated(kWords),
                             byte_level_step(false, true, false)}}};
}

}  // namespace

nlohmann::json deepseek_v3_pre_tokenizer(bool split_digits) {
  return nlohmann::json::parse(pre_tokenizer_spec(split_digits).dump());
}

const std::string& deepseek_r1_chat_template() {
  static const std::string kTemplate =
      "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}{%- for message in messages %}"
      "{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}"
      "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}"
      "{%- if message['role'] == 'assistant' and message['content'] is none %}{%- set ns.is_tool = false -%}{%- for tool in message['tool_calls']%}{%- if not ns.is_first %}{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n' + '```' + '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- else %}{{'\n' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n' + '```' + '<｜tool▁call▁end｜>'}}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}{%- endif %}"
      "{%- if message['role'] == 'assistant' and message['content'] is not none %}{%- if ns.is_tool %}{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}"
      "{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- set ns.is_output_first = false %}{%- else %}{{'\n<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";
  return kTemplate;
}

void write_tokenizer_files(const TrainedBpe& bpe, const std::filesystem::path& dir,
                           const TokenizerFileOptions& options) {
  const auto& specials = bpe.special_tokens;
  const int32_t n_special = int32_t(specials.size());
  ordered_json added_tokens = ordered_json::array();
  ordered_json vocab = ordered_json::object();
  for (int32_t id = 0; id < n_special; ++id) {
    added_tokens.push_back({{"id", id},
                            {"content", specials[id]},
                            {"single_word", false},
                            {"lstrip", false},
                            {"rstrip", false},
                            {"normalized", false},
                            {"special", true}});
    vocab[specials[id]] = id;
  }
  std::vector<std::string> text_of(bpe.tokens.size());  // byte-level text of each non-special token
  for (size_t i = 0; i < bpe.tokens.size(); ++i) {
    text_of[i] = byte_level::encode(bpe.tokens[i]);
    vocab[text_of[i]] = n_special + int32_t(i);
  }
  ordered_json merges = ordered_json::array();
  for (const auto& [a, b] : bpe.merges) merges.push_back({text_of[a - n_special], text_of[b - n_special]});

  const ordered_json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens},
      {"normalizer", nullptr},
      {"pre_tokenizer", pre_tokenizer_spec(bpe.split_digits)},
      {"post_processor", byte_level_step(true, false, true)},
      {"decoder", byte_level_step(true, true, true)},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merges}}}};

  auto pick = [&](const std::string& chosen, int32_t index, const std::string& fallback) {
    if (!chosen.empty()) {
      if (!contains(specials, chosen)) fail("special token \"{}\" is not among the special tokens", chosen);
      return chosen;
    }
    return index < n_special ? specials[index] : fallback;
  };
  const std::string bos = pick(options.bos_token, 0, "");
  const std::string eos = pick(options.eos_token, 1, bos);
  const std::string pad = pick(options.pad_token, n_special, contains(specials, "<｜pad｜>") ? "<｜pad｜>" : eos);
  auto token_or_null = [](const std::string& s) { return s.empty() ? ordered_json(nullptr) : ordered_json(s); };
  const ordered_json config = {{"add_bos_token", !bos.empty()},
                               {"add_eos_token", false},
                               {"bos_token", token_or_null(bos)},
                               {"eos_token", token_or_null(eos)},
                               {"pad_token", token_or_null(pad)},
                               {"unk_token", nullptr},
                               {"clean_up_tokenization_spaces", false},
                               {"legacy", true},
                               {"model_max_length", 131072},
                               {"tokenizer_class", "LlamaTokenizerFast"},
                               {"chat_template", deepseek_r1_chat_template()}};

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create directory {}: {}", dir.string(), ec.message());
  write_json(tokenizer, dir / "tokenizer.json");
  write_json(config, dir / "tokenizer_config.json");
}

}  // namespace whale

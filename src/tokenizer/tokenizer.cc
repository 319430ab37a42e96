#include "tokenizer/tokenizer.h"

#include <optional>

#include "core/error.h"
#include "core/regular_file.h"
#include "io/gguf.h"
#include "tokenizer/added_token_escape.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

using nlohmann::json;

// The largest hub tokenizer.json files are tens of MB; a bigger one is refused before it is read.
constexpr uintmax_t kMaxJsonBytes = uintmax_t(1) << 30;

json read_json(const std::filesystem::path& path) {
  require_regular_file(path);  // a FIFO or device is refused, not read
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxJsonBytes)
    fail("{}: {} bytes is more than the {} byte limit of a tokenizer file", path.string(), size, kMaxJsonBytes);
  try {
    return json::parse(read_regular_file(path));
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", path.string(), e.what());
  }
}

void check_decoder(const json& spec, std::string_view source) {
  if (spec.is_object() && spec.value("type", std::string()) == "ByteLevel") return;
  fail("{}: unsupported decoder {} (only ByteLevel)", source, spec.dump());
}

AddedToken parse_added_token(const json& entry, size_t index, std::string_view source) {
  if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_number_integer() ||
      !entry.contains("content") || !entry["content"].is_string())
    fail("{}: added_tokens[{}] needs an integer 'id' and a string 'content'", source, index);
  AddedToken t;
  t.id = entry["id"].get<int32_t>();
  if (t.id < 0) fail("{}: added_tokens[{}].id is negative", source, index);
  t.content = entry["content"].get<std::string>();
  if (t.content.empty()) fail("{}: added_tokens[{}].content is empty", source, index);
  t.special = entry.value("special", false);
  t.normalized = entry.value("normalized", !t.special);
  t.lstrip = entry.value("lstrip", false);
  t.rstrip = entry.value("rstrip", false);
  t.single_word = entry.value("single_word", false);
  return t;
}

// bos_token / eos_token in tokenizer_config.json: a string or an AddedToken object {"content": ...}.
std::string config_token(const json& config, const char* field) {
  if (!config.is_object() || !config.contains(field)) return "";
  const json& v = config[field];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

// Drops each space s[i - 1] before a character s[i] for which drop(s, i) holds.
template <typename Drop>
std::string drop_spaces_before(std::string_view s, Drop drop) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && s[i - 1] == ' ' && drop(s, i)) out.pop_back();
    out += s[i];
  }
  return out;
}

// llama.cpp's detokenizer clean-up (HF's clean_up_tokenization without its " n't" rule), three passes: the
// space before ? ! . , goes; " ' " becomes "'"; the space before 's 'm 're 've goes.
std::string clean_up_spaces(std::string_view text) {
  const std::string punctuation = drop_spaces_before(text, [](std::string_view s, size_t i) {
    return s[i] == '?' || s[i] == '!' || s[i] == '.' || s[i] == ',';
  });
  // " ' " → "'": the apostrophe takes the place of the space before it and swallows the one after it.
  std::string quotes;
  const std::string_view s = punctuation;
  size_t swallowed = std::string::npos;  // a space taken by the last match, not reusable by the next one
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == swallowed) continue;
    if (s[i] == '\'' && i > 0 && i - 1 != swallowed && s[i - 1] == ' ' && i + 1 < s.size() && s[i + 1] == ' ') {
      quotes.back() = '\'';
      swallowed = i + 1;
    } else {
      quotes += s[i];
    }
  }
  return drop_spaces_before(quotes, [](std::string_view s, size_t i) {
    if (s[i] != '\'' || i + 1 >= s.size()) return false;
    const char a = s[i + 1];
    return a == 's' || a == 'm' || (i + 2 < s.size() && s[i + 2] == 'e' && (a == 'r' || a == 'v'));
  });
}

}  // namespace

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  const std::filesystem::path tokenizer_path = path / "tokenizer.json";
  const std::filesystem::path config_path = path / "tokenizer_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(tokenizer_path, ec))
    if (const std::optional<std::filesystem::path> gguf = GgufStore::find_model_file(path))
      return tokenizer_from_gguf(GgufFile::open(*gguf)->metadata());
  const json tokenizer = read_json(tokenizer_path);
  const json config = std::filesystem::exists(config_path) ? read_json(config_path) : json::object();
  return from_json(tokenizer, config, tokenizer_path.string());
}

Tokenizer Tokenizer::from_json(const json& tokenizer, const json& config, std::string_view source) {
  if (!tokenizer.is_object()) fail("{}: top level must be a JSON object", source);
  if (!tokenizer.contains("model")) fail("{}: missing field 'model'", source);
  Tokenizer t;
  t.model_ = BpeModel::from_json(tokenizer["model"], source);
  t.normalizer_ = Normalizer::from_json(tokenizer.value("normalizer", json()), source);
  t.pre_tokenizer_ = PreTokenizer::from_json(tokenizer.value("pre_tokenizer", json()), source);
  if (!t.pre_tokenizer_.has_byte_level())
    fail("{}: pre_tokenizer has no ByteLevel step (only byte-level BPE is supported)", source);
  check_decoder(tokenizer.value("decoder", json()), source);

  // Vocabulary first, then added tokens (which may reuse or extend its ids).
  size_t n = size_t(t.model_.id_end());
  const json added = tokenizer.value("added_tokens", json::array());
  if (!added.is_array()) fail("{}: field 'added_tokens' must be an array", source);
  std::vector<AddedToken> added_tokens;
  for (size_t i = 0; i < added.size(); ++i) {
    added_tokens.push_back(parse_added_token(added[i], i, source));
    BpeModel::check_id_limit(added_tokens.back().id, size_t(t.model_.id_end()) + added.size(),
                             fmt::format("added_tokens[{}].id", i), source);
    n = std::max(n, size_t(added_tokens.back().id) + 1);
  }
  t.token_text_.resize(n);
  t.token_bytes_.resize(n);
  t.known_.assign(n, false);
  t.special_.assign(n, false);
  auto set_token = [&t](int32_t id, const std::string& text) {
    t.token_text_[id] = text;
    t.token_bytes_[id].clear();
    // The ByteLevel decoder maps each character back to its byte; a token with any character outside
    // the byte alphabet contributes its text as is.
    if (!byte_level::decode(text, t.token_bytes_[id])) t.token_bytes_[id] = text;
    t.known_[id] = true;
  };
  for (int32_t id = 0; id < t.model_.id_end(); ++id)
    if (!t.model_.token_text(id).empty()) set_token(id, t.model_.token_text(id));
  for (const AddedToken& a : added_tokens) {
    set_token(a.id, a.content);
    t.special_[a.id] = a.special;
    t.added_id_of_content_[a.content] = a.id;
    t.added_.add(a);
  }

  if (config.is_object()) t.config_ = config;
  const std::string bos = config_token(t.config_, "bos_token"), eos = config_token(t.config_, "eos_token");
  t.bos_id_ = bos.empty() ? -1 : t.token_to_id(bos);
  t.eos_id_ = eos.empty() ? -1 : t.token_to_id(eos);
  if (!bos.empty() && t.bos_id_ < 0) fail("{}: bos_token \"{}\" is not in the vocabulary", source, bos);
  if (!eos.empty() && t.eos_id_ < 0) fail("{}: eos_token \"{}\" is not in the vocabulary", source, eos);
  t.add_bos_token_ = t.config_.value("add_bos_token", false);
  return t;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  utf8::require_valid(text, "tokenizer input");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<TextSegment> segments;
  if (options.parse_special) {
    added_.split(text, segments);
  } else if (!text.empty()) {
    segments.push_back({text, -1});
  }
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  std::string restored, normalized;
  for (const TextSegment& segment : segments) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    std::string_view segment_text = segment.text;
    if (options.restore_escaped && has_escaped_added_tokens(segment_text)) {
      restored.clear();
      restore_added_tokens(added_, segment_text, restored);
      segment_text = restored;
    }
    if (!normalizer_.is_identity()) {
      normalizer_.normalize(segment_text, normalized);
      segment_text = normalized;
    }
    pieces.clear();
    pre_tokenizer_.split(segment_text, pieces, arena);
    for (std::string_view piece : pieces) model_.encode_word(piece, ids);
  }
  return ids;
}

std::string Tokenizer::escape_added_tokens(std::string_view text) const {
  std::string out;
  whale::escape_added_tokens(added_, text, out);
  return out;
}

std::string Tokenizer::restore_escaped(std::string_view text) const {
  std::string out;
  restore_added_tokens(added_, text, out);
  return out;
}

void Tokenizer::check_id(int32_t id) const {
  if (!is_valid_id(id)) fail("unknown token id {} (vocabulary size {})", id, vocab_size());
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    check_id(id);
    if (!(skip_special_tokens && special_[id])) bytes += token_bytes_[id];
  }
  std::string text;
  utf8::append_lossy(bytes, text);
  return clean_up_spaces_ ? clean_up_spaces(text) : text;
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  check_id(id);
  return token_bytes_[id];
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  const auto it = added_id_of_content_.find(std::string(token));
  return it != added_id_of_content_.end() ? it->second : model_.id_of_text(token);
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  check_id(id);
  return token_text_[id];
}

std::string StreamingDecoder::push(int32_t id) {
  const std::string_view bytes = tokenizer_.token_bytes(id);
  if (skip_special_tokens_ && tokenizer_.is_special(id)) return "";
  pending_ += bytes;
  const size_t hold = utf8::incomplete_tail(pending_);
  std::string text;
  utf8::append_lossy(std::string_view(pending_).substr(0, pending_.size() - hold), text);
  pending_.erase(0, pending_.size() - hold);
  return text;
}

std::string StreamingDecoder::finish() {
  std::string text;
  utf8::append_lossy(pending_, text);
  pending_.clear();
  return text;
}

}  // namespace whale

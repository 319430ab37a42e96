// Byte-level BPE tokenizer loaded from a hub tokenizer.json (+ tokenizer_config.json), matching HF
// tokenizers token for token: added tokens matched in the raw text, then the pre-tokenizer regexes
// (PCRE2), then BPE merges by rank. Decoding uses the ByteLevel decoder. A GGUF vocabulary loads too, with
// llama.cpp's semantics (gguf_tokenizer.h).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"

namespace whale {

class GgufMetadata;

struct EncodeOptions {
  // Added tokens spelled in the text become their ids (HF's encode). False: none is matched, special or not;
  // all of the text is pre-tokenized and BPE-encoded as ordinary characters (llama.cpp's parse_special=false).
  bool parse_special = true;
  // The text holds placeholders of escape_added_tokens(): after the split on added tokens, each is restored to
  // the text it stands for, which is encoded as ordinary characters.
  bool restore_escaped = false;
};

class Tokenizer {
 public:
  // Reads DIR/tokenizer.json and, if present, DIR/tokenizer_config.json (BOS/EOS, chat template). `path` may
  // also be a .gguf file, or a directory without tokenizer.json that holds one GGUF model: its vocabulary.
  static Tokenizer load(const std::filesystem::path& path);
  // From parsed file contents; `source` names them in errors. `config` may be null or an empty object.
  static Tokenizer from_json(const nlohmann::json& tokenizer, const nlohmann::json& config,
                             std::string_view source);

  // Text → ids, without BOS/EOS (HF encode(text, add_special_tokens=False)). Invalid UTF-8 → whale::Error.
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
  // For an untrusted string placed into a prompt (chat content): `text` with each spelling of an added token
  // replaced by a placeholder (added_token_escape.h), which encode(.., {.restore_escaped = true}) encodes as the
  // ordinary characters it stands for, and restore_escaped() turns back into them.
  std::string escape_added_tokens(std::string_view text) const;
  std::string restore_escaped(std::string_view text) const;
  // Ids → text; an unknown id → whale::Error naming it. Invalid UTF-8 in the bytes becomes U+FFFD. GGUF
  // vocabularies whose pre-tokenizer says so then clean up spaces as llama.cpp's detokenizer does.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  // The bytes one token contributes to decoded text (may be a partial UTF-8 character).
  std::string_view token_bytes(int32_t id) const;

  // Vocabulary text of a token (added token content or byte-level text) → id, or -1.
  int32_t token_to_id(std::string_view token) const;
  // Id → vocabulary text; an unknown id → whale::Error.
  const std::string& id_to_token(int32_t id) const;
  // One past the largest id (vocabulary and added tokens).
  int32_t vocab_size() const { return int32_t(token_bytes_.size()); }
  bool is_valid_id(int32_t id) const { return id >= 0 && id < vocab_size() && known_[id]; }
  bool is_special(int32_t id) const { return is_valid_id(id) && special_[id]; }
  int32_t bos_id() const { return bos_id_; }  // -1 if tokenizer_config.json names none
  int32_t eos_id() const { return eos_id_; }
  bool add_bos_token() const { return add_bos_token_; }
  // tokenizer_config.json contents (an empty object if there was none).
  const nlohmann::json& config() const { return config_; }

 private:
  friend Tokenizer tokenizer_from_gguf(const GgufMetadata& meta);  // sets the llama.cpp decoding rules
  void check_id(int32_t id) const;

  BpeModel model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  AddedVocabulary added_;
  std::unordered_map<std::string, int32_t> added_id_of_content_;
  std::vector<std::string> token_text_;   // [vocab_size] vocabulary text
  std::vector<std::string> token_bytes_;  // [vocab_size] decoded bytes
  std::vector<bool> known_, special_;     // [vocab_size]
  int32_t bos_id_ = -1, eos_id_ = -1;
  bool add_bos_token_ = false;
  bool clean_up_spaces_ = false;  // llama.cpp's clean_spaces (" ?" → "?", ...) in decode()
  nlohmann::json config_ = nlohmann::json::object();
};

// Decodes ids one at a time, returning only complete UTF-8 text; bytes of a character split across tokens
// are held until it completes. The concatenation of all push() results and finish() equals decode(ids)
// (before the clean-up of spaces of some GGUF vocabularies, which llama.cpp's streaming does not do either).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false)
      : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}
  std::string push(int32_t id);
  // Flushes held bytes (an unfinished character becomes U+FFFD) and resets.
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;  // bytes not yet returned
};

}  // namespace whale

// Byte-level BPE model: the vocabulary and merge ranks of tokenizer.json's "model", applied to one
// pre-token (as raw bytes) at a time. Merges apply lowest rank first, leftmost first among equal ranks.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace whale {

class BpeModel {
 public:
  // Token ids read from a file must be below 2^24 (the model config's vocab_size limit) and at most
  // kMaxIdGap above the number of tokens listed: tables are indexed by id, so a hostile sparse id would
  // otherwise allocate for every id below it.
  static constexpr int64_t kMaxId = (int64_t(1) << 24) - 1;
  static constexpr int64_t kMaxIdGap = int64_t(1) << 16;
  static void check_id_limit(int64_t id, size_t n_listed, std::string_view what, std::string_view source);

  // From tokenizer.json's "model" object (type BPE; vocab; merges as "a b" strings or ["a", "b"] pairs).
  // Tokens are byte-level text; tokens that are not (e.g. special tokens listed in the vocab) are kept for
  // id lookups but never produced by merges. Errors name the field and `source`.
  static BpeModel from_json(const nlohmann::json& model, std::string_view source);

  BpeModel() = default;
  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

  // Appends the ids of one pre-token, given as raw bytes.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  // Token text as written in the vocabulary (byte-level), by id; empty if the id has none.
  const std::string& token_text(int32_t id) const;
  // Id of a vocabulary entry (byte-level text), or -1.
  int32_t id_of_text(std::string_view text) const;
  // One past the largest id in the vocabulary.
  int32_t id_end() const { return int32_t(text_of_id_.size()); }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

  static uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  StringMap id_of_text_;                  // byte-level text → id
  std::vector<std::string> text_of_id_;   // [id_end]
  StringMap id_of_bytes_;                 // raw bytes → id, for tokens that are byte-level text
  int32_t byte_id_[256];                  // id of each single byte, or -1
  std::unordered_map<uint64_t, Merge> merges_;
  bool ignore_merges_ = false;            // a word found whole in the vocab is one token (Llama-3)
  int32_t unk_id_ = -1;

  // Cache of recent words → ids (HF caches too); bounded, shared between threads.
  static constexpr size_t kCacheCapacity = 1 << 17;
  static constexpr size_t kMaxCachedWord = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace whale

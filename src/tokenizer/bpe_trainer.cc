#include "tokenizer/bpe_trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/progress.h"
#include "core/regular_file.h"
#include "core/thread_pool.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer_files.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

using WordCounts = std::unordered_map<std::string_view, int64_t>;

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
int32_t pair_left(uint64_t key) { return int32_t(key >> 32); }
int32_t pair_right(uint64_t key) { return int32_t(key & 0xFFFFFFFFu); }

// Splits texts into ~1 MB chunks at line ends so threads can count words independently.
std::vector<std::string_view> make_chunks(const std::vector<std::string_view>& texts) {
  constexpr size_t kChunk = 1 << 20;
  std::vector<std::string_view> chunks;
  for (std::string_view text : texts) {
    while (!text.empty()) {
      const size_t newline = text.size() <= kChunk ? std::string_view::npos : text.find('\n', kChunk);
      const size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
      chunks.push_back(text.substr(0, end));
      text.remove_prefix(end);
    }
  }
  return chunks;
}

// Counts pre-token words (views into `texts`, which must outlive the result).
WordCounts count_words(const std::vector<std::string_view>& texts, const BpeTrainerOptions& options,
                       ThreadPool& pool, Progress* progress) {
  const PreTokenizer pre_tokenizer =
      PreTokenizer::from_json(deepseek_v3_pre_tokenizer(options.split_digits), "DeepSeek-V3 pre_tokenizer");
  AddedVocabulary specials;
  for (size_t i = 0; i < options.special_tokens.size(); ++i)
    specials.add({int32_t(i), options.special_tokens[i], true, false, false, false, false});

  const std::vector<std::string_view> chunks = make_chunks(texts);
  WordCounts counts;
  std::mutex mutex;
  pool.parallel_for(chunks.size(), 1, [&](size_t begin, size_t end) {
    WordCounts local;
    std::vector<TextSegment> segments;
    std::vector<std::string_view> pieces;
    std::deque<std::string> arena;  // stays empty: no step of this pre-tokenizer synthesizes text
    size_t bytes = 0;
    for (size_t i = begin; i < end; ++i) {
      segments.clear();
      specials.split(chunks[i], segments);
      for (const TextSegment& s : segments) {
        if (s.id >= 0) continue;
        pieces.clear();
        pre_tokenizer.split(s.text, pieces, arena);
        for (std::string_view p : pieces) ++local[p];
      }
      bytes += chunks[i].size();
    }
    std::lock_guard lock(mutex);
    for (const auto& [word, n] : local) counts[word] += n;
    if (progress) {
      progress->note(fmt::format("{} distinct words", counts.size()));
      progress->add(double(bytes));
    }
  });
  return counts;
}

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

struct Candidate {
  int64_t count;
  uint64_t pair;
  // Max-heap order: higher count first, then the smaller pair (as HF's trainer).
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

class PairMerger {
 public:
  PairMerger(std::vector<Word> words) : words_(std::move(words)), seen_(words_.size(), -1) {
    for (uint32_t w = 0; w < words_.size(); ++w) {
      const Word& word = words_[w];
      for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
        const uint64_t p = pair_key(word.symbols[i], word.symbols[i + 1]);
        pair_counts_[p] += word.count;
        pair_words_[p].push_back(w);
      }
    }
    for (const auto& [pair, count] : pair_counts_) queue_.push({count, pair});
  }

  // Pops the most frequent pair with its current count; returns false when none is left.
  bool best(uint64_t* pair, int64_t* count) {
    while (!queue_.empty()) {
      const Candidate top = queue_.top();
      queue_.pop();
      const auto it = pair_counts_.find(top.pair);
      const int64_t current = it == pair_counts_.end() ? 0 : it->second;
      if (current == top.count) {
        *pair = top.pair;
        *count = current;
        return true;
      }
      // Stale (the count dropped since it was queued): requeue with the true count. Increases are
      // always queued when they happen, so a queued count is never below the true one.
      if (current > 0) queue_.push({current, top.pair});
    }
    return false;
  }

  // Replaces every occurrence of `pair` by `new_id` and updates the pair counts of the affected words.
  void merge(uint64_t pair, int32_t new_id, int64_t step) {
    const int32_t a = pair_left(pair), b = pair_right(pair);
    std::vector<uint32_t> affected;
    affected.swap(pair_words_[pair]);
    pair_words_.erase(pair);
    delta_.clear();
    for (uint32_t w : affected) {
      if (seen_[w] == step) continue;
      seen_[w] = step;
      std::vector<int32_t>& s = words_[w].symbols;
      bool has_pair = false;
      for (size_t i = 0; i + 1 < s.size() && !has_pair; ++i) has_pair = s[i] == a && s[i + 1] == b;
      if (!has_pair) continue;  // stale entry: an earlier merge removed the pair from this word
      count_pairs(w, -1, -1);
      size_t out = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        const bool merge_here = i + 1 < s.size() && s[i] == a && s[i + 1] == b;
        s[out++] = merge_here ? new_id : s[i];
        i += merge_here;
      }
      s.resize(out);
      count_pairs(w, +1, new_id);
    }
    for (const auto& [p, d] : delta_) {
      if (d == 0) continue;
      int64_t& count = pair_counts_[p];
      count += d;
      if (count <= 0) pair_counts_.erase(p);
      else if (d > 0) queue_.push({count, p});
    }
  }

 private:
  // Adds sign × count of every adjacent pair of word w to delta_; records w for new pairs with new_id.
  void count_pairs(uint32_t w, int sign, int32_t new_id) {
    const Word& word = words_[w];
    for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const uint64_t p = pair_key(word.symbols[i], word.symbols[i + 1]);
      delta_[p] += sign * word.count;
      if (word.symbols[i] == new_id || word.symbols[i + 1] == new_id) pair_words_[p].push_back(w);
    }
  }

  std::vector<Word> words_;
  std::vector<int64_t> seen_;  // [n_words] last merge step that visited the word
  std::unordered_map<uint64_t, int64_t> pair_counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> pair_words_;  // may hold stale or repeated entries
  std::priority_queue<Candidate> queue_;
  std::unordered_map<uint64_t, int64_t> delta_;  // pair count changes of the current merge
};

}  // namespace

TrainedBpe train_bpe(const std::vector<std::string_view>& texts, const BpeTrainerOptions& options,
                     ThreadPool& pool) {
  const int32_t n_special = int32_t(options.special_tokens.size());
  if (options.vocab_size < n_special + 256)
    fail("vocab size {} is smaller than the {} special tokens + 256 byte tokens", options.vocab_size, n_special);
  WordCounts counts;
  {
    double total_bytes = 0;
    for (std::string_view t : texts) total_bytes += double(t.size());
    std::optional<Progress> progress;
    if (options.progress) progress.emplace("counting words", total_bytes, Progress::Unit::kBytes);
    counts = count_words(texts, options, pool, progress ? &*progress : nullptr);
  }

  TrainedBpe result;
  result.special_tokens = options.special_tokens;
  result.split_digits = options.split_digits;
  // The 256 byte tokens, ordered by their byte-level character (as HF's trainer orders its alphabet).
  std::vector<int> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = b;
  std::sort(bytes.begin(), bytes.end(), [](int x, int y) {
    size_t px = 0, py = 0;
    return utf8::next_code_point(byte_level::char_of(uint8_t(x)), px) <
           utf8::next_code_point(byte_level::char_of(uint8_t(y)), py);
  });
  int32_t id_of_byte[256];
  for (int i = 0; i < 256; ++i) {
    id_of_byte[bytes[i]] = n_special + i;
    result.tokens.push_back(std::string(1, char(bytes[i])));
  }

  std::vector<Word> words;
  words.reserve(counts.size());
  for (const auto& [text, count] : counts) {
    Word w{{}, count};
    for (char c : text) w.symbols.push_back(id_of_byte[uint8_t(c)]);
    if (w.symbols.size() > 1) words.push_back(std::move(w));
  }
  PairMerger merger(std::move(words));
  const int32_t n_merges = options.vocab_size - n_special - 256;
  std::optional<Progress> progress;
  if (options.progress) progress.emplace("merges", double(std::max(n_merges, 0)), Progress::Unit::kCount, "merges");
  uint64_t pair = 0;
  int64_t count = 0;
  for (int32_t step = 0; step < n_merges; ++step) {
    if (!merger.best(&pair, &count) || count < options.min_frequency) break;
    const int32_t a = pair_left(pair), b = pair_right(pair);
    const int32_t new_id = n_special + int32_t(result.tokens.size());
    result.tokens.push_back(result.tokens[a - n_special] + result.tokens[b - n_special]);
    result.merges.emplace_back(a, b);
    merger.merge(pair, new_id, step);
    if (progress) progress->add(1);
  }
  return result;
}

namespace {

// The texts of a JSON-lines file: each record's "text", or the contents of its chat "messages".
std::vector<std::string> jsonl_texts(const std::string& contents, const std::string& source) {
  std::vector<std::string> out;
  std::istringstream lines(contents);
  std::string line;
  for (int64_t number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("text") && j["text"].is_string()) {
      out.push_back(j["text"].get<std::string>());
    } else if (j.is_object() && j.contains("messages") && j["messages"].is_array()) {
      std::string text;
      for (const nlohmann::json& m : j["messages"])
        if (m.is_object() && m.contains("content") && m["content"].is_string())
          text += m["content"].get<std::string>() + "\n";
      out.push_back(std::move(text));
    } else {
      fail("{}:{}: expected a JSON object with a \"text\" string or a \"messages\" array", source, number);
    }
  }
  return out;
}

}  // namespace

TrainedBpe train_bpe_files(const std::vector<std::filesystem::path>& files, const BpeTrainerOptions& options,
                           ThreadPool& pool) {
  std::vector<std::string> contents;
  for (const auto& path : files) {
    std::string text = read_regular_file(path);
    utf8::require_valid(text, path.string());
    if (path.extension() == ".jsonl") {
      for (std::string& t : jsonl_texts(text, path.string())) contents.push_back(std::move(t));
    } else {
      contents.push_back(std::move(text));
    }
  }
  std::vector<std::string_view> texts(contents.begin(), contents.end());
  return train_bpe(texts, options, pool);
}

}  // namespace whale

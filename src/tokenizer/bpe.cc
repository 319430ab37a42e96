#include "tokenizer/bpe.h"

#include <algorithm>
#include <queue>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/scratch.h"

namespace whale {
namespace {

using nlohmann::json;

// Splits a merges entry into its two tokens: "a b" (one space) or ["a", "b"].
std::pair<std::string, std::string> parse_merge(const json& entry, size_t index, std::string_view source) {
  if (entry.is_string()) {
    const std::string s = entry.get<std::string>();
    const size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
      fail("{}: model.merges[{}] = \"{}\" is not two tokens separated by one space", source, index, s);
    return {s.substr(0, space), s.substr(space + 1)};
  }
  if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string())
    return {entry[0].get<std::string>(), entry[1].get<std::string>()};
  fail("{}: model.merges[{}] must be \"a b\" or [\"a\", \"b\"], got {}", source, index, entry.dump());
}

}  // namespace

void BpeModel::check_id_limit(int64_t id, size_t n_listed, std::string_view what, std::string_view source) {
  if (id > kMaxId || id > int64_t(n_listed) + kMaxIdGap)
    fail("{}: {} = {} is beyond the id limit (ids must be below {} and at most {} above the {} tokens listed)",
         source, what, id, kMaxId + 1, kMaxIdGap, n_listed);
}

BpeModel::BpeModel(BpeModel&& other) noexcept { *this = std::move(other); }

BpeModel& BpeModel::operator=(BpeModel&& other) noexcept {
  id_of_text_ = std::move(other.id_of_text_);
  text_of_id_ = std::move(other.text_of_id_);
  id_of_bytes_ = std::move(other.id_of_bytes_);
  std::copy(std::begin(other.byte_id_), std::end(other.byte_id_), std::begin(byte_id_));
  merges_ = std::move(other.merges_);
  ignore_merges_ = other.ignore_merges_;
  unk_id_ = other.unk_id_;
  cache_.clear();
  return *this;
}

BpeModel BpeModel::from_json(const json& model, std::string_view source) {
  if (!model.is_object()) fail("{}: missing field 'model'", source);
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE")
    fail("{}: model.type '{}' is not supported (only byte-level BPE)", source, type);
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("{}: missing field 'model.vocab'", source);
  if (!model.contains("merges") || !model["merges"].is_array()) fail("{}: missing field 'model.merges'", source);

  BpeModel m;
  std::fill(std::begin(m.byte_id_), std::end(m.byte_id_), -1);
  for (const auto& [text, id_json] : model["vocab"].items()) {
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 || id_json.get<int64_t>() > INT32_MAX)
      fail("{}: model.vocab[\"{}\"] is not a valid id", source, text);
    check_id_limit(id_json.get<int64_t>(), model["vocab"].size(), fmt::format("model.vocab[\"{}\"]", text), source);
    const int32_t id = id_json.get<int32_t>();
    if (size_t(id) >= m.text_of_id_.size()) m.text_of_id_.resize(size_t(id) + 1);
    m.text_of_id_[id] = text;
    m.id_of_text_[text] = id;
    std::string bytes;
    if (!byte_level::decode(text, bytes)) continue;
    m.id_of_bytes_[bytes] = id;
    if (bytes.size() == 1) m.byte_id_[uint8_t(bytes[0])] = id;
  }

  const json& merges = model["merges"];
  m.merges_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto [a, b] = parse_merge(merges[i], i, source);
    const int32_t id_a = m.id_of_text(a), id_b = m.id_of_text(b), id_ab = m.id_of_text(a + b);
    if (id_a < 0 || id_b < 0 || id_ab < 0)
      fail("{}: model.merges[{}] (\"{}\" \"{}\") references token \"{}\" that is not in model.vocab", source, i,
           a, b, id_a < 0 ? a : id_b < 0 ? b : a + b);
    m.merges_.try_emplace(pair_key(id_a, id_b), Merge{int32_t(i), id_ab});  // first (lowest) rank wins
  }
  m.ignore_merges_ = model.value("ignore_merges", false);
  if (model.contains("unk_token") && model["unk_token"].is_string())
    m.unk_id_ = m.id_of_text(model["unk_token"].get<std::string>());
  return m;
}

const std::string& BpeModel::token_text(int32_t id) const {
  static const std::string kEmpty;
  return id >= 0 && size_t(id) < text_of_id_.size() ? text_of_id_[id] : kEmpty;
}

int32_t BpeModel::id_of_text(std::string_view text) const {
  const auto it = id_of_text_.find(text);
  return it == id_of_text_.end() ? -1 : it->second;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    const auto it = id_of_bytes_.find(word);
    if (it != id_of_bytes_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWord;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    const auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t start = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.try_emplace(std::string(word), out.begin() + start, out.end());
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  // Symbols form a doubly linked list over the word's bytes; a merge folds the right symbol into the left.
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // -1 at the ends
  };
  struct Candidate {
    int32_t rank, left, id_left, id_right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  thread_local std::vector<Symbol> symbols;  // [n_bytes]
  const ScratchGuard symbols_scope(symbols);
  for (char c : word) {
    int32_t id = byte_id_[uint8_t(c)];
    if (id < 0) id = unk_id_;
    if (id < 0) continue;  // no token for this byte and no unk: dropped, as HF does
    const int32_t index = int32_t(symbols.size());
    symbols.push_back({id, index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
  }
  if (symbols.empty()) return;

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    const auto it = merges_.find(pair_key(symbols[left].id, symbols[right].id));
    if (it != merges_.end()) queue.push({it->second.rank, left, symbols[left].id, symbols[right].id});
  };
  for (int32_t i = 0; i + 1 < int32_t(symbols.size()); ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    // Stale candidates: the left symbol changed or its neighbour is no longer the recorded one.
    if (left.id != c.id_left || left.next < 0 || symbols[left.next].id != c.id_right) continue;
    const int32_t right_index = left.next;
    left.id = merges_.at(pair_key(c.id_left, c.id_right)).merged_id;
    left.next = symbols[right_index].next;
    if (left.next >= 0) symbols[left.next].prev = c.left;
    symbols[right_index].id = -1;  // dead
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(c.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace whale

#include "grammar/grammar_constraint.h"

#include <algorithm>
#include <limits>

namespace whale::grammar {
namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

}  // namespace

GrammarConstraint::GrammarConstraint(std::shared_ptr<const JsonGrammar> grammar,
                                     std::shared_ptr<const VocabIndex> index, ConstraintOptions options)
    : grammar_(std::move(grammar)),
      index_(std::move(index)),
      options_(std::move(options)),
      recognizer_(*grammar_),
      masker_(*grammar_, *index_),
      start_(recognizer_.start()),
      state_(start_),
      in_reasoning_(options_.reasoning_first) {}

bool GrammarConstraint::is_stop(int32_t id) const {
  return std::find(options_.stop_ids.begin(), options_.stop_ids.end(), id) != options_.stop_ids.end();
}

bool GrammarConstraint::mask_forced(float* logits, int64_t vocab, int32_t id) const {
  bool any = false;
  for (int64_t i = 0; i < vocab; ++i) {
    const bool keep = id >= 0 ? i == id : is_stop(int32_t(i));
    any |= keep;
    if (!keep) logits[i] = kMasked;
  }
  return any;
}

bool GrammarConstraint::mask(float* logits, int64_t vocab) noexcept {
  if (in_reasoning_) return mask_reasoning(logits, vocab);
  const std::vector<int32_t>& prefix = options_.prefix_ids;
  const std::vector<int32_t>& suffix = options_.suffix_ids;
  if (prefix_pos_ < prefix.size()) return mask_forced(logits, vocab, prefix[prefix_pos_]);
  if (in_suffix_) return mask_forced(logits, vocab, suffix_pos_ < suffix.size() ? suffix[suffix_pos_] : -1);
  stats_ = masker_.compute(state_, allowed_);
  const bool complete = recognizer_.complete(state_);
  for (const int32_t id : options_.stop_ids)
    if (id >= 0 && id < index_->size()) allowed_[size_t(id)] = complete && suffix.empty();
  if (!suffix.empty() && suffix[0] >= 0 && suffix[0] < index_->size()) allowed_[size_t(suffix[0])] = complete;
  // Branch-free, so that it vectorizes: with the table pass of the string fast path, this pass over the
  // vocabulary is most of a step's cost.
  const int64_t n = std::min<int64_t>(vocab, index_->size());
  const uint8_t* allowed = allowed_.data();
  uint8_t any = 0;
  for (int64_t i = 0; i < n; ++i) {
    any |= allowed[i];
    logits[i] = allowed[i] ? logits[i] : kMasked;
  }
  for (int64_t i = n; i < vocab; ++i) {
    const bool keep = complete && suffix.empty() && is_stop(int32_t(i));
    any |= uint8_t(keep);
    logits[i] = keep ? logits[i] : kMasked;
  }
  return any != 0;
}

bool GrammarConstraint::mask_reasoning(float* logits, int64_t vocab) {
  for (const int32_t id : options_.stop_ids)
    if (id >= 0 && id < vocab) logits[id] = kMasked;
  // A token that ends the reasoning must go on with bytes the grammar accepts.
  for (const VocabIndex::TagCompletion& t : index_->completing_tag(tag_matched_)) {
    if (t.id >= vocab) continue;
    if (!options_.prefix_ids.empty()) {  // the forced prefix follows the tag directly
      if (t.offset < index_->bytes(t.id).size()) logits[t.id] = kMasked;
      continue;
    }
    scratch_ = start_;
    if (!recognizer_.advance(scratch_, index_->bytes(t.id).substr(t.offset))) logits[t.id] = kMasked;
  }
  return true;  // everything else is free text
}

void GrammarConstraint::accept(int32_t id) noexcept {
  if (id < 0 || id >= index_->size()) {
    state_.clear();
    in_reasoning_ = false;
    return;
  }
  std::string_view bytes = index_->bytes(id);
  if (in_reasoning_) {
    const size_t end = index_->reasoning_end().find_end(tag_matched_, bytes);
    if (end == std::string_view::npos) return;
    in_reasoning_ = false;
    bytes = bytes.substr(end);
    if (!options_.prefix_ids.empty()) {
      if (!bytes.empty()) state_.clear();  // masked: text between the tag and the prefix
      return;
    }
  } else if (prefix_pos_ < options_.prefix_ids.size()) {
    if (id != options_.prefix_ids[prefix_pos_++]) state_.clear();
    return;
  } else if (in_suffix_) {
    if (suffix_pos_ < options_.suffix_ids.size() && id != options_.suffix_ids[suffix_pos_++]) state_.clear();
    return;  // a stop after the suffix: the request ends here
  } else if (!options_.suffix_ids.empty() && id == options_.suffix_ids[0] && recognizer_.complete(state_)) {
    in_suffix_ = true;
    suffix_pos_ = 1;
    return;
  } else if (is_stop(id)) {
    return;  // the request ends here
  } else if (!index_->ordinary(id)) {
    state_.clear();
    return;
  }
  recognizer_.advance(state_, bytes);
}

}  // namespace whale::grammar

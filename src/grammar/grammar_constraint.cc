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

bool GrammarConstraint::mask(float* logits, int64_t vocab) noexcept {
  if (in_reasoning_) return mask_reasoning(logits, vocab);
  stats_ = masker_.compute(state_, allowed_);
  const bool complete = recognizer_.complete(state_);
  for (const int32_t id : options_.stop_ids)
    if (id >= 0 && id < index_->size()) allowed_[size_t(id)] = complete;
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
    const bool keep = complete && is_stop(int32_t(i));
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
  } else if (is_stop(id)) {
    return;  // the request ends here
  } else if (!index_->ordinary(id)) {
    state_.clear();
    return;
  }
  recognizer_.advance(state_, bytes);
}

}  // namespace whale::grammar

// TokenConstraint for response_format: the request's output must be a document of a JsonGrammar. Each step
// allows the tokens token_mask.h finds, plus the request's stop ids once the document is complete (and then
// nothing else, since nothing may follow a complete document but a stop).
// Reasoning models: when the prompt ends inside <think>, the output is free text up to the end of reasoning
// (vocab_index.h's tag, "</think>", spelled by any tokens) and the document starts right after it (whitespace
// allowed). Before it, stop ids are masked (an answer must follow the reasoning), and so is any token that
// would close the reasoning and continue with bytes the grammar rejects.
// Forced text (a tool call's markup around its arguments, server/tools/): the prefix tokens are the only ones allowed
// where the document would start (a token closing the reasoning must then end with the tag), the suffix tokens
// once it is complete; the stop ids follow the suffix.
#pragma once

#include <memory>
#include <vector>

#include "engine/token_constraint.h"
#include "grammar/json_grammar.h"
#include "grammar/recognizer.h"
#include "grammar/token_mask.h"
#include "grammar/vocab_index.h"

namespace whale::grammar {

struct ConstraintOptions {
  std::vector<int32_t> stop_ids;  // allowed only once the document is complete (and the suffix written)
  bool reasoning_first = false;   // the prompt ends inside <think>
  // Forced text around the document, as token ids (e.g. a tool call's markup): the prefix right after the reasoning
  // (or at the start), the suffix once the document is complete (its first token ends the document), then a stop.
  std::vector<int32_t> prefix_ids, suffix_ids;
};

class GrammarConstraint final : public TokenConstraint {
 public:
  GrammarConstraint(std::shared_ptr<const JsonGrammar> grammar, std::shared_ptr<const VocabIndex> index,
                    ConstraintOptions options);

  bool mask(float* logits, int64_t vocab) noexcept override;
  void accept(int32_t id) noexcept override;

  bool in_reasoning() const { return in_reasoning_; }
  bool complete() const {
    return !in_reasoning_ && prefix_pos_ == options_.prefix_ids.size() &&
           (options_.suffix_ids.empty() ? recognizer_.complete(state_) : suffix_pos_ == options_.suffix_ids.size());
  }
  bool failed() const { return !in_reasoning_ && state_.dead(); }  // a token the mask forbade was accepted
  const MaskStats& last_stats() const { return stats_; }

 private:
  bool mask_reasoning(float* logits, int64_t vocab);
  // Allows only `id` (the next forced token), or with id -1 only the stop ids.
  bool mask_forced(float* logits, int64_t vocab, int32_t id) const;
  bool is_stop(int32_t id) const;

  std::shared_ptr<const JsonGrammar> grammar_;
  std::shared_ptr<const VocabIndex> index_;
  ConstraintOptions options_;
  Recognizer recognizer_;
  TokenMasker masker_;
  GrammarState start_, state_, scratch_;
  bool in_reasoning_;
  size_t tag_matched_ = 0;  // bytes of the reasoning end tag the output ends with
  size_t prefix_pos_ = 0;  // forced prefix tokens written
  size_t suffix_pos_ = 0;  // forced suffix tokens written (in_suffix_)
  bool in_suffix_ = false;
  std::vector<uint8_t> allowed_;
  MaskStats stats_;
};

}  // namespace whale::grammar

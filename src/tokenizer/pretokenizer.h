// Pre-tokenization as HF tokenizers defines it: a sequence of steps, each refining the list of pieces
// (Split with a regex or literal and a delimiter behavior, ByteLevel, Digits). BPE then runs per piece.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace whale {

// What happens to the matches of a Split pattern (HF SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct SplitStep {
  Regex regex;
  SplitBehavior behavior;
  bool invert = false;
};

struct ByteLevelStep {
  bool add_prefix_space = false;
  bool use_regex = true;
};

class PreTokenizer {
 public:
  // From the "pre_tokenizer" field of tokenizer.json (null means one piece per input). Unsupported types
  // give an error naming the type and `source`.
  static PreTokenizer from_json(const nlohmann::json& spec, std::string_view source);

  // Appends the pieces of `text` (valid UTF-8) to `pieces`. Pieces view `text` or strings in `arena`.
  void split(std::string_view text, std::vector<std::string_view>& pieces,
             std::deque<std::string>& arena) const;

  // True if some step is ByteLevel (the byte-to-character mapping BPE vocabularies of this kind need).
  bool has_byte_level() const;

 private:
  struct Step {
    enum Kind { kSplit, kByteLevel } kind;
    SplitStep split;  // for kSplit (and the GPT-2 regex of a ByteLevel step with use_regex)
    ByteLevelStep byte_level;
  };
  static void add_steps(const nlohmann::json& spec, std::string_view source, std::vector<Step>& steps);

  std::vector<Step> steps_;
};

// Splits one piece by a pattern with HF's delimiter semantics; appends the non-empty results to `out`.
void split_piece(const SplitStep& step, std::string_view piece, std::vector<std::string_view>& out);

}  // namespace whale

#include "tokenizer/pretokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/scratch.h"

namespace whale {
namespace {

using nlohmann::json;

// The regex that GPT-2's ByteLevel pre-tokenizer applies when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

SplitBehavior parse_behavior(const json& value, std::string_view source) {
  const std::string name = value.is_string() ? value.get<std::string>() : "";
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  fail("{}: pre_tokenizer Split: unsupported behavior {}", source, value.dump());
}

Regex parse_pattern(const json& pattern, std::string_view source) {
  if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string())
    return Regex(pattern["Regex"].get<std::string>(), source);
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string())
    return Regex(pattern["String"].get<std::string>(), source, /*literal=*/true);
  fail("{}: pre_tokenizer Split: field 'pattern' must be {{\"Regex\": ...}} or {{\"String\": ...}}", source);
}

bool bool_field(const json& spec, const char* name, bool fallback) {
  const auto it = spec.find(name);
  return it != spec.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

struct Segment {
  size_t begin, end;
  bool is_match;
};

}  // namespace

void split_piece(const SplitStep& step, std::string_view piece, std::vector<std::string_view>& out) {
  thread_local std::vector<Span> matches;
  thread_local std::vector<Segment> segments;
  const ScratchGuard matches_scope(matches);
  const ScratchGuard segments_scope(segments);
  step.regex.find_all(piece, matches);
  // Cover the piece with alternating gap / match segments.
  size_t prev = 0;
  for (const Span& m : matches) {
    if (m.first > prev) segments.push_back({prev, m.first, step.invert});
    segments.push_back({m.first, m.second, !step.invert});
    prev = m.second;
  }
  if (prev < piece.size()) segments.push_back({prev, piece.size(), step.invert});

  // Fold segments by the behavior (as HF's NormalizedString::split does).
  std::vector<Segment> merged;
  merged.reserve(segments.size());
  switch (step.behavior) {
    case SplitBehavior::kRemoved:
    case SplitBehavior::kIsolated:
      merged = segments;
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && !merged.empty()) merged.back().end = s.end;
        else merged.push_back(s);
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;  // walking right to left: the segment to the right was a match
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty()) merged.back().begin = it->begin;
        else merged.push_back(*it);
        previous_match = it->is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.is_match == previous_match && !merged.empty()) merged.back().end = s.end;
        else merged.push_back(s);
        previous_match = s.is_match;
      }
      break;
    }
  }
  for (const Segment& s : merged) {
    if (s.end == s.begin) continue;
    if (step.behavior == SplitBehavior::kRemoved && s.is_match) continue;
    out.push_back(piece.substr(s.begin, s.end - s.begin));
  }
}

void PreTokenizer::add_steps(const json& spec, std::string_view source, std::vector<Step>& steps) {
  if (spec.is_null()) return;
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
    fail("{}: pre_tokenizer must be an object with a 'type'", source);
  const std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    if (!spec.contains("pretokenizers") || !spec["pretokenizers"].is_array())
      fail("{}: pre_tokenizer Sequence: missing field 'pretokenizers'", source);
    for (const json& child : spec["pretokenizers"]) add_steps(child, source, steps);
  } else if (type == "Split") {
    if (!spec.contains("pattern")) fail("{}: pre_tokenizer Split: missing field 'pattern'", source);
    if (!spec.contains("behavior")) fail("{}: pre_tokenizer Split: missing field 'behavior'", source);
    steps.push_back({Step::kSplit,
                     SplitStep{parse_pattern(spec["pattern"], source), parse_behavior(spec["behavior"], source),
                               bool_field(spec, "invert", false)},
                     {}});
  } else if (type == "ByteLevel") {
    const ByteLevelStep byte_level{bool_field(spec, "add_prefix_space", false), bool_field(spec, "use_regex", true)};
    steps.push_back({Step::kByteLevel,
                     SplitStep{Regex(kGpt2Pattern, "GPT-2 byte-level regex"), SplitBehavior::kIsolated, false},
                     byte_level});
  } else if (type == "Digits") {
    // Digits = runs of numeric characters isolated (each digit alone with individual_digits).
    const bool individual = bool_field(spec, "individual_digits", false);
    steps.push_back({Step::kSplit,
                     SplitStep{Regex(individual ? R"(\p{N})" : R"(\p{N}+)", source), SplitBehavior::kIsolated, false},
                     {}});
  } else {
    fail("{}: unsupported pre_tokenizer type '{}' (supported: Sequence, Split, ByteLevel, Digits)", source, type);
  }
}

PreTokenizer PreTokenizer::from_json(const json& spec, std::string_view source) {
  PreTokenizer p;
  add_steps(spec, source, p.steps_);
  return p;
}

bool PreTokenizer::has_byte_level() const {
  for (const Step& s : steps_)
    if (s.kind == Step::kByteLevel) return true;
  return false;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces,
                         std::deque<std::string>& arena) const {
  if (text.empty()) return;
  thread_local std::vector<std::string_view> current, next;
  const ScratchGuard current_scope(current);
  const ScratchGuard next_scope(next);
  current.assign(1, text);
  for (const Step& step : steps_) {
    next.clear();
    for (std::string_view piece : current) {
      if (step.kind == Step::kSplit) {
        split_piece(step.split, piece, next);
        continue;
      }
      if (step.byte_level.add_prefix_space && piece.front() != ' ') {
        std::string& prefixed = arena.emplace_back(1, ' ');
        prefixed.append(piece);
        piece = prefixed;
      }
      if (step.byte_level.use_regex) split_piece(step.split, piece, next);
      else next.push_back(piece);
    }
    current.swap(next);
  }
  pieces.insert(pieces.end(), current.begin(), current.end());
}

}  // namespace whale

// The token mask on the real DeepSeek-V3 vocabulary (128,818 ids): the trie walk (and its string fast path)
// allows exactly the tokens a brute force allows, which advances the recognizer over every token's bytes, at
// many random reachable states of several schemas (seeded walks that sample allowed tokens). Then the
// TokenConstraint: stop ids only once the document is complete, reasoning first, and the logits it masks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "grammar/grammar_constraint.h"
#include "grammar/schema_compiler.h"
#include "grammar/token_mask.h"
#include "grammar/vocab_index.h"
#include "tokenizer/tokenizer.h"

namespace whale::grammar {
namespace {

using nlohmann::ordered_json;

const Tokenizer& deepseek() {
  static const Tokenizer t = Tokenizer::load(std::string(WHALE_FIXTURES_DIR) + "/tokenizer/deepseek-v3");
  return t;
}

std::shared_ptr<const VocabIndex> index() {
  static const auto i = std::make_shared<const VocabIndex>(deepseek());
  return i;
}

std::vector<uint8_t> brute_force(const Recognizer& r, const GrammarState& state) {
  const VocabIndex& vocab = *index();
  std::vector<uint8_t> allowed(size_t(vocab.size()), 0);
  GrammarState s;
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (!vocab.ordinary(id)) continue;
    s = state;
    allowed[size_t(id)] = r.advance(s, vocab.bytes(id));
  }
  return allowed;
}

// Structure moves a walk on (a token with a quote, bracket, comma, colon or escape), and closing ends it.
bool structural(std::string_view bytes) { return bytes.find_first_of("\"{}[],:\\") != std::string_view::npos; }
bool closing(std::string_view bytes) { return bytes.find_first_of("\"}]") != std::string_view::npos; }

struct WalkStats {
  int states = 0, fast_path = 0, walked = 0, completes = 0;
};

// A seeded walk over `steps` reachable states: at each, the trie mask must equal the brute-force one.
WalkStats check_walk(const JsonGrammar& g, uint64_t seed, int steps) {
  const Recognizer r(g);
  TokenMasker masker(g, *index());
  std::mt19937_64 rng(seed);
  GrammarState state = r.start();
  std::vector<uint8_t> allowed;
  WalkStats stats;
  std::string text;
  for (int step = 0; step < steps; ++step) {
    const MaskStats m = masker.compute(state, allowed);
    EXPECT_FALSE(m.truncated);
    const std::vector<uint8_t> expected = brute_force(r, state);
    ++stats.states;
    (m.fast_path ? stats.fast_path : stats.walked) += 1;
    for (size_t id = 0; id < expected.size(); ++id)
      if (allowed[id] != expected[id]) {
        ADD_FAILURE() << "seed " << seed << " after " << ordered_json(text).dump() << ": token " << id << " "
                      << ordered_json(std::string(index()->bytes(int32_t(id))))
                             .dump(-1, ' ', false, ordered_json::error_handler_t::replace)
                      << " trie " << int(allowed[id]) << " brute force " << int(expected[id]);
        return stats;
      }
    std::vector<int32_t> ids, moving, closers;
    for (size_t id = 0; id < allowed.size(); ++id)
      if (allowed[id]) {
        ids.push_back(int32_t(id));
        if (structural(index()->bytes(int32_t(id)))) moving.push_back(int32_t(id));
        if (closing(index()->bytes(int32_t(id)))) closers.push_back(int32_t(id));
      }
    if (ids.empty() || (r.complete(state) && rng() % 2 == 0)) {  // done: a new document
      EXPECT_TRUE(r.complete(state)) << "dead end after " << text;
      stats.completes += r.complete(state);
      state = r.start();
      text.clear();
      continue;
    }
    const uint64_t pick = rng() % 4;
    const std::vector<int32_t>& pool = pick < 2 && !closers.empty()  ? closers
                                       : pick < 3 && !moving.empty() ? moving
                                                                     : ids;
    const int32_t id = pool[size_t(rng() % pool.size())];
    text += index()->bytes(id);
    EXPECT_TRUE(r.advance(state, index()->bytes(id)));
  }
  return stats;
}

const char* kPerson = R"({"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 12},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "email": {"type": "string", "format": "email"},
    "born": {"type": "string", "format": "date"},
    "tags": {"type": "array", "items": {"enum": ["a", "b", "ccc"]}, "maxItems": 3},
    "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": ["string", "null"]}},
                "required": ["city"], "additionalProperties": false}},
  "required": ["name", "age", "address"], "additionalProperties": false})";

const char* kAnyOf = R"({"anyOf": [
    {"type": "object", "properties": {"id": {"type": "integer"}, "note": {"type": "string"}}, "required": ["id"]},
    {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "n": {"type": "number"}}},
    {"type": "array", "items": {"type": "string", "minLength": 2}}]})";

// Keys that may be listed properties or any others (additionalProperties absent): the fast path as any other key,
// corrected along the listed names.
const char* kOpenKeys = R"({"type": "object", "properties": {"name": {"type": "string"}, "nam": {"type": "boolean"},
    "note": {"type": "integer", "maximum": 9}}, "required": ["note"]})";

const char* kTree = R"({"$defs": {"node": {"type": "object", "properties": {"label": {"type": "string"},
    "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["label"]}}, "$ref": "#/$defs/node"})";

TEST(GrammarTokenMask, TrieWalkEqualsBruteForceOnDeepSeekV3) {
  const std::pair<const char*, std::shared_ptr<const JsonGrammar>> grammars[] = {
      {"json_object", json_object_grammar()},
      {"person", compile_json_schema(ordered_json::parse(kPerson))},
      {"anyOf", compile_json_schema(ordered_json::parse(kAnyOf))},
      {"tree", compile_json_schema(ordered_json::parse(kTree))},
      {"open keys", compile_json_schema(ordered_json::parse(kOpenKeys))},
  };
  WalkStats total;
  for (size_t i = 0; i < std::size(grammars); ++i) {
    SCOPED_TRACE(grammars[i].first);
    const WalkStats s = check_walk(*grammars[i].second, 1000 + i, 48);
    total.states += s.states;
    total.fast_path += s.fast_path;
    total.walked += s.walked;
    total.completes += s.completes;
  }
  // Both ways of computing the mask were compared, and walks did finish documents.
  EXPECT_GT(total.fast_path, 10);
  EXPECT_GT(total.walked, 20);
  EXPECT_GT(total.completes, 0);
}

TEST(GrammarTokenMask, KeysThatMayBeListedNamesAgreeWithBruteForce) {
  const auto g = compile_json_schema(ordered_json::parse(kOpenKeys));
  const Recognizer r(*g);
  TokenMasker masker(*g, *index());
  std::vector<uint8_t> allowed;
  for (const char* prefix :
       {"{\"", "{\"n", "{\"na", "{\"nam", "{\"name", "{\"no", "{ \"x\": 1, \"n", "{\"name\":\"a\", \""}) {
    GrammarState s = r.start();
    ASSERT_TRUE(r.advance(s, prefix)) << prefix;
    const MaskStats m = masker.compute(s, allowed);
    EXPECT_TRUE(m.fast_path) << prefix;
    EXPECT_LT(m.visited, 20000u) << prefix;
    EXPECT_EQ(allowed, brute_force(r, s)) << prefix;
  }
}

TEST(GrammarTokenMask, TruncatedWalkStaysValidAndCanGoOn) {
  const auto g = compile_json_schema(
      ordered_json::parse(R"({"anyOf": [{"type": "string"}, {"type": "string", "format": "email"}]})"));
  const Recognizer r(*g);
  GrammarState s = r.start();
  ASSERT_TRUE(r.advance(s, "\"ada"));
  std::vector<uint8_t> full, truncated;
  TokenMasker unbounded(*g, *index());
  EXPECT_FALSE(unbounded.compute(s, full).truncated);
  EXPECT_EQ(full, brute_force(r, s));
  TokenMasker bounded(*g, *index(), /*max_visited=*/1000);
  const MaskStats m = bounded.compute(s, truncated);
  EXPECT_TRUE(m.truncated);
  size_t kept = 0, single_bytes = 0;
  for (size_t id = 0; id < full.size(); ++id) {
    EXPECT_LE(truncated[id], full[id]) << "token " << id << " allowed only when truncated";
    kept += truncated[id];
    if (full[id] && index()->bytes(int32_t(id)).size() == 1) {
      EXPECT_TRUE(truncated[id]) << "single-byte token " << id;
      ++single_bytes;
    }
  }
  EXPECT_GT(single_bytes, 50u);
  EXPECT_LT(kept, size_t(std::count(full.begin(), full.end(), 1)));

  // Cut short along listed key names too: nothing is allowed that the full mask does not allow.
  const auto open = compile_json_schema(ordered_json::parse(kOpenKeys));
  const Recognizer keys(*open);
  GrammarState k = keys.start();
  ASSERT_TRUE(keys.advance(k, "{\"n"));
  TokenMasker key_bounded(*open, *index(), /*max_visited=*/10), key_unbounded(*open, *index());
  key_unbounded.compute(k, full);
  EXPECT_TRUE(key_bounded.compute(k, truncated).truncated);
  for (size_t id = 0; id < full.size(); ++id) EXPECT_LE(truncated[id], full[id]) << "token " << id;
}

TEST(GrammarTokenMask, SpecialAndAddedTokensAreNeverAllowed) {
  const VocabIndex& vocab = *index();
  EXPECT_EQ(vocab.size(), deepseek().vocab_size());
  const auto g = json_object_grammar();
  const Recognizer r(*g);
  TokenMasker masker(*g, vocab);
  GrammarState s = r.start();
  ASSERT_TRUE(r.advance(s, "{\"k\": \"some text "));
  std::vector<uint8_t> allowed;
  EXPECT_TRUE(masker.compute(s, allowed).fast_path);
  for (const char* added : {"<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜fim▁hole｜>"}) {
    const int32_t id = deepseek().token_to_id(added);
    ASSERT_GE(id, 0) << added;
    EXPECT_FALSE(vocab.ordinary(id)) << added;
    EXPECT_FALSE(allowed[size_t(id)]) << added;
  }
  // Inside a string nearly every token is plain text.
  EXPECT_GT(std::count(allowed.begin(), allowed.end(), 1), 100000);
}

// A constraint over the DeepSeek-V3 vocabulary, fed a text token by token as the tokenizer encodes it.
struct Fixture {
  std::shared_ptr<const JsonGrammar> grammar = compile_json_schema(ordered_json::parse(
      R"({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": false})"));
  int32_t eos = deepseek().eos_id();
  std::vector<float> logits = std::vector<float>(size_t(deepseek().vocab_size()), 0.0f);

  bool allowed(GrammarConstraint& c, int32_t id) {
    std::fill(logits.begin(), logits.end(), 1.0f);
    EXPECT_TRUE(c.mask(logits.data(), int64_t(logits.size())));
    return std::isfinite(logits[size_t(id)]);
  }
  void feed(GrammarConstraint& c, std::string_view text) {
    for (int32_t id : deepseek().encode(text)) {
      EXPECT_TRUE(allowed(c, id)) << "token " << id << " of " << text;
      c.accept(id);
    }
  }
};

TEST(GrammarConstraint, StopOnlyOnceCompleteThenOnlyStop) {
  Fixture f;
  GrammarConstraint c(f.grammar, index(), {.stop_ids = {f.eos}});
  EXPECT_FALSE(f.allowed(c, f.eos));
  f.feed(c, "{\"ok\": tru");
  EXPECT_FALSE(f.allowed(c, f.eos));
  f.feed(c, "e}");
  EXPECT_TRUE(c.complete());
  EXPECT_TRUE(f.allowed(c, f.eos));
  size_t finite = 0;
  for (float x : f.logits) finite += std::isfinite(x);
  EXPECT_EQ(finite, 1u);  // nothing but the stop follows a complete document
  c.accept(f.eos);
  EXPECT_FALSE(c.failed());
}

TEST(GrammarConstraint, ReasoningIsFreeUntilTheEndTagThenJson) {
  Fixture f;
  GrammarConstraint c(f.grammar, index(), {.stop_ids = {f.eos}, .reasoning_first = true});
  EXPECT_TRUE(c.in_reasoning());
  EXPECT_FALSE(f.allowed(c, f.eos));  // an answer must follow the reasoning
  f.feed(c, "Let me think: not JSON at all } ] \"");
  EXPECT_TRUE(c.in_reasoning());
  // "</think>" then text the grammar refuses: a token that closes the reasoning with bytes that cannot start the
  // document is masked, one whose rest can start it is not.
  f.feed(c, "</think");
  EXPECT_TRUE(c.in_reasoning());
  int masked = 0, kept = 0;
  for (const VocabIndex::TagCompletion& t : index()->completing_tag(7)) {
    const std::string_view rest = index()->bytes(t.id).substr(t.offset);
    if (rest.size() > 1) continue;
    const bool can_start = rest.empty() || rest == " " || rest == "\n" || rest == "{";
    EXPECT_EQ(f.allowed(c, t.id), can_start) << ordered_json(std::string(index()->bytes(t.id))).dump();
    (can_start ? kept : masked) += 1;
  }
  EXPECT_GT(masked, 0);
  EXPECT_GT(kept, 0);
  f.feed(c, ">\n\n");
  EXPECT_FALSE(c.in_reasoning());
  EXPECT_FALSE(f.allowed(c, deepseek().encode("Sure")[0]));
  f.feed(c, "{\"ok\":false}");
  EXPECT_TRUE(c.complete());
  EXPECT_TRUE(f.allowed(c, f.eos));
}

TEST(GrammarConstraint, EveryTokenMaskedReportsFalse) {
  Fixture f;
  GrammarConstraint c(f.grammar, index(), {});  // no stop ids: nothing may follow the document
  f.feed(c, "{\"ok\":true}");
  EXPECT_TRUE(c.complete());
  EXPECT_FALSE(c.mask(f.logits.data(), int64_t(f.logits.size())));
}

}  // namespace
}  // namespace whale::grammar

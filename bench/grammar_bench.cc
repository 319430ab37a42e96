// Cost of one step of grammar-constrained decoding at DeepSeek-V3's vocabulary (128,818 token ids, 129,280
// logits): GrammarConstraint::mask (the token mask of token_mask.h, then -inf written into the logits) at typical
// states of json_object and of a nested schema, single thread; and the once-per-tokenizer VocabIndex build.
//   whale_kernel_bench --benchmark_filter=Grammar   (tokenizer from $WHALE_TOKENIZER_DIR if set)
// Counters: visited = trie nodes walked per mask, allowed = tokens left.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "grammar/grammar_constraint.h"
#include "grammar/schema_compiler.h"
#include "tokenizer/tokenizer.h"

namespace whale::grammar {
namespace {

constexpr int64_t kLogits = 129280;  // DeepSeek-V3's vocab_size

// $WHALE_TOKENIZER_DIR, else the DeepSeek-V3 fixture of the test suite (tests/fixtures).
std::filesystem::path tokenizer_dir() {
  if (const char* dir = std::getenv("WHALE_TOKENIZER_DIR")) return dir;
  return std::filesystem::path(__FILE__).parent_path() / "../tests/fixtures/tokenizer/deepseek-v3";
}

const Tokenizer& tokenizer() {
  static const Tokenizer t = Tokenizer::load(tokenizer_dir());
  return t;
}

std::shared_ptr<const VocabIndex> vocab() {
  static const auto index = std::make_shared<const VocabIndex>(tokenizer());
  return index;
}

const char* kNested = R"({"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 40},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "born": {"type": "string", "format": "date"},
    "tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "maxItems": 5},
    "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"},
                "zip": {"type": ["string", "null"]}}, "required": ["street", "city"], "additionalProperties": false},
    "notes": {"type": "array", "items": {"type": "object", "properties": {"text": {"type": "string"}},
              "required": ["text"], "additionalProperties": false}}},
  "required": ["name", "age", "address"], "additionalProperties": false})";

// Masks the logits at the state after `prefix` (fed token by token as the tokenizer encodes it).
void mask_at(benchmark::State& state, std::shared_ptr<const JsonGrammar> grammar, const std::string& prefix) {
  GrammarConstraint c(grammar, vocab(), {.stop_ids = {tokenizer().eos_id()}});
  for (const int32_t id : tokenizer().encode(prefix)) c.accept(id);
  if (c.failed()) return state.SkipWithError("the prefix is not valid for the grammar");
  std::vector<float> logits(size_t(kLogits), 0.5f);
  for (auto _ : state) {
    c.mask(logits.data(), kLogits);
    benchmark::DoNotOptimize(logits.data());
    benchmark::ClobberMemory();
  }
  int64_t allowed = 0;
  for (const float x : logits) allowed += std::isfinite(x);
  state.counters["visited"] = double(c.last_stats().visited);
  state.counters["allowed"] = double(allowed);
}

void BM_GrammarMaskJsonObject(benchmark::State& state, const std::string& prefix) {
  static const auto grammar = json_object_grammar();
  mask_at(state, grammar, prefix);
}

void BM_GrammarMaskNested(benchmark::State& state, const std::string& prefix) {
  static const auto grammar = compile_json_schema(nlohmann::ordered_json::parse(kNested));
  mask_at(state, grammar, prefix);
}

BENCHMARK_CAPTURE(BM_GrammarMaskJsonObject, start, std::string(""))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskJsonObject, object_open, std::string("{"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskJsonObject, in_key, std::string("{\"user_na"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskJsonObject, after_key, std::string("{\"name\":"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskJsonObject, in_string, std::string("{\"name\": \"The quick brown"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskJsonObject, in_number, std::string("{\"n\": 12"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskJsonObject, after_value, std::string("{\"a\": [1, {\"b\": null}]"))
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_CAPTURE(BM_GrammarMaskNested, start, std::string(""))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskNested, object_open, std::string("{"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskNested, in_bounded_string, std::string("{\"name\": \"Ada Lovel"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskNested, after_key, std::string("{\"name\": \"Ada\", \"age\":"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskNested, after_value, std::string("{\"name\": \"Ada\", \"age\": 36"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskNested, in_date, std::string("{\"name\": \"Ada\", \"age\": 36, \"born\": \"1815-1"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskNested, nested_string,
                  std::string("{\"name\": \"Ada\", \"age\": 36, \"address\": {\"street\": \"12 St James"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskNested, in_enum_array,
                  std::string("{\"name\": \"Ada\", \"age\": 36, \"tags\": [\"red\", \"gr"))
    ->Unit(benchmark::kMicrosecond);

// Where the string fast path does not apply and the trie is walked inside free text: the first bytes of a key that
// may be a listed property or any other key, and a value that is a plain string or an email (two threads).
void BM_GrammarMaskSlowPath(benchmark::State& state, const std::string& schema, const std::string& prefix) {
  mask_at(state, compile_json_schema(nlohmann::ordered_json::parse(schema)), prefix);
}
BENCHMARK_CAPTURE(BM_GrammarMaskSlowPath, open_key, std::string(R"({"properties": {"name": {}, "note": {}}})"),
                  std::string("{\"n"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GrammarMaskSlowPath, string_or_email,
                  std::string(R"({"anyOf": [{"type": "string"}, {"type": "string", "format": "email"}]})"),
                  std::string("\"ada"))
    ->Unit(benchmark::kMicrosecond);

// Once per tokenizer (the first structured request of a server).
void BM_GrammarVocabIndexBuild(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(VocabIndex(tokenizer()).size());
}
BENCHMARK(BM_GrammarVocabIndexBuild)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace whale::grammar

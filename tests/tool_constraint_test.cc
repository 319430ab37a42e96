// A forced tool call (tool_choice naming a function) at the token level: GrammarConstraint with the forced prefix and
// suffix of DeepSeek's call markup (server/tools/forced_call.h) over the real DeepSeek-V3 vocabulary. Each markup
// token is the only one allowed, the arguments follow the schema, the suffix is allowed only once they are complete,
// the stop only after it; and the decoded text parses back into the call.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "grammar/grammar_constraint.h"
#include "grammar/schema_compiler.h"
#include "server/tools/forced_call.h"
#include "server/tools/forced_call_constraint.h"
#include "server/tools/tool_call_parser.h"
#include "tokenizer/tokenizer.h"

namespace whale::server::tools {
namespace {

const Tokenizer& deepseek() {
  static const Tokenizer t = Tokenizer::load(WHALE_FIXTURES_DIR "/tokenizer/deepseek-v3");
  return t;
}

std::shared_ptr<const grammar::VocabIndex> index() {
  static const auto i = std::make_shared<const grammar::VocabIndex>(deepseek());
  return i;
}

struct Fixture {
  ForcedCall text = forced_call_text(ToolFormat::kDeepSeek, "get_weather");
  std::shared_ptr<const grammar::JsonGrammar> schema = grammar::compile_json_schema(nlohmann::ordered_json::parse(
      R"({"type": "object", "properties": {"city": {"type": "string", "maxLength": 8}}, "required": ["city"],
          "additionalProperties": false})"));
  int32_t eos = deepseek().eos_id();
  std::vector<float> logits = std::vector<float>(size_t(deepseek().vocab_size()), 0.0f);
  std::vector<int32_t> written;

  grammar::GrammarConstraint make(bool reasoning_first) {
    return grammar::GrammarConstraint(schema, index(),
                                      {.stop_ids = {eos},
                                       .reasoning_first = reasoning_first,
                                       .prefix_ids = deepseek().encode(text.prefix),
                                       .suffix_ids = deepseek().encode(text.suffix)});
  }
  // The ids the mask leaves.
  std::vector<int32_t> allowed(grammar::GrammarConstraint& c) {
    std::fill(logits.begin(), logits.end(), 1.0f);
    c.mask(logits.data(), int64_t(logits.size()));
    std::vector<int32_t> ids;
    for (size_t i = 0; i < logits.size(); ++i)
      if (std::isfinite(logits[i])) ids.push_back(int32_t(i));
    return ids;
  }
  void write(grammar::GrammarConstraint& c, int32_t id) {
    c.accept(id);
    written.push_back(id);
  }
  // Each id must be the only one allowed.
  void forced(grammar::GrammarConstraint& c, const std::vector<int32_t>& ids) {
    for (int32_t id : ids) {
      EXPECT_EQ(allowed(c), std::vector<int32_t>{id});
      write(c, id);
    }
  }
  bool is_allowed(grammar::GrammarConstraint& c, int32_t id) {
    const std::vector<int32_t> a = allowed(c);
    return std::find(a.begin(), a.end(), id) != a.end();
  }
};

TEST(ToolConstraint, ForcedCallIsMarkupThenSchemaArgumentsThenStop) {
  Fixture f;
  grammar::GrammarConstraint c = f.make(/*reasoning_first=*/false);
  const std::vector<int32_t> prefix = deepseek().encode(f.text.prefix), suffix = deepseek().encode(f.text.suffix);
  ASSERT_EQ(prefix[0], deepseek().token_to_id("<｜tool▁calls▁begin｜>"));  // markup tokens, not its spelling
  f.forced(c, prefix);
  EXPECT_FALSE(c.complete());
  for (int32_t id : deepseek().encode("{\"city\": \"Paris\"")) {
    EXPECT_TRUE(f.is_allowed(c, id));
    EXPECT_FALSE(f.is_allowed(c, suffix[0]));
    EXPECT_FALSE(f.is_allowed(c, f.eos));
    f.write(c, id);
  }
  EXPECT_FALSE(f.is_allowed(c, deepseek().encode(",")[0]));  // no other property
  f.write(c, deepseek().encode("}")[0]);
  EXPECT_TRUE(f.is_allowed(c, suffix[0]));
  EXPECT_FALSE(f.is_allowed(c, f.eos));  // the suffix comes first
  EXPECT_FALSE(c.complete());
  f.forced(c, suffix);
  EXPECT_TRUE(c.complete());
  EXPECT_EQ(f.allowed(c), std::vector<int32_t>{f.eos});
  c.accept(f.eos);
  EXPECT_FALSE(c.failed());

  ToolCallParser parser(ToolFormat::kDeepSeek);
  ToolCallParser::Output out = parser.push(deepseek().decode(f.written, /*skip_special_tokens=*/true));
  EXPECT_EQ(out.content + parser.finish().content, "");
  ASSERT_EQ(out.calls.size(), 1u);
  EXPECT_EQ(out.calls[0].name, "get_weather");
  EXPECT_EQ(out.calls[0].arguments, R"({"city": "Paris"})");
}

TEST(ToolConstraint, ReasoningThenTheForcedPrefix) {
  Fixture f;
  grammar::GrammarConstraint c = f.make(/*reasoning_first=*/true);
  const std::vector<int32_t> prefix = deepseek().encode(f.text.prefix);
  EXPECT_FALSE(f.is_allowed(c, f.eos));
  for (int32_t id : deepseek().encode("Let me think.</think")) f.write(c, id);
  EXPECT_TRUE(c.in_reasoning());
  // A token closing the tag must end with it: the prefix follows directly.
  int masked = 0, kept = 0;
  for (const grammar::VocabIndex::TagCompletion& t : index()->completing_tag(7)) {
    const bool bare = t.offset == index()->bytes(t.id).size();
    EXPECT_EQ(f.is_allowed(c, t.id), bare) << index()->bytes(t.id);
    (bare ? kept : masked) += 1;
  }
  EXPECT_GT(masked, 0);
  EXPECT_GT(kept, 0);
  f.write(c, deepseek().encode(">")[0]);
  EXPECT_FALSE(c.in_reasoning());
  f.forced(c, prefix);
  EXPECT_FALSE(c.failed());
}

TEST(ToolConstraint, AWrongTokenInTheMarkupFails) {
  Fixture f;
  grammar::GrammarConstraint c = f.make(/*reasoning_first=*/false);
  c.accept(deepseek().encode("Sure")[0]);
  EXPECT_TRUE(c.failed());
}

// "required" among several tools: the candidates run side by side until the name decides; then only that tool's
// schema and markup remain. "get" is a prefix of the other names.
TEST(ToolConstraint, RequiredAmongSeveralToolsFollowsTheChosenName) {
  Fixture f;
  const auto any_object = grammar::json_object_grammar();
  std::vector<ForcedCallSpec> specs;
  for (const char* name : {"get_weather", "get", "get_time"})
    specs.push_back(forced_call_spec(ToolFormat::kDeepSeek, deepseek(), name,
                                     std::string(name) == "get_time" ? f.schema : any_object));
  AnyCallConstraint c(specs, index(), {.stop_ids = {f.eos}});
  auto allowed = [&] {
    std::fill(f.logits.begin(), f.logits.end(), 1.0f);
    EXPECT_TRUE(c.mask(f.logits.data(), int64_t(f.logits.size())));
    std::vector<int32_t> ids;
    for (size_t i = 0; i < f.logits.size(); ++i)
      if (std::isfinite(f.logits[i])) ids.push_back(int32_t(i));
    return ids;
  };
  auto write = [&](int32_t id) {
    const std::vector<int32_t> a = allowed();
    EXPECT_NE(std::find(a.begin(), a.end(), id), a.end()) << id;
    c.accept(id);
    f.written.push_back(id);
  };
  EXPECT_EQ(allowed(), std::vector<int32_t>{deepseek().token_to_id("<｜tool▁calls▁begin｜>")});
  const std::vector<int32_t>& prefix = specs[2].prefix_ids;
  size_t common = 0;  // tokens all three prefixes share
  while (common < prefix.size() && specs[0].prefix_ids[common] == prefix[common] &&
         specs[1].prefix_ids[common] == prefix[common])
    ++common;
  for (size_t i = 0; i < common; ++i) write(prefix[i]);
  EXPECT_EQ(c.live(), 3u);
  EXPECT_GE(allowed().size(), 2u);  // the names part here
  for (size_t i = common; i < prefix.size(); ++i) write(prefix[i]);
  EXPECT_EQ(c.live(), 1u);
  for (int32_t id : deepseek().encode("{\"city\": \"Oslo\"")) write(id);
  const std::vector<int32_t> next = allowed();  // get_time's schema: no other property (any object would allow one)
  EXPECT_EQ(std::find(next.begin(), next.end(), deepseek().encode(",")[0]), next.end());
  write(deepseek().encode("}")[0]);
  for (int32_t id : specs[2].suffix_ids) write(id);
  EXPECT_EQ(allowed(), std::vector<int32_t>{f.eos});

  ToolCallParser parser(ToolFormat::kDeepSeek);
  ToolCallParser::Output out = parser.push(deepseek().decode(f.written, /*skip_special_tokens=*/true));
  ASSERT_EQ(out.calls.size(), 1u);
  EXPECT_EQ(out.calls[0].name, "get_time");
  EXPECT_EQ(out.calls[0].arguments, R"({"city": "Oslo"})");
}

// The forced text of each format around arguments reads back as exactly that call.
TEST(ToolConstraint, ForcedTextOfEachFormatParses) {
  for (ToolFormat format : {ToolFormat::kDeepSeek, ToolFormat::kQwen, ToolFormat::kLlama}) {
    const ForcedCall text = forced_call_text(format, "get_weather");
    ToolCallParser parser(format);
    ToolCallParser::Output out = parser.push(text.prefix + R"({"city":"Paris"})" + text.suffix);
    ToolCallParser::Output tail = parser.finish();
    out.calls.insert(out.calls.end(), tail.calls.begin(), tail.calls.end());
    EXPECT_EQ(out.content + tail.content, "") << tool_format_name(format);
    ASSERT_EQ(out.calls.size(), 1u) << tool_format_name(format);
    EXPECT_EQ(out.calls[0].name, "get_weather");
    EXPECT_EQ(out.calls[0].arguments, R"({"city":"Paris"})");
  }
}

}  // namespace
}  // namespace whale::server::tools

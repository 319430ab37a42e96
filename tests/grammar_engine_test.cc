// Constrained decoding in the engine. The seam: a TokenConstraint's mask shapes what is sampled and sees every
// sampled token, and a constraint that masks everything ends its request with an error. End to end: the server
// test model (random weights, DeepSeek-V3 vocabulary) decoding greedily and sampling with many seeds under a
// schema always writes JSON that, once complete, parses (nlohmann) and passes a validator written here for the
// schema (independent of the grammar compiler); json_object output is an object; a reasoning reply closes
// </think> and then writes the JSON.
#include <gtest/gtest.h>

#include <future>
#include <regex>

#include "engine/batch_engine.h"
#include "grammar/grammar_constraint.h"
#include "grammar/schema_compiler.h"
#include "model/model.h"
#include "server/text_stream.h"
#include "server_test_model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

using nlohmann::json;

// Allows one token id only, and records what the engine sampled.
class OnlyToken : public TokenConstraint {
 public:
  explicit OnlyToken(int32_t id) : id_(id) {}
  bool mask(float* logits, int64_t vocab) noexcept override {
    for (int64_t i = 0; i < vocab; ++i)
      if (i != id_) logits[i] = -INFINITY;
    return id_ >= 0;
  }
  void accept(int32_t id) noexcept override { seen.push_back(id); }
  std::vector<int32_t> seen;

 private:
  int32_t id_;
};

class GrammarEngine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::filesystem::path dir = testing::server_test_model_dir();
    model_ = Model::load(dir, *pool_).release();
    tokenizer_ = new Tokenizer(Tokenizer::load(dir));
    index_ = new std::shared_ptr<const grammar::VocabIndex>(std::make_shared<grammar::VocabIndex>(*tokenizer_));
  }
  static void TearDownTestSuite() {
    delete index_;
    delete tokenizer_;
    delete model_;
  }

  BatchEngine engine() const {
    return BatchEngine(*model_,
                       {.n_slots = 4, .ctx = testing::kServerTestCtx, .vocab_limit = tokenizer_->vocab_size()});
  }
  EngineRequest request(std::shared_ptr<const grammar::JsonGrammar> g, float temperature, uint64_t seed,
                        bool reasoning = false, std::vector<int32_t> prompt = {}) const {
    if (prompt.empty()) prompt = tokenizer_->encode("Reply in JSON:");
    const std::vector<int32_t> stops = {tokenizer_->eos_id()};
    return {.prompt = prompt,
            .sampling = {.temperature = temperature, .top_k = seed % 2 ? 0 : 50, .seed = seed},
            .max_new_tokens = testing::kServerTestCtx - int64_t(prompt.size()),
            .stop_ids = stops,
            .constraint = std::make_shared<grammar::GrammarConstraint>(
                g, *index_, grammar::ConstraintOptions{.stop_ids = stops, .reasoning_first = reasoning})};
  }
  std::string text(const Completion& c) const { return tokenizer_->decode(c.tokens, /*skip_special_tokens=*/true); }

  static inline std::unique_ptr<ThreadPool> pool_ = std::make_unique<ThreadPool>(2);
  static inline Model* model_ = nullptr;
  static inline Tokenizer* tokenizer_ = nullptr;
  static inline std::shared_ptr<const grammar::VocabIndex>* index_ = nullptr;
};

TEST_F(GrammarEngine, ConstraintMasksBeforeSamplingAndSeesEachToken) {
  BatchEngine e = engine();
  auto only = std::make_shared<OnlyToken>(1234);
  std::vector<Completion> out = e.generate_batch(
      {{.prompt = {5, 6}, .sampling = {.temperature = 1.0f, .seed = 3}, .max_new_tokens = 5, .constraint = only}});
  EXPECT_EQ(out[0].tokens, std::vector<int32_t>(5, 1234));
  EXPECT_EQ(only->seen, out[0].tokens);
}

TEST_F(GrammarEngine, ConstraintThatMasksEverythingEndsTheRequestWithAnError) {
  BatchEngine e = engine();
  std::promise<Completion> done;
  e.submit({.prompt = {5, 6}, .max_new_tokens = 5, .constraint = std::make_shared<OnlyToken>(-1)},
           {.on_done = [&](const Completion& c) { done.set_value(c); }});
  // Steps run on this thread until the other request is done; both sample from the first step on.
  const Completion other = e.generate_batch({{.prompt = {5, 7}, .max_new_tokens = 3}})[0];
  EXPECT_EQ(other.finish, FinishReason::kLength);  // not affected
  std::future<Completion> f = done.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  const Completion c = f.get();
  EXPECT_EQ(c.finish, FinishReason::kError);
  EXPECT_TRUE(c.tokens.empty());
  EXPECT_NE(c.error.find("constraint"), std::string::npos) << c.error;
}

// The validator of kPerson, written out by hand.
size_t code_points(const std::string& s) {
  return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (uint8_t(c) & 0xC0) != 0x80; }));
}

bool valid_date(const std::string& s) {
  std::smatch m;
  if (!std::regex_match(s, m, std::regex(R"((\d{4})-(\d{2})-(\d{2}))"))) return false;
  const int y = std::stoi(m[1]), mo = std::stoi(m[2]), d = std::stoi(m[3]);
  const int days[] = {31, (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                      31};
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days[mo - 1];
}

std::string person_errors(const json& j) {
  if (!j.is_object()) return "not an object";
  for (const char* key : {"name", "age", "ok"})
    if (!j.contains(key)) return fmt::format("'{}' missing", key);
  for (const auto& [key, v] : j.items()) {
    if (key == "name" && !(v.is_string() && code_points(v.get<std::string>()) <= 8))
      return "bad name";
    else if (key == "age" && !(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 120))
      return "bad age";
    else if (key == "ok" && !v.is_boolean())
      return "bad ok";
    else if (key == "tags") {
      if (!v.is_array() || v.size() > 3) return "bad tags";
      for (const json& t : v)
        if (t != "a" && t != "b" && t != "c") return "bad tag";
    } else if (key == "born" && !(v.is_null() || (v.is_string() && valid_date(v.get<std::string>()))))
      return "bad born";
    else if (key != "name" && key != "age" && key != "ok" && key != "tags" && key != "born")
      return "extra key " + key;
  }
  return "";
}

const char* kPerson = R"({"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 8},
    "age": {"type": "integer", "minimum": 0, "maximum": 120},
    "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3},
    "ok": {"type": "boolean"},
    "born": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]}},
  "required": ["name", "age", "ok"], "additionalProperties": false})";

TEST_F(GrammarEngine, RandomWeightsWriteValidJsonGreedyAndSampled) {
  const auto g = grammar::compile_json_schema(nlohmann::ordered_json::parse(kPerson));
  std::vector<EngineRequest> requests;
  requests.push_back(request(g, 0.0f, 0));
  for (uint64_t seed = 1; seed <= 15; ++seed) requests.push_back(request(g, 1.0f, seed));
  BatchEngine e = engine();
  const std::vector<Completion> out = e.generate_batch(requests);
  int complete = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string t = text(out[i]);
    auto* constraint = static_cast<grammar::GrammarConstraint*>(requests[i].constraint.get());
    EXPECT_FALSE(constraint->failed()) << t;
    if (out[i].finish != FinishReason::kStop) continue;  // counted below
    ++complete;
    EXPECT_EQ(out[i].tokens.back(), tokenizer_->eos_id());
    const json j = json::parse(t, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "request " << i << ": not JSON: " << t;
    EXPECT_EQ(person_errors(j), "") << "request " << i << ": " << t;
  }
  // Bounded values: every output finishes within the context (this is what makes random weights write JSON).
  EXPECT_EQ(complete, int(out.size()));
}

TEST_F(GrammarEngine, JsonObjectIsAnObject) {
  const auto g = grammar::json_object_grammar();
  std::vector<EngineRequest> requests;
  for (uint64_t seed = 0; seed < 8; ++seed) requests.push_back(request(g, seed == 0 ? 0.0f : 1.0f, seed));
  BatchEngine e = engine();
  for (const Completion& c : e.generate_batch(requests)) {
    const std::string t = text(c);
    EXPECT_EQ(t.find_first_not_of(" \n\t\r"), t.find('{')) << t;
    if (c.finish != FinishReason::kStop) continue;  // a long string or a deep value ran into the context
    const json j = json::parse(t, nullptr, false);
    EXPECT_TRUE(j.is_object()) << t;
  }
}

TEST_F(GrammarEngine, ReasoningThenJson) {
  const ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(tokenizer_->config(), "test tokenizer_config.json");
  const std::string prompt = tmpl.render(json::array({{{"role", "user"}, {"content", testing::kReasoningChat}}}), true);
  ASSERT_TRUE(server::ends_inside_think(prompt));
  const auto g = grammar::compile_json_schema(nlohmann::ordered_json::parse(kPerson));
  BatchEngine e = engine();
  EngineRequest r = request(g, 0.0f, 0, /*reasoning=*/true, tokenizer_->encode(prompt));
  const Completion c = e.generate_batch({r})[0];
  server::ReasoningSplitter splitter(true);
  server::ReasoningSplitter::Delta d = splitter.push(text(c));
  const server::ReasoningSplitter::Delta tail = splitter.finish();
  d.reasoning += tail.reasoning;
  d.content += tail.content;
  EXPECT_FALSE(d.reasoning.empty());
  ASSERT_EQ(c.finish, FinishReason::kStop) << text(c);
  const json j = json::parse(d.content, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << d.content;
  EXPECT_EQ(person_errors(j), "") << d.content;
}

}  // namespace
}  // namespace whale

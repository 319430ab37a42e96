// Request parsing (JSON → validated request, failure paths with status and param) and the streaming text
// filters (stop strings held back until they cannot match; <think> reasoning split), without a socket.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "server/fill_in_middle.h"
#include "server/request.h"
#include "server/server.h"
#include "server/text_stream.h"

namespace whale::server {
namespace {

const ServerLimits kLimits{.model_name = "tiny", .max_body_bytes = 4096, .max_n = 4};

struct Rejection {
  int status = 0;
  std::string param, code, message;
};

Rejection chat_rejection(const std::string& body) {
  try {
    parse_chat_request(body, kLimits);
  } catch (const HttpError& e) {
    return {e.status(), e.param(), e.code(), e.what()};
  }
  return {};
}

TEST(ServerRequest, ParsesChatWithDefaultsAndOptions) {
  ChatRequest r = parse_chat_request(R"({"model":"tiny","messages":[{"role":"system","content":"be brief"},
      {"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}]})", kLimits);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1]["content"], "hi there");
  EXPECT_EQ(r.gen.sampling.temperature, 1.0f);
  EXPECT_FALSE(r.gen.max_tokens);
  EXPECT_FALSE(r.gen.stream);
  EXPECT_EQ(r.gen.n, 1);

  r = parse_chat_request(R"({"messages":[{"role":"developer","content":"x"},{"role":"user","content":"y"}],
      "max_tokens":7,"temperature":0,"top_p":0.5,"seed":3,"stop":"END","n":2,"stream":true,
      "stream_options":{"include_usage":true}})", kLimits);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(*r.gen.max_tokens, 7);
  EXPECT_EQ(r.gen.sampling.temperature, 0.0f);
  EXPECT_EQ(r.gen.sampling.top_p, 0.5f);
  EXPECT_TRUE(r.gen.seeded);
  EXPECT_EQ(r.gen.sampling.seed, 3u);
  EXPECT_EQ(r.gen.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.gen.n, 2);
  EXPECT_TRUE(r.gen.stream && r.gen.include_usage);
  // max_completion_tokens (newer name) wins over max_tokens; 5.0 counts as an integer.
  r = parse_chat_request(R"({"messages":[{"role":"user","content":"y"}],"max_tokens":9,"max_completion_tokens":5.0})",
                         kLimits);
  EXPECT_EQ(*r.gen.max_tokens, 5);
}

TEST(ServerRequest, RejectsMalformedBodies) {
  EXPECT_EQ(chat_rejection("{not json").code, "invalid_json");
  EXPECT_EQ(chat_rejection("[1,2]").code, "invalid_json");
  EXPECT_EQ(chat_rejection("").status, 400);
  Rejection big = chat_rejection(std::string(5000, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.message.find("4096"), std::string::npos);
}

TEST(ServerRequest, RejectsWrongTypesNamingTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({})", "messages"},
      {R"({"messages":"hi"})", "messages"},
      {R"({"messages":[]})", "messages"},
      {R"({"messages":[1]})", "messages[0]"},
      {R"({"messages":[{"content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"wizard","content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"user"}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":"x"}],"model":7})", "model"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":3})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_p":0})", "top_p"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2.5})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_completion_tokens":"9"})", "max_completion_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":0})", "n"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":5})", "n"},
      {R"({"messages":[{"role":"user","content":"x"}],"seed":"s"})", "seed"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream_options":true})", "stream_options"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}})", "include_usage"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":""})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"logprobs":1})", "logprobs"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})", "top_logprobs"},
      {R"({"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21})", "top_logprobs"},
      {R"({"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":-1})", "top_logprobs"},
  };
  for (const Case& c : cases) {
    Rejection r = chat_rejection(c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(r.param, c.param) << c.body << " → " << r.message;
    EXPECT_NE(r.message.find(c.param), std::string::npos) << r.message;
  }
}

// Parameters chat does not take (the deprecated function forms, the completions-only ones) are refused when they
// would change the answer, and accepted at their neutral values (what clients such as LangChain send by default);
// never silently ignored.
TEST(ServerRequest, UnsupportedParametersAreRefusedUnlessNeutral) {
  const std::string base = R"({"messages":[{"role":"user","content":"x"}],)";
  const std::pair<const char*, const char*> refused[] = {
      {R"("functions":[{"name":"f"}])", "functions"},
      {R"("function_call":{"name":"f"})", "function_call"},
      {R"("echo":true)", "echo"},
      {R"("suffix":"end")", "suffix"}, {R"("best_of":3)", "best_of"}};
  for (const auto& [field, param] : refused) {
    Rejection r = chat_rejection(base + field + "}");
    EXPECT_EQ(r.status, 400) << field;
    EXPECT_EQ(r.param, param) << field;
    EXPECT_EQ(r.code, "unsupported_parameter") << field;
  }
  const char* neutral = R"({"messages":[{"role":"user","content":"x"}],"frequency_penalty":0,"presence_penalty":0,
    "repetition_penalty":1,"logit_bias":{},"tools":[],"tool_choice":"none","response_format":{"type":"text"},
    "echo":false,"suffix":"","best_of":1,"user":"u-1","min_p":0.05})";
  ChatRequest c = parse_chat_request(neutral, kLimits);
  EXPECT_FLOAT_EQ(c.gen.sampling.min_p, 0.05f);
  EXPECT_FALSE(c.gen.adjust.active());
  EXPECT_EQ(chat_rejection(base + R"("min_p":1.5})").param, "min_p");
}

TEST(ServerRequest, PenaltiesAndLogitBias) {
  const std::string base = R"({"messages":[{"role":"user","content":"x"}],)";
  const ChatRequest c = parse_chat_request(
      base + R"("frequency_penalty":0.5,"presence_penalty":-1,"repetition_penalty":1.1,"logit_bias":{"5":10,"7":-100}})",
      kLimits);
  EXPECT_FLOAT_EQ(c.gen.adjust.frequency_penalty, 0.5f);
  EXPECT_FLOAT_EQ(c.gen.adjust.presence_penalty, -1.0f);
  EXPECT_FLOAT_EQ(c.gen.adjust.repetition_penalty, 1.1f);
  EXPECT_EQ(c.gen.adjust.logit_bias, (std::vector<std::pair<int32_t, float>>{{5, 10.0f}, {7, -100.0f}}));
  const std::pair<const char*, const char*> bad[] = {
      {R"("frequency_penalty":2.5})", "frequency_penalty"}, {R"("presence_penalty":"x"})", "presence_penalty"},
      {R"("repetition_penalty":0})", "repetition_penalty"}, {R"("logit_bias":[1]})", "logit_bias"},
      {R"("logit_bias":{"a":1}})", "logit_bias"},           {R"("logit_bias":{"-3":1}})", "logit_bias"},
      {R"("logit_bias":{"5":101}})", "logit_bias"},         {R"("logit_bias":{"5":"up"}})", "logit_bias"}};
  for (const auto& [field, param] : bad) {
    const Rejection r = chat_rejection(base + field);
    EXPECT_EQ(r.status, 400) << field;
    EXPECT_EQ(r.param, param) << field;
  }
}

// Function calling: tools and tool_choice are read, a named function (or each tool, for "required") gets its arguments
// grammar, the history may hold assistant tool_calls with content null and tool results, and each malformed piece is
// a 400 naming its field.
TEST(ServerRequest, ToolsAndToolHistory) {
  ChatRequest r = parse_chat_request(R"({"messages":[{"role":"user","content":"Weather?"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
        "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21}"},
      {"role":"assistant","content":"It is 21."}],
    "tools":[{"type":"function","function":{"name":"get_weather","description":"d","strict":true,
      "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
    "tool_choice":"auto","parallel_tool_calls":false})",
                                     kLimits);
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_TRUE(r.messages[1]["content"].is_null());
  EXPECT_EQ(r.messages[1]["tool_calls"][0]["function"]["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(r.messages[2]["tool_call_id"], "call_1");
  EXPECT_EQ(r.messages[3]["content"], "It is 21.");
  EXPECT_FALSE(r.messages[3].contains("tool_calls"));
  EXPECT_EQ(r.tools.tools.size(), 1u);
  EXPECT_EQ(r.tools.choice, tools::ToolRequest::Choice::kAuto);
  EXPECT_FALSE(r.tools.parallel);
  EXPECT_TRUE(r.tools.parse_calls());
  // Without tools, or with tool_choice none, the output is not parsed for calls.
  EXPECT_FALSE(parse_chat_request(R"({"messages":[{"role":"user","content":"x"}]})", kLimits).tools.parse_calls());
  r = parse_chat_request(R"({"messages":[{"role":"user","content":"x"}],"tool_choice":"none",
      "tools":[{"type":"function","function":{"name":"f"}}]})",
                         kLimits);
  EXPECT_EQ(r.tools.choice, tools::ToolRequest::Choice::kNone);
  EXPECT_FALSE(r.tools.parse_calls());
  EXPECT_TRUE(r.tools.forced.empty());
  // A named function, or "required": one call of it (of them) is forced, its arguments compiled from its schema.
  const std::string two_tools = R"("tools":[{"type":"function","function":{"name":"f"}},
      {"type":"function","function":{"name":"g",
        "parameters":{"type":"object","properties":{"n":{"type":"integer"}}}}}])";
  r = parse_chat_request(R"({"messages":[{"role":"user","content":"x"}],)" + two_tools +
                             R"(,"tool_choice":{"type":"function","function":{"name":"g"}}})",
                         kLimits);
  EXPECT_EQ(r.tools.choice, tools::ToolRequest::Choice::kNamed);
  EXPECT_EQ(r.tools.named, "g");
  ASSERT_EQ(r.tools.forced.size(), 1u);
  EXPECT_EQ(r.tools.forced[0].name, "g");
  EXPECT_TRUE(r.tools.forced[0].arguments);
  r = parse_chat_request(
      R"({"messages":[{"role":"user","content":"x"}],)" + two_tools + R"(,"tool_choice":"required"})", kLimits);
  ASSERT_EQ(r.tools.forced.size(), 2u);
  EXPECT_EQ(r.tools.forced[0].name, "f");
  EXPECT_EQ(r.tools.forced[1].name, "g");
  EXPECT_TRUE(r.tools.forced[0].arguments);  // no parameters: any object
  Rejection schema = chat_rejection(
      R"({"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"f"}},
      "tools":[{"type":"function","function":{"name":"f",
        "parameters":{"type":"object","patternProperties":{"a":{}}}}}]})");
  EXPECT_EQ(schema.status, 400);
  EXPECT_EQ(schema.param, "tools[0].function.parameters");
  EXPECT_NE(schema.message.find("patternProperties"), std::string::npos) << schema.message;

  const std::string user = R"({"role":"user","content":"x"})";
  const std::pair<std::string, std::string> rejected[] = {
      {R"("tools":{})", "tools"},
      {R"("tools":[5])", "tools[0]"},
      {R"("tools":[{"type":"retrieval","function":{"name":"f"}}])", "tools[0].type"},
      {R"("tools":[{"type":"function"}])", "tools[0].function"},
      {R"("tools":[{"type":"function","function":{"name":"no spaces"}}])", "tools[0].function.name"},
      {R"("tools":[{"type":"function","function":{"name":"f","parameters":"{}"}}])", "tools[0].function.parameters"},
      {R"("tools":[{"type":"function","function":{"name":"f","description":1}}])", "tools[0].function.description"},
      {R"("tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}])",
       "tools[1].function.name"},
      {R"("tool_choice":"sometimes")", "tool_choice"},
      {R"("tool_choice":"required")", "tool_choice"},  // no tools to require
      {R"("tools":[{"type":"function","function":{"name":"f"}}],
          "tool_choice":{"type":"function","function":{"name":"g"}})",
       "tool_choice"},
      {R"("parallel_tool_calls":"yes")", "parallel_tool_calls"},
  };
  for (const auto& [field, param] : rejected) {
    Rejection e = chat_rejection(R"({"messages":[)" + user + "]," + field + "}");
    EXPECT_EQ(e.status, 400) << field;
    EXPECT_EQ(e.param, param) << field << " → " << e.message;
    EXPECT_EQ(e.code, "invalid_value") << field;
  }
  const std::pair<std::string, std::string> bad_history[] = {
      {R"({"role":"assistant"})", "messages[1].content"},
      {R"({"role":"assistant","content":null,"tool_calls":{}})", "messages[1].tool_calls"},
      {R"({"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]})",
       "messages[1].tool_calls[0].id"},
      {R"({"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]})",
       "messages[1].tool_calls[0].function.arguments"},
      {R"({"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]})",
       "messages[1].tool_calls[0].function.name"},
      {R"({"role":"tool","content":"42"})", "messages[1].tool_call_id"},
      {R"({"role":"tool","tool_call_id":"c"})", "messages[1].content"},
      {R"({"role":"user","content":null,"tool_calls":[]})", "messages[1].content"},  // only assistants call
  };
  for (const auto& [message, param] : bad_history) {
    Rejection e = chat_rejection(R"({"messages":[)" + user + "," + message + "]}");
    EXPECT_EQ(e.status, 400) << message;
    EXPECT_EQ(e.param, param) << message << " → " << e.message;
  }
}

// response_format: text is free text; json_object and json_schema compile into the grammar the output follows; a
// schema the grammar cannot represent is a 400 invalid_value on response_format that names the keyword.
TEST(ServerRequest, ResponseFormat) {
  const std::string base = R"({"messages":[{"role":"user","content":"x"}],"response_format":)";
  EXPECT_FALSE(parse_chat_request(base + R"({"type":"text"}})", kLimits).gen.response_format);
  EXPECT_FALSE(parse_chat_request(R"({"messages":[{"role":"user","content":"x"}]})", kLimits).gen.response_format);
  EXPECT_TRUE(parse_chat_request(base + R"({"type":"json_object"}})", kLimits).gen.response_format);
  const std::string schema = R"({"type":"json_schema","json_schema":{"name":"person-1","strict":true,"schema":
      {"type":"object","properties":{"b":{"type":"integer"},"a":{"type":"string"}},"required":["b","a"],
       "additionalProperties":false}}})";
  ChatRequest r = parse_chat_request(base + schema + "}", kLimits);
  ASSERT_TRUE(r.gen.response_format);
  // Properties keep the schema's order ("b" before "a"), although the body's parse sorts keys.
  const grammar::JsonGrammar& g = *r.gen.response_format;
  ASSERT_EQ(g.objects.at(g.nodes.at(g.root).spec).properties.size(), 2u);
  EXPECT_EQ(g.objects[g.nodes[g.root].spec].properties[0].key, "b");
  const std::string completion = R"({"prompt":"x","response_format":{"type":"json_object"}})";
  EXPECT_TRUE(parse_completion_request(completion, kLimits).gen.response_format);

  const std::pair<std::string, std::string> refused[] = {
      {R"({"type":"json_schema","json_schema":{"name":"p","schema":{"type":"string","pattern":"^a"}}})",
       "response_format: JSON schema keyword 'pattern' is not supported"},
      {R"({"type":"json_schema","json_schema":{"name":"p","schema":{"type":"number","minimum":1}}})",
       "keyword 'minimum' for type 'number'"},
      {R"({"type":"json_schema","json_schema":{"name":"p","schema":{"type":"string","format":"hostname"}}})",
       "keyword 'format' 'hostname'"},
      {R"({"type":"json_schema","json_schema":{"name":"p","schema":{"$ref":"#/$defs/none"}}})", "does not resolve"},
      {R"({"type":"json_schema","json_schema":{"name":"p"}})", "'response_format.json_schema.schema' is required"},
      {R"({"type":"json_schema","json_schema":{"name":"a b","schema":{}}})", "'response_format.json_schema.name'"},
      {R"({"type":"json_schema","json_schema":{"name":"p","strict":"yes","schema":{}}})", "strict"},
      {R"({"type":"json_schema"})", "'response_format.json_schema' must be an object"},
      {R"({"type":"yaml"})", "'response_format.type' must be"},
      {R"("json")", "'response_format' must be an object"},
  };
  for (const auto& [format, message] : refused) {
    Rejection rej = chat_rejection(base + format + "}");
    EXPECT_EQ(rej.status, 400) << format;
    EXPECT_EQ(rej.param, "response_format") << format;
    EXPECT_EQ(rej.code, "invalid_value") << format;
    EXPECT_NE(rej.message.find(message), std::string::npos) << format << " → " << rej.message;
  }
}

TEST(ServerRequest, UnknownModelIs404) {
  Rejection r = chat_rejection(R"({"model":"gpt-4","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.code, "model_not_found");
  EXPECT_NE(r.message.find("gpt-4"), std::string::npos);
}

TEST(ServerRequest, LogprobsFieldsOfBothEndpoints) {
  const std::string messages = R"("messages":[{"role":"user","content":"x"}])";
  auto chat = [&](const std::string& fields) { return parse_chat_request("{" + messages + fields + "}", kLimits); };
  EXPECT_EQ(chat("").gen.logprobs, -1);
  EXPECT_EQ(chat(R"(,"logprobs":false)").gen.logprobs, -1);
  EXPECT_EQ(chat(R"(,"logprobs":true)").gen.logprobs, 0);
  EXPECT_EQ(chat(R"(,"logprobs":true,"top_logprobs":20)").gen.logprobs, 20);
  // Completions: logprobs is the count itself.
  EXPECT_EQ(parse_completion_request(R"({"prompt":"a"})", kLimits).gen.logprobs, -1);
  EXPECT_EQ(parse_completion_request(R"({"prompt":"a","logprobs":0})", kLimits).gen.logprobs, 0);
  EXPECT_EQ(parse_completion_request(R"({"prompt":"a","logprobs":5})", kLimits).gen.logprobs, 5);
  for (const char* body : {R"({"prompt":"a","logprobs":true})", R"({"prompt":"a","logprobs":21})"}) {
    try {
      parse_completion_request(body, kLimits);
      ADD_FAILURE() << body;
    } catch (const HttpError& e) {
      EXPECT_EQ(e.param(), "logprobs") << body;
    }
  }
}

TEST(ServerRequest, ParsesTextCompletions) {
  CompletionRequest one = parse_completion_request(R"({"prompt":"abc","max_tokens":3})", kLimits);
  ASSERT_EQ(one.prompts.size(), 1u);
  EXPECT_EQ(one.prompts[0].text, "abc");
  EXPECT_FALSE(one.prompts[0].ids);
  EXPECT_FALSE(one.echo);
  EXPECT_FALSE(one.suffix);
  EXPECT_EQ(one.best_of, 1);
  // Token ids, one prompt or several; several strings.
  CompletionRequest ids = parse_completion_request(R"({"prompt":[5,0,7]})", kLimits);
  ASSERT_EQ(ids.prompts.size(), 1u);
  EXPECT_EQ(ids.prompts[0].ids, (std::vector<int32_t>{5, 0, 7}));
  CompletionRequest lists = parse_completion_request(R"({"prompt":[[1,2],[3]],"n":2})", kLimits);
  ASSERT_EQ(lists.prompts.size(), 2u);
  EXPECT_EQ(lists.prompts[1].ids, (std::vector<int32_t>{3}));
  CompletionRequest texts = parse_completion_request(R"({"prompt":["a","b","c"]})", kLimits);
  ASSERT_EQ(texts.prompts.size(), 3u);
  EXPECT_EQ(texts.prompts[2].text, "c");
  CompletionRequest fim = parse_completion_request(
      R"({"prompt":"def f(","suffix":"return x","echo":true,"best_of":3,"n":2})", kLimits);
  EXPECT_EQ(fim.suffix, "return x");
  EXPECT_TRUE(fim.echo);
  EXPECT_EQ(fim.best_of, 3);
  EXPECT_FALSE(parse_completion_request(R"({"prompt":"a","suffix":""})", kLimits).suffix);
  const std::pair<const char*, const char*> refused[] = {
      {R"({})", "prompt"},
      {R"({"prompt":""})", "prompt"},
      {R"({"prompt":[]})", "prompt"},
      {R"({"prompt":[1,"a"]})", "prompt"},
      {R"({"prompt":[-1]})", "prompt"},
      {R"({"prompt":[1.5]})", "prompt"},
      {R"({"prompt":[[]]})", "prompt"},
      {R"({"prompt":["a",""]})", "prompt"},
      {R"({"prompt":["a",[1],{"x":1}]})", "prompt"},
      {R"({"prompt":{"a":1}})", "prompt"},
      {R"({"prompt":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]})", "prompt"},
      {R"({"prompt":["a","b","c"],"best_of":2})", "prompt"},  // 6 generations > max_n 4
      {R"({"prompt":"a","echo":1})", "echo"},
      {R"({"prompt":"a","echo":true,"logprobs":2})", "echo"},
      {R"({"prompt":"a","suffix":3})", "suffix"},
      {R"({"prompt":"a","n":3,"best_of":2})", "best_of"},
      {R"({"prompt":"a","best_of":17})", "best_of"},
      {R"({"prompt":"a","best_of":2,"stream":true})", "best_of"},
      {R"({"prompt":"a","functions":[{"name":"f"}]})", "functions"},
  };
  for (const auto& [body, param] : refused) {
    try {
      parse_completion_request(body, kLimits);
      ADD_FAILURE() << body;
    } catch (const HttpError& e) {
      EXPECT_EQ(e.status(), 400) << body;
      EXPECT_EQ(e.param(), param) << body << " → " << e.what();
    }
  }
}

// DeepSeek's prefix completion: the last assistant message with "prefix": true leaves the messages and becomes the
// start of the reply.
TEST(ServerRequest, AssistantPrefixIsTheLastMessageOnly) {
  ChatRequest r = parse_chat_request(
      R"({"messages":[{"role":"user","content":"Write code"},{"role":"assistant","content":"```python\n","prefix":true}]})",
      kLimits);
  EXPECT_EQ(r.assistant_prefix, "```python\n");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0]["role"], "user");
  EXPECT_FALSE(parse_chat_request(
                   R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","prefix":false}]})",
                   kLimits)
                   .assistant_prefix);
  for (const char* body : {
           R"({"messages":[{"role":"user","content":"a","prefix":true}]})",
           R"({"messages":[{"role":"assistant","content":"a","prefix":true}]})",
           R"({"messages":[{"role":"assistant","content":"a","prefix":true},{"role":"user","content":"b"}]})",
           R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","prefix":"yes"}]})",
       }) {
    Rejection rej = chat_rejection(body);
    EXPECT_EQ(rej.status, 400) << body;
    EXPECT_NE(rej.param.find("prefix"), std::string::npos) << body << " → " << rej.param;
  }
}

TEST(ServerRequest, AliasesNameTheServedModel) {
  ServerLimits limits = kLimits;
  limits.aliases = {"gpt-4o-mini", "deepseek-chat"};
  const std::string messages = R"("messages":[{"role":"user","content":"x"}])";
  for (const char* name : {"deepseek-chat", "gpt-4o-mini"})
    EXPECT_NO_THROW(parse_chat_request(fmt::format(R"({{"model":"{}",{}}})", name, messages), limits)) << name;
  try {
    parse_completion_request(R"({"model":"gpt-4","prompt":"a"})", limits);
    ADD_FAILURE();
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 404);
  }
}

TEST(ServerRequest, ErrorJsonHasOpenAiShape) {
  nlohmann::json j = error_json(HttpError(400, "bad", "n", "invalid_value"));
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "n");
  EXPECT_EQ(j["error"]["code"], "invalid_value");
  j = error_json(HttpError(500, "boom", "", "", "server_error"));
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_TRUE(j["error"]["code"].is_null());
}

TEST(ServerAuth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("sk-abc", "sk-abc"));
  EXPECT_FALSE(constant_time_equal("sk-abd", "sk-abc"));
  EXPECT_FALSE(constant_time_equal("sk-ab", "sk-abc"));
  EXPECT_FALSE(constant_time_equal("sk-abcsk-abc", "sk-abc"));
  EXPECT_FALSE(constant_time_equal("", "sk-abc"));
  EXPECT_FALSE(constant_time_equal("x", ""));
}

// Feeds `pieces` one at a time and returns what came out, joined with '|' between non-empty outputs.
std::string stream_stop(const std::vector<std::string>& stops, const std::vector<std::string>& pieces, bool* stopped) {
  StopFilter f(stops);
  std::string out;
  for (const std::string& p : pieces) {
    std::string o = f.push(p);
    if (!o.empty()) out += (out.empty() ? "" : "|") + o;
  }
  std::string tail = f.finish();
  if (!tail.empty()) out += (out.empty() ? "" : "|") + tail;
  *stopped = f.stopped();
  return out;
}

TEST(ServerTextStream, StopStringsAreHeldBackUntilTheyCannotMatch) {
  bool stopped = false;
  // "EN" could start "END": held, then released when "X" follows.
  EXPECT_EQ(stream_stop({"END"}, {"ab", "EN", "X", "cd"}, &stopped), "ab|ENX|cd");
  EXPECT_FALSE(stopped);
  // A stop string split over pieces cuts the output before it.
  EXPECT_EQ(stream_stop({"END"}, {"ab", "E", "N", "Dtail", "more"}, &stopped), "ab");
  EXPECT_TRUE(stopped);
  // The earliest of several stop strings wins; held text is flushed at the end when nothing matched.
  EXPECT_EQ(stream_stop({"xyz", "b"}, {"aab xyz"}, &stopped), "aa");
  EXPECT_EQ(stream_stop({"xyz"}, {"a", "xy"}, &stopped), "a|xy");
  EXPECT_FALSE(stopped);
  EXPECT_EQ(partial_suffix("abcEN", "END"), 2u);
  EXPECT_EQ(partial_suffix("abc", "END"), 0u);
  EXPECT_EQ(partial_suffix("END", "END"), 0u);  // a complete match is not partial
}

ReasoningSplitter::Delta split_all(bool in_reasoning, const std::vector<std::string>& pieces) {
  ReasoningSplitter s(in_reasoning);
  ReasoningSplitter::Delta all;
  for (const std::string& p : pieces) {
    auto d = s.push(p);
    all.reasoning += d.reasoning;
    all.content += d.content;
  }
  auto d = s.finish();
  all.reasoning += d.reasoning;
  all.content += d.content;
  return all;
}

TEST(ServerTextStream, ReasoningSplit) {
  // R1 prompt ends in "<think>\n": the output starts inside the reasoning; the tag may arrive in pieces.
  auto d = split_all(true, {"I think", " so.</th", "ink>\n\n", "Answer", " 42"});
  EXPECT_EQ(d.reasoning, "I think so.");
  EXPECT_EQ(d.content, "Answer 42");
  // The model opens <think> itself (after whitespace).
  d = split_all(false, {"\n<th", "ink>why</think>", "because"});
  EXPECT_EQ(d.reasoning, "why");
  EXPECT_EQ(d.content, "because");
  // No reasoning at all: everything is content, a '<' that is not <think> included.
  d = split_all(false, {"<b>", "bold"});
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "<b>bold");
  // Cut off inside the reasoning (length): what came is reasoning, a partial tag included.
  d = split_all(true, {"still thinking </thi"});
  EXPECT_EQ(d.reasoning, "still thinking </thi");
  EXPECT_EQ(d.content, "");
}

}  // namespace
}  // namespace whale::server

namespace whale::server {
namespace {

// Fill in the middle: DeepSeek's layout with its FIM tokens; a vocabulary without FIM tokens is a 400 on suffix.
TEST(FillInMiddle, PrefixSuffixMiddleWithTheVocabularysTokens) {
  const std::string fixtures = WHALE_FIXTURES_DIR;
  const Tokenizer ds = Tokenizer::load(fixtures + "/tokenizer/deepseek-v3");
  const std::vector<int32_t> ids = fill_in_middle_prompt(ds, "def f(x):\n", "\n    return y");
  std::vector<int32_t> expected = {ds.bos_id(), ds.token_to_id("<｜fim▁begin｜>")};
  for (int32_t id : ds.encode("def f(x):\n")) expected.push_back(id);
  expected.push_back(ds.token_to_id("<｜fim▁hole｜>"));
  for (int32_t id : ds.encode("\n    return y")) expected.push_back(id);
  expected.push_back(ds.token_to_id("<｜fim▁end｜>"));
  EXPECT_EQ(ids, expected);
  EXPECT_GE(*std::min_element(expected.begin(), expected.end()), 0);  // each FIM token is in the vocabulary
  const Tokenizer qwen = Tokenizer::load(fixtures + "/gguf/qwen2/source");  // a trimmed vocabulary: no FIM tokens
  try {
    fill_in_middle_prompt(qwen, "a", "b");
    ADD_FAILURE() << "no FIM tokens: expected a 400";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), "suffix");
  }
}

}  // namespace
}  // namespace whale::server

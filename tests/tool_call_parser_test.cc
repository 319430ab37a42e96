// The tool-call parser (server/tools/tool_call_parser.h) on exact model outputs in each template's format: whole,
// pushed in two pieces at every split point and byte by byte (the stream must parse the same calls and content), and
// malformed calls, which come back as content.
#include "server/tools/tool_call_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace whale::server::tools {
namespace {

struct Parsed {
  std::string content;
  std::vector<ToolCall> calls;
};

void append(Parsed& p, ToolCallParser::Output o) {
  p.content += o.content;
  p.calls.insert(p.calls.end(), o.calls.begin(), o.calls.end());
}

// Pushes `pieces` in order, then finishes.
Parsed parse(ToolFormat format, const std::vector<std::string>& pieces, size_t max_calls = 100) {
  ToolCallParser parser(format, max_calls);
  Parsed p;
  for (const std::string& s : pieces) append(p, parser.push(s));
  append(p, parser.finish());
  return p;
}

struct Call {
  std::string name, arguments;
};

void expect_parsed(const Parsed& p, const std::string& content, const std::vector<Call>& calls,
                   const std::string& how) {
  EXPECT_EQ(p.content, content) << how;
  ASSERT_EQ(p.calls.size(), calls.size()) << how;
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(p.calls[i].index, int64_t(i)) << how;
    EXPECT_EQ(p.calls[i].name, calls[i].name) << how;
    EXPECT_EQ(p.calls[i].arguments, calls[i].arguments) << how;
    EXPECT_TRUE(p.calls[i].id.empty()) << how;  // the job gives ids
  }
}

// Whole, at every split point, and one byte at a time.
void expect_everywhere(ToolFormat format, const std::string& text, const std::string& content,
                       const std::vector<Call>& calls, size_t max_calls = 100) {
  expect_parsed(parse(format, {text}, max_calls), content, calls, "whole: " + text);
  for (size_t i = 0; i <= text.size(); ++i)
    expect_parsed(parse(format, {text.substr(0, i), text.substr(i)}, max_calls), content, calls,
                  "split at " + std::to_string(i) + ": " + text);
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  expect_parsed(parse(format, bytes, max_calls), content, calls, "bytewise: " + text);
}

const std::string kWeatherCall =
    "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>";
const std::string kTimeCall =
    "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"tz\": \"CET\"}\n```<｜tool▁call▁end｜>";

TEST(ToolCallParser, DeepSeekCalls) {
  expect_everywhere(ToolFormat::kDeepSeek,
                    "Let me check.<｜tool▁calls▁begin｜>" + kWeatherCall + "\n" + kTimeCall + "<｜tool▁calls▁end｜>",
                    "Let me check.", {{"get_weather", R"({"city": "Paris"})"}, {"get_time", R"({"tz": "CET"})"}});
  // DeepSeek's own template leaves <｜tool▁calls▁end｜> out after a single call: the output may end without it.
  expect_everywhere(ToolFormat::kDeepSeek, "<｜tool▁calls▁begin｜>" + kWeatherCall + "\n", "",
                    {{"get_weather", R"({"city": "Paris"})"}});
  // V3.1's body: NAME<｜tool▁sep｜>ARGS.
  expect_everywhere(
      ToolFormat::kDeepSeek,
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>", "",
      {{"get_time", "{}"}});
  // Text after the section is content again.
  expect_everywhere(ToolFormat::kDeepSeek, "<｜tool▁calls▁begin｜>" + kTimeCall + "<｜tool▁calls▁end｜>\nDone.",
                    "Done.", {{"get_time", R"({"tz": "CET"})"}});
  // parallel_tool_calls false: the first call only.
  expect_everywhere(ToolFormat::kDeepSeek,
                    "<｜tool▁calls▁begin｜>" + kWeatherCall + "\n" + kTimeCall + "<｜tool▁calls▁end｜>", "",
                    {{"get_weather", R"({"city": "Paris"})"}}, /*max_calls=*/1);
}

TEST(ToolCallParser, DeepSeekMalformedCallsAreContent) {
  const std::vector<std::string> malformed = {
      // arguments that are not JSON
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{oops\n```<｜tool▁call▁end｜>",
      // arguments that are JSON but not an object
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n[1]\n```<｜tool▁call▁end｜>",
      // no fence, no separator, a name with a space
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n{}<｜tool▁call▁end｜>",
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function f {}<｜tool▁call▁end｜>",
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get "
      "weather\n```json\n{}\n```<｜tool▁call▁end｜>",
      // never closed
      "Sure<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{\"a\": 1}",
      // text inside the section that is no call
      "<｜tool▁calls▁begin｜>hello",
      // no markers at all, but near misses
      "a < b <｜tool and <tool_call> {\"name\": \"f\"}",
  };
  for (const std::string& text : malformed) expect_everywhere(ToolFormat::kDeepSeek, text, text, {});
  // A good call then a bad one: the good one stays a call, the rest is content.
  const std::string bad = "\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>g\n```json\n{\n```<｜tool▁call▁end｜>";
  expect_everywhere(ToolFormat::kDeepSeek, "<｜tool▁calls▁begin｜>" + kTimeCall + bad, bad,
                    {{"get_time", R"({"tz": "CET"})"}});
}

TEST(ToolCallParser, ContentBeforeACallStreamsAtOnce) {
  ToolCallParser parser(ToolFormat::kDeepSeek);
  EXPECT_EQ(parser.push("It is <").content, "It is ");  // "<" could begin the marker
  EXPECT_EQ(parser.push("b> bold <｜tool▁calls").content, "<b> bold ");
  ToolCallParser::Output o = parser.push("▁begin｜>" + kTimeCall.substr(0, 20));
  EXPECT_EQ(o.content, "");
  EXPECT_TRUE(o.calls.empty());
  o = parser.push(kTimeCall.substr(20));
  ASSERT_EQ(o.calls.size(), 1u);  // out as soon as its end marker is there
  EXPECT_EQ(o.calls[0].name, "get_time");
  EXPECT_EQ(parser.finish().content, "");
  EXPECT_EQ(parser.calls(), 1u);
}

TEST(ToolCallParser, QwenCalls) {
  expect_everywhere(ToolFormat::kQwen,
                    "I'll look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                    "</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>",
                    "I'll look.\n", {{"get_weather", R"({"city":"Paris"})"}, {"get_time", "{}"}});
  // arguments as a string holding an object
  expect_everywhere(ToolFormat::kQwen, "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>",
                    "", {{"f", R"({"a": 1})"}});
  for (const std::string& text :
       {std::string("<tool_call>\n{\"name\": 5, \"arguments\": {}}\n</tool_call>"),
        std::string("<tool_call>\n{\"name\": \"f\"}\n</tool_call>"),
        std::string("<tool_call>\n{\"name\": \"f\", \"arguments\": [1]}\n</tool_call>"),
        std::string("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}"), std::string("x <tool_ca")})
    expect_everywhere(ToolFormat::kQwen, text, text, {});
}

TEST(ToolCallParser, LlamaCalls) {
  expect_everywhere(ToolFormat::kLlama, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "",
                    {{"get_weather", R"({"city":"Paris"})"}});
  expect_everywhere(ToolFormat::kLlama, "<|python_tag|>{\"name\": \"f\", \"parameters\": {}}", "", {{"f", "{}"}});
  for (const std::string& text :
       {std::string("The answer is {1}"), std::string("{not json"), std::string(" {\"name\": \"f\"}"),
        std::string("Call: {\"name\": \"f\", \"parameters\": {}}")})
    expect_everywhere(ToolFormat::kLlama, text, text, {});
}

}  // namespace
}  // namespace whale::server::tools

// Tool calls through real chat templates: each template's call format is detected by rendering (tools/tool_format.h),
// and an OpenAI-shaped tool history, parsed as the server parses requests, renders through the real DeepSeek-V3 and
// Qwen2.5 templates into the exact text each template's logic writes (derived by hand below).
#include "server/tools/tool_format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "server/request.h"
#include "tokenizer/chat_template.h"

namespace whale::server::tools {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ChatTemplate hub_template(const std::string& name, const std::string& bos, const std::string& eos) {
  return ChatTemplate::from_string(
      read_file(std::filesystem::path(__FILE__).parent_path() / "data/chat_templates" / name), bos, eos);
}

ChatTemplate deepseek_v3() {
  return ChatTemplate::from_tokenizer_config(
      nlohmann::json::parse(read_file(WHALE_FIXTURES_DIR "/tokenizer/deepseek-v3/tokenizer_config.json")),
      "deepseek-v3");
}

// A request with tools and a history holding a call and its result, as an OpenAI client sends it.
const char* kToolHistory = R"({"messages": [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"}],
  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]})";

TEST(ToolFormat, DetectedFromEachTemplate) {
  EXPECT_EQ(detect_tool_format(deepseek_v3()), ToolFormat::kDeepSeek);
  EXPECT_EQ(detect_tool_format(hub_template("deepseek_r1_distill.jinja", "<｜begin▁of▁sentence｜>", "")),
            ToolFormat::kDeepSeek);
  EXPECT_EQ(detect_tool_format(hub_template("qwen2_5_instruct.jinja", "", "<|im_end|>")), ToolFormat::kQwen);
  EXPECT_EQ(detect_tool_format(hub_template("llama3_1_instruct.jinja", "<|begin_of_text|>", "<|eot_id|>")),
            ToolFormat::kLlama);
  EXPECT_EQ(detect_tool_format(ChatTemplate::from_string(
                "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}", "", "")),
            ToolFormat::kNone);
}

TEST(ToolFormat, DeepSeekV3RendersTheToolHistory) {
  const ChatRequest r = parse_chat_request(kToolHistory, ServerLimits{});
  ASSERT_EQ(r.tools.tools.size(), 1u);
  const nlohmann::json messages = messages_for_template(ToolFormat::kDeepSeek, r.messages);
  // The template ignores `tools`; a single call gets no <｜tool▁calls▁end｜> (only its loop's else branch writes it),
  // and after tool outputs the prompt ends with <｜tool▁outputs▁end｜>, without a new <｜Assistant｜>.
  EXPECT_EQ(deepseek_v3().render(messages, true, {{"tools", r.tools.tools}}),
            "<｜begin▁of▁sentence｜><｜User｜>Weather in Paris?"
            "<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
            "```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>"
            "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"temp\": 21}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>");
}

TEST(ToolFormat, DeepSeekV3RendersParallelCalls) {
  const ChatRequest r = parse_chat_request(R"({"messages": [{"role": "user", "content": "Both?"},
    {"role": "assistant", "content": "", "tool_calls": [
      {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
      {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{\"x\": 1}"}}]},
    {"role": "tool", "tool_call_id": "a", "content": "1"}, {"role": "tool", "tool_call_id": "b", "content": "2"},
    {"role": "assistant", "content": "Done"}, {"role": "user", "content": "Thanks"}]})",
                                           ServerLimits{});
  EXPECT_TRUE(r.messages[1]["content"].is_null());  // "" with calls: the template renders calls for content none
  EXPECT_EQ(deepseek_v3().render(r.messages, true),
            "<｜begin▁of▁sentence｜><｜User｜>Both?"
            "<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{}\n```"
            "<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>g\n```json\n{\"x\": 1}\n```"
            "<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>"
            "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>1<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>2"
            "<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Done<｜end▁of▁sentence｜><｜User｜>Thanks<｜Assistant｜>");
}

TEST(ToolFormat, QwenGetsArgumentsAsAnObject) {
  const ChatRequest r = parse_chat_request(kToolHistory, ServerLimits{});
  const std::string text =
      hub_template("qwen2_5_instruct.jinja", "", "<|im_end|>")
          .render(messages_for_template(ToolFormat::kQwen, r.messages), true, {{"tools", r.tools.tools}});
  // '\n<tool_call>\n{"name": "' + name + '", "arguments": ' + arguments | tojson + '}\n</tool_call>'
  EXPECT_NE(text.find("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                      "{\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<tools>\n{\"function\": {\"description\": \"Get weather\", \"name\": \"get_weather\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<tool_response>\n{\"temp\": 21}\n</tool_response>"), std::string::npos) << text;
  // DeepSeek's template concatenates the string: it stays one.
  EXPECT_TRUE(messages_for_template(ToolFormat::kDeepSeek, r.messages)[1]["tool_calls"][0]["function"]["arguments"]
                  .is_string());
}

}  // namespace
}  // namespace whale::server::tools

// Chat templates rendered as transformers renders them: the DeepSeek-V3 fixture cases (rendered and encoded by
// transformers), and real hub templates (DeepSeek-R1-Distill, Qwen2.5, Llama-3.1) against expected
// strings derived by hand from the template text.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

const std::string kFixtureDir = WHALE_FIXTURES_DIR "/tokenizer/deepseek-v3";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string template_data(const std::string& name) {
  return read_file((std::filesystem::path(__FILE__).parent_path() / "data/chat_templates" / name).string());
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no whale::Error thrown";
  return "";
}

const std::string kBos = "<｜begin▁of▁sentence｜>";
const std::string kEos = "<｜end▁of▁sentence｜>";

TEST(ChatTemplate, DeepSeekV3FixtureCases) {
  nlohmann::json config = nlohmann::json::parse(read_file(kFixtureDir + "/tokenizer_config.json"));
  ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(config, "tokenizer_config.json");
  std::ifstream cases(kFixtureDir + "/cases.jsonl");
  ASSERT_TRUE(cases) << "missing fixture cases.jsonl";
  std::string line;
  int checked = 0;
  while (std::getline(cases, line)) {
    nlohmann::json c = nlohmann::json::parse(line);
    if (!c.contains("messages")) continue;
    EXPECT_EQ(tmpl.render(c["messages"], c["add_generation_prompt"].get<bool>()), c["rendered"].get<std::string>())
        << "case: " << line;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// The prompt ids the server uses (message text never parsed for special tokens) are transformers' ids of the
// rendered conversation whenever no message spells an added token, as in every fixture case.
TEST(ChatTemplate, DeepSeekV3FixtureCasesEncodeToHfIds) {
  nlohmann::json config = nlohmann::json::parse(read_file(kFixtureDir + "/tokenizer_config.json"));
  ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(config, "tokenizer_config.json");
  const Tokenizer tokenizer = Tokenizer::load(kFixtureDir);
  std::ifstream cases(kFixtureDir + "/cases.jsonl");
  int checked = 0;
  for (std::string line; std::getline(cases, line);) {
    nlohmann::json c = nlohmann::json::parse(line);
    if (!c.contains("messages")) continue;
    const ChatPrompt prompt =
        tmpl.render_for_encoding(tokenizer, c["messages"], c["add_generation_prompt"].get<bool>());
    EXPECT_EQ(prompt.text, c["rendered"].get<std::string>()) << line;
    EXPECT_EQ(prompt.ids, c["ids"].get<std::vector<int32_t>>()) << line;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

nlohmann::json conversation_with_thinking() {
  return nlohmann::json::parse(R"([
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "<think>\nsimple\n</think>\n\n2+2=4."},
    {"role": "user", "content": "And 3+3?"}])");
}

TEST(ChatTemplate, DeepSeekR1DistillStripsThinkingAndOpensThink) {
  ChatTemplate tmpl = ChatTemplate::from_string(template_data("deepseek_r1_distill.jinja"), kBos, kEos);
  const std::string history =
      kBos + "You are helpful.<｜User｜>What is 2+2?<｜Assistant｜>\n\n2+2=4." + kEos + "<｜User｜>And 3+3?";
  EXPECT_EQ(tmpl.render(conversation_with_thinking(), true), history + "<｜Assistant｜><think>\n");
  EXPECT_EQ(tmpl.render(conversation_with_thinking(), false), history);

  nlohmann::json tools = nlohmann::json::parse(R"([
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [
      {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "content": "{\"temp\": 21}"},
    {"role": "assistant", "content": "It is 21 degrees."}])");
  EXPECT_EQ(tmpl.render(tools, true),
            kBos +
                "<｜User｜>Weather in Paris?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
                "<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>"
                "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"temp\": 21}<｜tool▁output▁end｜>"
                "<｜tool▁outputs▁end｜>It is 21 degrees." +
                kEos + "<｜Assistant｜><think>\n");
}

TEST(ChatTemplate, Qwen25ChatMl) {
  ChatTemplate tmpl = ChatTemplate::from_string(template_data("qwen2_5_instruct.jinja"), "", "<|im_end|>");
  nlohmann::json chat = nlohmann::json::parse(R"([
    {"role": "system", "content": "You are a bot."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Bye"}])");
  EXPECT_EQ(tmpl.render(chat, true),
            "<|im_start|>system\nYou are a bot.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  nlohmann::json no_system = nlohmann::json::parse(R"([{"role": "user", "content": "Hi"}])");
  EXPECT_EQ(tmpl.render(no_system, false),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, Qwen25ToolsBranch) {
  ChatTemplate tmpl = ChatTemplate::from_string(template_data("qwen2_5_instruct.jinja"), "", "<|im_end|>");
  // Keys in alphabetical order, so the JSON text is the same whether or not a parser keeps key order.
  nlohmann::json extra = nlohmann::json::parse(R"({"tools": [{"function": {"description": "Get weather",
    "name": "get_weather", "parameters": {"properties": {"city": {"type": "string"}}, "required": ["city"],
    "type": "object"}}, "type": "function"}]})");
  nlohmann::json chat = nlohmann::json::parse(R"([
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [
      {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": "{\"temp\": 21}"}])");
  const std::string tool_json =
      "{\"function\": {\"description\": \"Get weather\", \"name\": \"get_weather\", \"parameters\": "
      "{\"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"], \"type\": \"object\"}}, "
      "\"type\": \"function\"}";
  EXPECT_EQ(tmpl.render(chat, true, extra),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n"
            "You may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
                tool_json +
                "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
                "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
                "<args-json-object>}\n</tool_call><|im_end|>\n"
                "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"
                "\n</tool_call><|im_end|>\n"
                "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n"
                "<|im_start|>assistant\n");
}

const std::string kLlamaHeader = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n";

TEST(ChatTemplate, Llama31) {
  ChatTemplate tmpl =
      ChatTemplate::from_string(template_data("llama3_1_instruct.jinja"), "<|begin_of_text|>", "<|eot_id|>");
  nlohmann::json chat = nlohmann::json::parse(R"([
    {"role": "system", "content": "You are a bot. "},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": " Hello! "},
    {"role": "user", "content": "Bye"}])");
  const std::string expected =
      kLlamaHeader +
      "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are a bot.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>";
  EXPECT_EQ(tmpl.render(chat, false), expected);
  EXPECT_EQ(tmpl.render(chat, true), expected + "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // Template variables from the caller override the template's defaults.
  EXPECT_EQ(tmpl.render(nlohmann::json::parse(R"([{"role": "user", "content": "Hi"}])"), false,
                        {{"date_string", "01 Jan 2025"}}),
            kLlamaHeader +
                "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}

TEST(ChatTemplate, Llama31ToolsInFirstUserMessage) {
  ChatTemplate tmpl =
      ChatTemplate::from_string(template_data("llama3_1_instruct.jinja"), "<|begin_of_text|>", "<|eot_id|>");
  nlohmann::json extra =
      nlohmann::json::parse(R"({"tools": [{"function": {"name": "f", "parameters": {}}, "type": "function"}]})");
  nlohmann::json chat = nlohmann::json::parse(R"([
    {"role": "user", "content": "Call f "},
    {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]},
    {"role": "tool", "content": "42"}])");
  EXPECT_EQ(tmpl.render(chat, true, extra),
            kLlamaHeader +
                "Environment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
                "Given the following functions, please respond with a JSON for a function call with its "
                "proper arguments that best answers the given prompt.\n\n"
                "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument "
                "name and its value}.Do not use variables.\n\n"
                "{\n    \"function\": {\n        \"name\": \"f\",\n        \"parameters\": {}\n    },\n"
                "    \"type\": \"function\"\n}\n\nCall f<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"f\", \"parameters\": "
                "{\"x\": 1}}<|eot_id|>"
                // A string is "iterable" to Jinja, so tool output goes through tojson (quoted).
                "<|start_header_id|>ipython<|end_header_id|>\n\n\"42\"<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // The template's own raise_exception surfaces as a whale::Error with its message.
  nlohmann::json system_only = nlohmann::json::parse(R"([{"role": "system", "content": "S"}])");
  std::string e = error_of([&] { tmpl.render(system_only, false, extra); });
  EXPECT_NE(e.find("Cannot put tools in the first user message when there's no first user message!"), std::string::npos)
      << e;
}

TEST(ChatTemplate, ConfigForms) {
  nlohmann::json config = {
      {"chat_template",
       nlohmann::json::array({{{"name", "tool_use"}, {"template", "T"}},
                              {{"name", "default"}, {"template", "{{ bos_token }}D{{ eos_token }}"}}})},
      {"bos_token", "<s>"},
      {"eos_token", {{"__type", "AddedToken"}, {"content", "</s>"}}}};
  ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(config, "cfg.json");
  EXPECT_EQ(tmpl.render(nlohmann::json::array(), false), "<s>D</s>");
}

TEST(ChatTemplate, ErrorsNameTheSource) {
  EXPECT_NE(error_of([] {
              ChatTemplate::from_tokenizer_config({{"bos_token", "<s>"}}, "tokenizer_config.json");
            }).find("tokenizer_config.json: no \"chat_template\""),
            std::string::npos);
  nlohmann::json no_default = {{"chat_template", nlohmann::json::array({{{"name", "rag"}, {"template", "x"}}})}};
  EXPECT_NE(error_of([&] {
              ChatTemplate::from_tokenizer_config(no_default, "c.json");
            }).find("no \"default\" entry (has: rag)"),
            std::string::npos);
  nlohmann::json bad_filter = {{"chat_template", "{% for m in messages %}{{ m.content|xyz }}{% endfor %}"}};
  ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(bad_filter, "tokenizer_config.json");
  EXPECT_EQ(error_of([&] { tmpl.render(nlohmann::json::parse(R"([{"role": "user", "content": "x"}])"), false); }),
            "tokenizer_config.json: chat template: line 1: unsupported filter 'xyz'");
  EXPECT_NE(error_of([] {
              ChatTemplate::from_string("{% for m in messages %}", "", "");
            }).find("chat template: line 1: unexpected end of template"),
            std::string::npos);
  EXPECT_NE(error_of([&] { tmpl.render(nlohmann::json::object(), false); }).find("messages must be a JSON array"),
            std::string::npos);
}

}  // namespace
}  // namespace whale

#include "server/request.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <tuple>
#include <set>

#include <fmt/format.h>

#include "grammar/schema_compiler.h"

namespace whale::server {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw HttpError(400, message, param, "invalid_value");
}

json parse_body(const std::string& body, const ServerLimits& limits) {
  if (body.size() > limits.max_body_bytes)
    throw HttpError(413, fmt::format("request body of {} bytes exceeds the limit of {} bytes", body.size(),
                                     limits.max_body_bytes), "", "body_too_large");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw HttpError(400, "request body is not valid JSON", "", "invalid_json");
  if (!j.is_object()) throw HttpError(400, "request body must be a JSON object", "", "invalid_json");
  return j;
}

// Field accessors: absent or null → nullopt; present with the wrong type → 400 naming the field.
const json* field(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::optional<int64_t> get_int(const json& obj, const char* name) {
  const json* v = field(obj, name);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  // 3.0 is accepted as 3 (JavaScript clients send numbers); 3.5 is not.
  if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() && std::fabs(v->get<double>()) < 9e15)
    return int64_t(v->get<double>());
  bad(name, fmt::format("'{}' must be an integer", name));
}

std::optional<double> get_number(const json& obj, const char* name) {
  const json* v = field(obj, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) bad(name, fmt::format("'{}' must be a number", name));
  return v->get<double>();
}

std::optional<bool> get_bool(const json& obj, const char* name) {
  const json* v = field(obj, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) bad(name, fmt::format("'{}' must be a boolean", name));
  return v->get<bool>();
}

void check_model(const json& j, const ServerLimits& limits) {
  const json* model = field(j, "model");
  if (!model) return;  // optional here: there is one served model
  if (!model->is_string()) bad("model", "'model' must be a string");
  const std::string& name = model->get_ref<const std::string&>();
  if (name != limits.model_name && std::find(limits.aliases.begin(), limits.aliases.end(), name) == limits.aliases.end())
    throw HttpError(404, fmt::format("The model '{}' does not exist; this server serves '{}'",
                                     model->get<std::string>(), limits.model_name),
                    "model", "model_not_found");
}

// Completions-only parameters sent to the chat endpoint: their neutral values (what some clients send anyway) are
// accepted; anything else is a 400 naming the parameter, never silently ignored.
void refuse_completion_only(const json& j) {
  auto refuse = [](const char* name) {
    throw HttpError(400, fmt::format("'{}' is a /v1/completions parameter; chat completions do not take it", name),
                    name, "unsupported_parameter");
  };
  if (const json* v = field(j, "echo"); v && !(v->is_boolean() && !v->get<bool>())) refuse("echo");
  if (const json* v = field(j, "suffix"); v && !(v->is_string() && v->get_ref<const std::string&>().empty()))
    refuse("suffix");
  if (const json* v = field(j, "best_of"); v && !(v->is_number_integer() && v->get<int64_t>() == 1)) refuse("best_of");
}

// The deprecated forms of tools / tool_choice: only their neutral values (parse_tools reads the current ones).
void refuse_deprecated_functions(const json& j) {
  auto unsupported = [](const char* name, const std::string& accepted) {
    throw HttpError(400, fmt::format("'{}' is not supported by this server (accepted: {})", name, accepted), name,
                    "unsupported_parameter");
  };
  if (const json* v = field(j, "functions"); v && !(v->is_array() && v->empty()))
    unsupported("functions", "[] (use 'tools')");
  if (const json* v = field(j, "function_call"); v && !(v->is_string() && (*v == "none" || *v == "auto")))
    unsupported("function_call", "\"none\" or \"auto\" (use 'tool_choice')");
}

// A function (or response_format schema) name: 1 to 64 letters, digits, '_' or '-'.
bool valid_name(const json* name) {
  if (!name || !name->is_string()) return false;
  const std::string& s = name->get_ref<const std::string&>();
  return !s.empty() && s.size() <= 64 &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == std::string::npos;
}

// response_format: {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name",
// "schema", "strict", "description"}}. The schema is read again from `body` in its own key order: properties are
// generated in the order the schema lists them.
std::shared_ptr<const grammar::JsonGrammar> parse_response_format(const json& j, const std::string& body) {
  const char* param = "response_format";
  const json* format = field(j, param);
  if (!format) return nullptr;
  if (!format->is_object()) bad(param, "'response_format' must be an object");
  const json* type = field(*format, "type");
  if (!type || !type->is_string() || (*type != "text" && *type != "json_object" && *type != "json_schema"))
    bad(param, "'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"");
  if (*type == "text") return nullptr;
  try {
    if (*type == "json_object") {
      static const std::shared_ptr<const grammar::JsonGrammar> any_object = grammar::json_object_grammar();
      return any_object;
    }
    const json* spec = field(*format, "json_schema");
    if (!spec || !spec->is_object()) bad(param, "'response_format.json_schema' must be an object for type json_schema");
    const json* name = field(*spec, "name");
    if (!valid_name(name)) bad(param, "'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'");
    if (const json* strict = field(*spec, "strict"); strict && !strict->is_boolean())
      bad(param, "'response_format.json_schema.strict' must be a boolean");
    if (!field(*spec, "schema")) bad(param, "'response_format.json_schema.schema' is required");
    // strict or not, the output follows the schema (strict only makes OpenAI check that the schema is in its subset).
    const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(body);
    return grammar::compile_json_schema(ordered.at("response_format").at("json_schema").at("schema"));
  } catch (const grammar::SchemaError& e) {
    bad(param, fmt::format("response_format: {}", e.what()));
  } catch (const nlohmann::json::exception& e) {  // the body parsed once already: not expected
    bad(param, fmt::format("response_format: {}", e.what()));
  }
}

GenerationRequest parse_generation(const json& j, const std::string& body, const ServerLimits& limits) {
  GenerationRequest g;
  g.response_format = parse_response_format(j, body);
  g.sampling = limits.default_sampling;
  g.adjust.repetition_penalty = limits.default_repetition_penalty;
  for (const char* name : {"max_completion_tokens", "max_tokens"}) {
    if (auto v = get_int(j, name)) {
      if (*v < 1) bad(name, fmt::format("'{}' must be >= 1, got {}", name, *v));
      if (!g.max_tokens) g.max_tokens = *v;
    }
  }
  if (!g.max_tokens) g.max_tokens = limits.default_max_tokens;
  if (auto t = get_number(j, "temperature")) {
    if (!(*t >= 0 && *t <= 2)) bad("temperature", fmt::format("'temperature' must be in [0, 2], got {}", *t));
    g.sampling.temperature = float(*t);
  }
  if (auto p = get_number(j, "top_p")) {
    if (!(*p > 0 && *p <= 1)) bad("top_p", fmt::format("'top_p' must be in (0, 1], got {}", *p));
    g.sampling.top_p = float(*p);
  }
  if (auto p = get_number(j, "min_p")) {  // not OpenAI, but common in local servers
    if (!(*p >= 0 && *p <= 1)) bad("min_p", fmt::format("'min_p' must be in [0, 1], got {}", *p));
    g.sampling.min_p = float(*p);
  }
  if (auto k = get_int(j, "top_k")) {  // not OpenAI, but common in local servers
    if (*k < 0) bad("top_k", "'top_k' must be >= 0");
    g.sampling.top_k = *k;
  }
  // Penalties and logit_bias (engine/logit_adjust.h); ids are checked against the vocabulary by the engine.
  for (auto [name, target, lo, hi] : {std::tuple{"frequency_penalty", &g.adjust.frequency_penalty, -2.0, 2.0},
                                      std::tuple{"presence_penalty", &g.adjust.presence_penalty, -2.0, 2.0}})
    if (auto v = get_number(j, name)) {
      if (!(*v >= lo && *v <= hi)) bad(name, fmt::format("'{}' must be in [{}, {}], got {}", name, lo, hi, *v));
      *target = float(*v);
    }
  if (auto v = get_number(j, "repetition_penalty")) {  // not OpenAI, but vLLM's and HF's
    if (!(*v > 0 && *v <= 10)) bad("repetition_penalty", fmt::format("'repetition_penalty' must be in (0, 10], got {}", *v));
    g.adjust.repetition_penalty = float(*v);
  }
  if (const json* bias = field(j, "logit_bias")) {
    if (!bias->is_object()) bad("logit_bias", "'logit_bias' must be an object of token id → bias");
    if (bias->size() > 1024) bad("logit_bias", "'logit_bias' may hold at most 1024 tokens");
    for (const auto& [key, value] : bias->items()) {
      int64_t id = -1;
      const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
      if (ec != std::errc() || end != key.data() + key.size() || id < 0 || id > INT32_MAX)
        bad("logit_bias", fmt::format("'logit_bias' keys must be token ids, got '{}'", key));
      if (!value.is_number() || !(value.get<double>() >= -100 && value.get<double>() <= 100))
        bad("logit_bias", fmt::format("'logit_bias' of token {} must be a number in [-100, 100]", key));
      g.adjust.logit_bias.emplace_back(int32_t(id), float(value.get<double>()));
    }
  }
  if (auto s = get_int(j, "seed")) {
    g.sampling.seed = uint64_t(*s);
    g.seeded = true;
  }
  if (auto n = get_int(j, "n")) {
    if (*n < 1 || *n > limits.max_n) bad("n", fmt::format("'n' must be in [1, {}], got {}", limits.max_n, *n));
    g.n = *n;
  }
  if (const json* stop = field(j, "stop")) {
    if (stop->is_string()) {
      g.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const json& s : *stop) {
        if (!s.is_string()) bad("stop", "'stop' must be a string or an array of strings");
        g.stop.push_back(s.get<std::string>());
      }
    } else {
      bad("stop", "'stop' must be a string or an array of strings");
    }
    if (int64_t(g.stop.size()) > limits.max_stop)
      bad("stop", fmt::format("'stop' has {} entries; at most {} are allowed", g.stop.size(), limits.max_stop));
    for (const std::string& s : g.stop)
      if (s.empty() || s.size() > limits.max_stop_bytes)
        bad("stop", fmt::format("each stop string must have 1 to {} bytes", limits.max_stop_bytes));
  }
  g.stream = get_bool(j, "stream").value_or(false);
  if (const json* opts = field(j, "stream_options")) {
    if (!opts->is_object()) bad("stream_options", "'stream_options' must be an object");
    g.include_usage = get_bool(*opts, "include_usage").value_or(false);
  }
  return g;
}

// A count of top tokens in [0, kMaxTopLogprobs].
std::optional<int64_t> get_top_count(const json& obj, const char* name) {
  std::optional<int64_t> k = get_int(obj, name);
  if (k && (*k < 0 || *k > kMaxTopLogprobs))
    bad(name, fmt::format("'{}' must be in [0, {}], got {}", name, kMaxTopLogprobs, *k));
  return k;
}

// Message content: a string, or an array of parts of which the {"type": "text", "text": ...} ones are joined.
std::string message_content(const json& content, size_t index) {
  const std::string param = fmt::format("messages[{}].content", index);
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) bad(param, fmt::format("'{}' must be a string or an array of content parts", param));
  std::string text;
  for (const json& part : content) {
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
        !part["text"].is_string())
      bad(param, fmt::format("'{}' supports only text parts {{\"type\": \"text\", \"text\": ...}}", param));
    text += part["text"].get<std::string>();
  }
  return text;
}

// The function-calling fields (server/tools/tool_request.h). Messages say "'<param>' <what>".
[[noreturn]] void bad_field(const std::string& param, const std::string& what) {
  bad(param, fmt::format("'{}' {}", param, what));
}

// tools[i]: {"type": "function", "function": {"name", "description"?, "parameters"?, "strict"?}}.
std::string check_tool(const json& tool, size_t i) {
  const std::string at = fmt::format("tools[{}]", i);
  if (!tool.is_object()) bad_field(at, "must be an object");
  const json* type = field(tool, "type");
  if (!type || *type != "function") bad_field(at + ".type", "must be \"function\"");
  const json* function = field(tool, "function");
  if (!function || !function->is_object()) bad_field(at + ".function", "must be an object");
  const json* name = field(*function, "name");
  if (!valid_name(name)) bad_field(at + ".function.name", "must be 1 to 64 letters, digits, '_' or '-'");
  if (const json* d = field(*function, "description"); d && !d->is_string())
    bad_field(at + ".function.description", "must be a string");
  if (const json* p = field(*function, "parameters"); p && !p->is_object())
    bad_field(at + ".function.parameters", "must be a JSON schema object");
  if (const json* s = field(*function, "strict"); s && !s->is_boolean())
    bad_field(at + ".function.strict", "must be a boolean");
  return name->get<std::string>();
}

// The grammar of tools[i]'s arguments: its parameters schema, as `tools` (read again from the raw body) holds it in
// its own key order (properties are generated in the order the schema lists them).
std::shared_ptr<const grammar::JsonGrammar> compile_arguments(const nlohmann::ordered_json& tools, size_t i) {
  auto it = tools[i].at("function").find("parameters");
  if (it == tools[i].at("function").end() || it->is_null()) return grammar::json_object_grammar();
  try {
    return grammar::compile_json_schema(*it);
  } catch (const grammar::SchemaError& e) {
    bad_field(fmt::format("tools[{}].function.parameters", i), fmt::format("cannot constrain the call: {}", e.what()));
  }
}

tools::ToolRequest parse_tools(const json& body, const std::string& raw) {
  tools::ToolRequest r;
  std::set<std::string> names;
  if (const json* tools = field(body, "tools")) {
    if (!tools->is_array()) bad_field("tools", "must be an array of tools");
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string name = check_tool((*tools)[i], i);
      if (!names.insert(name).second)
        bad_field(fmt::format("tools[{}].function.name", i), fmt::format("repeats the function name '{}'", name));
    }
    r.tools = *tools;
  }
  if (const json* p = field(body, "parallel_tool_calls")) {
    if (!p->is_boolean()) bad_field("parallel_tool_calls", "must be a boolean");
    r.parallel = p->get<bool>();
  }
  const json* choice = field(body, "tool_choice");
  if (!choice) return r;
  if (choice->is_string() && *choice == "none") {
    r.choice = tools::ToolRequest::Choice::kNone;
  } else if (choice->is_string() && *choice == "auto") {
    r.choice = tools::ToolRequest::Choice::kAuto;
  } else if (choice->is_string() && *choice == "required") {
    r.choice = tools::ToolRequest::Choice::kRequired;
  } else if (choice->is_object()) {
    const json* type = field(*choice, "type");
    const json* function = field(*choice, "function");
    const json* name = function && function->is_object() ? field(*function, "name") : nullptr;
    if (!type || *type != "function" || !name || !name->is_string())
      bad_field("tool_choice",
                "must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}");
    r.choice = tools::ToolRequest::Choice::kNamed;
    r.named = name->get<std::string>();
    if (!names.count(r.named))
      bad_field("tool_choice", fmt::format("names the function '{}', which 'tools' does not list", r.named));
  } else {
    bad_field("tool_choice",
              "must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}");
  }
  const bool required = r.choice == tools::ToolRequest::Choice::kRequired;
  if (!required && r.choice != tools::ToolRequest::Choice::kNamed) return r;
  if (r.tools.empty()) bad_field("tool_choice", "requires a non-empty 'tools'");
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(raw).at("tools");
  for (size_t i = 0; i < r.tools.size(); ++i) {
    const std::string name = r.tools[i]["function"]["name"].get<std::string>();
    if (required || name == r.named) r.forced.push_back({name, compile_arguments(ordered, i)});
  }
  return r;
}

json parse_message_tool_calls(const json& tool_calls, size_t index) {
  const std::string at = fmt::format("messages[{}].tool_calls", index);
  if (!tool_calls.is_array()) bad_field(at, "must be an array");
  json out = json::array();
  for (size_t i = 0; i < tool_calls.size(); ++i) {
    const json& call = tool_calls[i];
    const std::string ci = fmt::format("{}[{}]", at, i);
    if (!call.is_object()) bad_field(ci, "must be an object");
    const json* id = field(call, "id");
    if (!id || !id->is_string()) bad_field(ci + ".id", "must be a string");
    const json* type = field(call, "type");
    if (type && *type != "function") bad_field(ci + ".type", "must be \"function\"");
    const json* function = field(call, "function");
    if (!function || !function->is_object()) bad_field(ci + ".function", "must be an object");
    const json* name = field(*function, "name");
    if (!name || !name->is_string() || name->get_ref<const std::string&>().empty())
      bad_field(ci + ".function.name", "must be a non-empty string");
    const json* args = field(*function, "arguments");
    if (!args || !args->is_string()) bad_field(ci + ".function.arguments", "must be a string (the arguments as JSON)");
    out.push_back({{"id", *id}, {"type", "function"}, {"function", {{"name", *name}, {"arguments", *args}}}});
  }
  return out;
}

}  // namespace

ChatRequest parse_chat_request(const std::string& body, const ServerLimits& limits) {
  json j = parse_body(body, limits);
  check_model(j, limits);
  refuse_completion_only(j);
  refuse_deprecated_functions(j);
  ChatRequest r{.gen = parse_generation(j, body, limits), .messages = json::array()};
  const json* messages = field(j, "messages");
  if (!messages) bad("messages", "'messages' is required");
  if (!messages->is_array() || messages->empty()) bad("messages", "'messages' must be a non-empty array");
  if (int64_t(messages->size()) > limits.max_messages)
    bad("messages", fmt::format("at most {} messages are allowed", limits.max_messages));
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object()) bad(at, fmt::format("'{}' must be an object", at));
    const json* role = field(m, "role");
    if (!role || !role->is_string()) bad(at + ".role", fmt::format("'{}.role' must be a string", at));
    std::string role_name = role->get<std::string>();
    if (role_name == "developer") role_name = "system";  // OpenAI's newer name for system
    if (role_name != "system" && role_name != "user" && role_name != "assistant" && role_name != "tool")
      bad(at + ".role", fmt::format("'{}.role' must be system, developer, user, assistant or tool, got '{}'", at,
                                    role_name));
    const json* content = field(m, "content");
    const json* tool_calls = role_name == "assistant" ? field(m, "tool_calls") : nullptr;
    if (!content && !tool_calls) bad(at + ".content", fmt::format("'{}.content' is required", at));
    json normal = {{"role", role_name}, {"content", content ? json(message_content(*content, i)) : json(nullptr)}};
    if (tool_calls) {
      normal["tool_calls"] = parse_message_tool_calls(*tool_calls, i);
      if (normal["content"] == "") normal["content"] = nullptr;  // templates render the calls when content is none
    }
    if (role_name == "tool") {
      const json* id = field(m, "tool_call_id");
      if (!id || !id->is_string()) bad(at + ".tool_call_id", fmt::format("'{}.tool_call_id' must be a string", at));
      normal["tool_call_id"] = *id;
    }
    if (get_bool(m, "prefix").value_or(false)) {  // DeepSeek: the reply continues this message
      if (role_name != "assistant" || i == 0 || i + 1 != messages->size() || tool_calls || !content)
        bad(at + ".prefix", fmt::format("'{}.prefix' is allowed only on the last message (not the first), an "
                                        "assistant message with content and no tool_calls", at));
      r.assistant_prefix = normal["content"].get<std::string>();
      continue;
    }
    r.messages.push_back(std::move(normal));
  }
  r.tools = parse_tools(j, body);
  const std::optional<int64_t> top = get_top_count(j, "top_logprobs");
  if (get_bool(j, "logprobs").value_or(false))
    r.gen.logprobs = top.value_or(0);
  else if (top)
    bad("top_logprobs", "'top_logprobs' requires 'logprobs': true");
  return r;
}

namespace {

// Token ids of a prompt: a non-empty array of integers in [0, 2^31).
std::vector<int32_t> prompt_ids(const json& array, const std::string& param) {
  if (array.empty()) bad("prompt", fmt::format("'{}' must not be empty", param));
  std::vector<int32_t> ids;
  for (const json& id : array) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      bad("prompt", fmt::format("'{}' must hold token ids (integers >= 0)", param));
    ids.push_back(int32_t(id.get<int64_t>()));
  }
  return ids;
}

CompletionPrompt prompt_text(const json& text, const std::string& param) {
  if (text.get_ref<const std::string&>().empty()) bad("prompt", fmt::format("'{}' must not be empty", param));
  return {.text = text.get<std::string>()};
}

// "prompt": a string, an array of token ids, or an array of strings or of token-id arrays (one prompt each).
std::vector<CompletionPrompt> parse_prompts(const json& j, const ServerLimits& limits) {
  const json* prompt = field(j, "prompt");
  if (!prompt) bad("prompt", "'prompt' is required");
  const char* shapes = "'prompt' must be a string, an array of token ids, or an array of strings or of token-id arrays";
  if (prompt->is_string()) return {prompt_text(*prompt, "prompt")};
  if (!prompt->is_array() || prompt->empty()) bad("prompt", shapes);
  if ((*prompt)[0].is_number()) return {{.ids = prompt_ids(*prompt, "prompt")}};
  if (int64_t(prompt->size()) > limits.max_n)
    bad("prompt", fmt::format("'prompt' holds {} prompts; at most {} are allowed", prompt->size(), limits.max_n));
  std::vector<CompletionPrompt> prompts;
  for (size_t i = 0; i < prompt->size(); ++i) {
    const json& p = (*prompt)[i];
    const std::string at = fmt::format("prompt[{}]", i);
    if (p.is_string())
      prompts.push_back(prompt_text(p, at));
    else if (p.is_array())
      prompts.push_back({.ids = prompt_ids(p, at)});
    else
      bad("prompt", shapes);
  }
  return prompts;
}

}  // namespace

CompletionRequest parse_completion_request(const std::string& body, const ServerLimits& limits) {
  json j = parse_body(body, limits);
  check_model(j, limits);
  refuse_deprecated_functions(j);
  CompletionRequest r;
  r.gen = parse_generation(j, body, limits);
  r.gen.logprobs = get_top_count(j, "logprobs").value_or(-1);
  r.prompts = parse_prompts(j, limits);
  r.echo = get_bool(j, "echo").value_or(false);
  if (r.echo && r.gen.logprobs >= 0)
    bad("echo", "'echo' with 'logprobs' is not supported: this server does not compute the prompt's log-probabilities");
  if (const json* suffix = field(j, "suffix")) {
    if (!suffix->is_string()) bad("suffix", "'suffix' must be a string");
    if (!suffix->get_ref<const std::string&>().empty()) r.suffix = suffix->get<std::string>();
  }
  r.best_of = get_int(j, "best_of").value_or(r.gen.n);
  if (r.best_of < r.gen.n || r.best_of > limits.max_n)
    bad("best_of", fmt::format("'best_of' must be in [n, {}] (n = {}), got {}", limits.max_n, r.gen.n, r.best_of));
  if (r.gen.stream && r.best_of > r.gen.n) bad("best_of", "'best_of' greater than 'n' cannot be streamed");
  const int64_t generations = int64_t(r.prompts.size()) * r.best_of;
  if (generations > limits.max_n)
    bad("prompt", fmt::format("{} prompts × best_of {} = {} generations; at most {} are allowed per request",
                              r.prompts.size(), r.best_of, generations, limits.max_n));
  return r;
}

}  // namespace whale::server

#include "tokenizer/chat_template.h"

#include "core/error.h"
#include "tokenizer/jinja/template.h"
#include "tokenizer/jinja/value.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

// Special tokens transformers passes to every chat template (its special_tokens_map).
constexpr const char* kSpecialTokens[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                          "pad_token", "cls_token", "mask_token"};

std::string select_template(const nlohmann::json& field, const std::string& name) {
  if (field.is_string()) return field.get<std::string>();
  if (field.is_array()) {
    std::string names;
    for (const auto& entry : field) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") || !entry["name"].is_string() ||
          !entry["template"].is_string())
        fail("{}: chat_template list entries must be {{\"name\": string, \"template\": string}}", name);
      if (entry["name"] == "default") return entry["template"].get<std::string>();
      names += (names.empty() ? "" : ", ") + entry["name"].get<std::string>();
    }
    fail("{}: chat_template list has no \"default\" entry (has: {})", name, names);
  }
  fail("{}: chat_template must be a string or a list of named templates", name);
}

}  // namespace

nlohmann::json escape_strings(const Tokenizer& tokenizer, const nlohmann::json& value) {
  if (value.is_string()) return tokenizer.escape_added_tokens(value.get_ref<const std::string&>());
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) out.push_back(escape_strings(tokenizer, item));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) out[tokenizer.escape_added_tokens(k)] = escape_strings(tokenizer, v);
    return out;
  }
  return value;
}

ChatTemplate::ChatTemplate(std::shared_ptr<const jinja::Template> tmpl,
                           std::shared_ptr<const jinja::Dict> special_tokens, std::string name)
    : template_(std::move(tmpl)), special_tokens_(std::move(special_tokens)), name_(std::move(name)) {}

ChatTemplate ChatTemplate::from_tokenizer_config(const nlohmann::json& config, const std::string& source_name) {
  if (!config.is_object()) fail("{}: tokenizer config must be a JSON object", source_name);
  if (!config.contains("chat_template") || config["chat_template"].is_null())
    fail("{}: no \"chat_template\" field", source_name);
  std::string source = select_template(config["chat_template"], source_name);
  auto tokens = std::make_shared<jinja::Dict>();
  for (const char* key : kSpecialTokens) {
    if (!config.contains(key) || config[key].is_null()) continue;
    const nlohmann::json& token = config[key];
    if (token.is_string()) {
      tokens->set(key, jinja::Value(token.get<std::string>()));
    } else if (token.is_object() && token.contains("content") && token["content"].is_string()) {
      tokens->set(key, jinja::Value(token["content"].get<std::string>()));
    } else {
      fail("{}: \"{}\" must be a string or an AddedToken object with \"content\"", source_name, key);
    }
  }
  std::string name = source_name + ": chat template";
  return ChatTemplate(std::make_shared<jinja::Template>(source, name), std::move(tokens), name);
}

ChatTemplate ChatTemplate::from_string(const std::string& source, std::string bos_token, std::string eos_token) {
  auto tokens = std::make_shared<jinja::Dict>();
  tokens->set("bos_token", jinja::Value(std::move(bos_token)));
  tokens->set("eos_token", jinja::Value(std::move(eos_token)));
  std::string name = "chat template";
  return ChatTemplate(std::make_shared<jinja::Template>(source, name), std::move(tokens), name);
}

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra_context) const {
  if (!messages.is_array()) fail("{}: messages must be a JSON array, got {}", name_, messages.type_name());
  if (!extra_context.is_object() && !extra_context.is_null())
    fail("{}: extra context must be a JSON object, got {}", name_, extra_context.type_name());
  // Same variables as transformers' render(messages=, tools=, documents=, add_generation_prompt=,
  // **special_tokens_map, **kwargs).
  jinja::Dict context = *special_tokens_;
  context.set("messages", jinja::Value::from_json(messages));
  context.set("tools", jinja::Value::none());
  context.set("documents", jinja::Value::none());
  context.set("add_generation_prompt", jinja::Value(add_generation_prompt));
  if (extra_context.is_object()) {
    for (const auto& [k, v] : extra_context.items()) context.set(k, jinja::Value::from_json(v));
  }
  return template_->render(context);
}

ChatPrompt ChatTemplate::render_for_encoding(const Tokenizer& tokenizer, const nlohmann::json& messages,
                                             bool add_generation_prompt, const nlohmann::json& extra_context,
                                             std::string_view assistant_prefix) const {
  const std::string escaped =
      render(escape_strings(tokenizer, messages), add_generation_prompt, escape_strings(tokenizer, extra_context)) +
      tokenizer.escape_added_tokens(assistant_prefix);
  return {tokenizer.restore_escaped(escaped), tokenizer.encode(escaped, {.restore_escaped = true})};
}

}  // namespace whale

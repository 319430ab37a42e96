// Chat templates: renders a conversation into a prompt string with the model's Jinja template exactly as
// transformers' apply_chat_template(tokenize=False) does (Jinja semantics in tokenizer/jinja/).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace whale {

class Tokenizer;

namespace jinja {
class Template;
struct Dict;
}  // namespace jinja

// A conversation rendered for the model.
struct ChatPrompt {
  std::string text;          // as render() writes it
  std::vector<int32_t> ids;  // its encoding, in which only the template's own markup is added tokens
};

// `value` with every string in it, object keys included, escaped by tokenizer.escape_added_tokens (what
// render_for_encoding does to the messages).
nlohmann::json escape_strings(const Tokenizer& tokenizer, const nlohmann::json& value);

class ChatTemplate {
 public:
  // From tokenizer_config.json contents: reads "chat_template" (string, or list of {name, template}: use
  // "default") and bos_token / eos_token (string or AddedToken object {"content": ...}).
  static ChatTemplate from_tokenizer_config(const nlohmann::json& config, const std::string& source_name);
  static ChatTemplate from_string(const std::string& source, std::string bos_token, std::string eos_token);
  // messages: JSON array of {role, content, tool_calls?, ...}. Returns the rendered prompt string.
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& extra_context = nlohmann::json::object()) const;
  // render() and the encoding of its text, where every string of `messages` and `extra_context` (keys too) is
  // encoded as ordinary text even where it spells a special or added token: a message cannot forge a turn.
  // The template sees those strings with such spellings escaped (added_token_escape.h), so a template that
  // searches content for an added token (e.g. '</think>' in content) does not find one written by the user.
  // `assistant_prefix` (untrusted text too) is appended after the rendering: a reply that starts with it.
  ChatPrompt render_for_encoding(const Tokenizer& tokenizer, const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra_context = nlohmann::json::object(),
                                 std::string_view assistant_prefix = {}) const;

 private:
  ChatTemplate(std::shared_ptr<const jinja::Template> tmpl, std::shared_ptr<const jinja::Dict> special_tokens,
               std::string name);

  std::shared_ptr<const jinja::Template> template_;
  std::shared_ptr<const jinja::Dict> special_tokens_;  // bos_token, eos_token, ... as template variables
  std::string name_;                                   // prefix of error messages
};

}  // namespace whale

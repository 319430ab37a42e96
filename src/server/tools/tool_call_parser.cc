#include "server/tools/tool_call_parser.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "server/text_stream.h"

namespace whale::server::tools {
namespace {

using nlohmann::json;

constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kToolSep = "<｜tool▁sep｜>";
constexpr std::string_view kQwenBegin = "<tool_call>";
constexpr std::string_view kQwenEnd = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";

constexpr std::string_view kSpace = " \t\r\n";

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

bool is_prefix_of(std::string_view s, std::string_view marker) { return marker.substr(0, s.size()) == s; }

// A function name as OpenAI allows it (letters, digits, '_', '-', '.'; what a template wrote as a name).
bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
             std::string_view::npos;
}

// The text of a JSON object, or nullopt.
std::optional<std::string> object_text(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return std::string(trim(text));
}

struct NamedArguments {
  std::string name, arguments;
};

// DeepSeek's call body (between <｜tool▁call▁begin｜> and <｜tool▁call▁end｜>).
std::optional<NamedArguments> deepseek_body(std::string_view body) {
  const size_t sep = body.find(kToolSep);
  if (sep == std::string_view::npos) return std::nullopt;
  const std::string_view head = trim(body.substr(0, sep)), tail = body.substr(sep + kToolSep.size());
  if (head == "function") {  // V3 / R1: function<｜tool▁sep｜>NAME\n```json\nARGS\n```
    const size_t nl = tail.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    const std::string_view name = trim(tail.substr(0, nl));
    std::string_view args = trim(tail.substr(nl + 1));
    if (args.starts_with("```json"))
      args.remove_prefix(7);
    else if (args.starts_with("```"))
      args.remove_prefix(3);
    else
      return std::nullopt;
    if (!args.ends_with("```")) return std::nullopt;
    args.remove_suffix(3);
    std::optional<std::string> text = object_text(args);
    if (!valid_name(name) || !text) return std::nullopt;
    return NamedArguments{std::string(name), std::move(*text)};
  }
  std::optional<std::string> text = object_text(tail);  // V3.1: NAME<｜tool▁sep｜>ARGS
  if (!valid_name(head) || !text) return std::nullopt;
  return NamedArguments{std::string(head), std::move(*text)};
}

// {"name": NAME, "arguments" (Qwen) or "parameters" (Llama): {...}}; arguments given as a string holding an object
// are accepted too.
std::optional<NamedArguments> json_call(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string()) return std::nullopt;
  const std::string name = j["name"].get<std::string>();
  const char* key = j.contains("arguments") ? "arguments" : "parameters";
  if (!valid_name(name) || !j.contains(key)) return std::nullopt;
  const json& args = j[key];
  if (args.is_object()) return NamedArguments{name, args.dump()};
  if (args.is_string())
    if (std::optional<std::string> t = object_text(args.get<std::string>())) return NamedArguments{name, *t};
  return std::nullopt;
}

}  // namespace

void ToolCallParser::add_call(std::string name, std::string arguments, Output& out) {
  if (n_calls_ < max_calls_)
    out.calls.push_back({.index = int64_t(n_calls_), .name = std::move(name), .arguments = std::move(arguments)});
  ++n_calls_;
  trim_ = true;
}

void ToolCallParser::fall_back(Output& out) {
  out.content += pending_;
  pending_.clear();
  state_ = State::kPlain;
}

ToolCallParser::Step ToolCallParser::scan_text(Output& out) {
  if (trim_) {
    const size_t b = pending_.find_first_not_of(kSpace);
    pending_.erase(0, b == std::string::npos ? pending_.size() : b);
    if (pending_.empty()) return Step::kNeedMore;
    trim_ = false;
  }
  if (format_ == ToolFormat::kLlama) {  // a call is the whole output, or there is none
    if (!at_start_) return fall_back(out), Step::kProgress;
    const std::string_view rest = trim(pending_);
    if (rest.empty() || (rest.size() < kPythonTag.size() && is_prefix_of(rest, kPythonTag))) return Step::kNeedMore;
    if (rest.starts_with('{') || rest.starts_with(kPythonTag)) {
      state_ = State::kCall;
      return Step::kNeedMore;  // complete only at the end
    }
    return fall_back(out), Step::kProgress;
  }
  std::vector<std::string_view> markers = {kQwenBegin};
  if (format_ == ToolFormat::kDeepSeek) markers = {kCallsBegin, kCallBegin};
  size_t start = std::string::npos, hold = 0;
  for (std::string_view m : markers) {
    start = std::min(start, pending_.find(m));
    hold = std::max(hold, partial_suffix(pending_, m));
  }
  const size_t cut = start != std::string::npos ? start : pending_.size() - hold;
  if (cut > 0) at_start_ = false;
  out.content += pending_.substr(0, cut);
  pending_.erase(0, cut);
  if (start == std::string::npos) return Step::kNeedMore;
  state_ = State::kCall;
  return Step::kProgress;
}

ToolCallParser::Step ToolCallParser::scan_deepseek(Output& out) {
  const size_t pos = !section_open_ && pending_.starts_with(kCallsBegin) ? kCallsBegin.size() : 0;
  const size_t at = std::min(pending_.size(), pending_.find_first_not_of(kSpace, pos));
  const std::string_view rest = std::string_view(pending_).substr(at);
  if (rest.empty()) return Step::kNeedMore;
  if (rest.starts_with(kCallsEnd)) {
    pending_.erase(0, at + kCallsEnd.size());
    section_open_ = false;
    state_ = State::kText;
    trim_ = true;
    return Step::kProgress;
  }
  if (rest.starts_with(kCallBegin)) {
    const size_t end = rest.find(kCallEnd);
    if (end == std::string_view::npos) return Step::kNeedMore;
    std::optional<NamedArguments> call = deepseek_body(rest.substr(kCallBegin.size(), end - kCallBegin.size()));
    if (!call) return Step::kMalformed;
    add_call(std::move(call->name), std::move(call->arguments), out);
    pending_.erase(0, at + end + kCallEnd.size());
    section_open_ = true;
    return Step::kProgress;
  }
  if (is_prefix_of(rest, kCallsEnd) || is_prefix_of(rest, kCallBegin)) return Step::kNeedMore;
  if (section_open_ && pos == 0) {  // the section was never closed: what follows the calls is content
    section_open_ = false;
    state_ = State::kText;
    return Step::kProgress;
  }
  return Step::kMalformed;
}

ToolCallParser::Step ToolCallParser::scan_qwen(Output& out) {
  const size_t end = pending_.find(kQwenEnd);
  if (end == std::string::npos) return Step::kNeedMore;
  std::optional<NamedArguments> call =
      json_call(std::string_view(pending_).substr(kQwenBegin.size(), end - kQwenBegin.size()));
  if (!call) return Step::kMalformed;
  add_call(std::move(call->name), std::move(call->arguments), out);
  pending_.erase(0, end + kQwenEnd.size());
  state_ = State::kText;
  return Step::kProgress;
}

ToolCallParser::Output ToolCallParser::push(std::string_view text) {
  Output out;
  pending_ += text;
  for (;;) {
    Step step = Step::kNeedMore;
    if (state_ == State::kPlain) {
      out.content += pending_;
      pending_.clear();
    } else if (state_ == State::kText) {
      step = scan_text(out);
    } else if (format_ == ToolFormat::kDeepSeek) {
      step = scan_deepseek(out);
    } else if (format_ == ToolFormat::kQwen) {
      step = scan_qwen(out);
    }  // Llama: the call is parsed at the end
    if (step == Step::kMalformed) fall_back(out);
    if (step != Step::kProgress || pending_.empty()) break;
  }
  return out;
}

ToolCallParser::Output ToolCallParser::finish() {
  Output out;
  if (state_ == State::kCall && format_ == ToolFormat::kLlama) {
    std::string_view rest = trim(pending_);
    if (rest.starts_with(kPythonTag)) rest.remove_prefix(kPythonTag.size());
    if (std::optional<NamedArguments> call = json_call(rest)) {
      add_call(std::move(call->name), std::move(call->arguments), out);
      pending_.clear();
    }
  } else if (state_ == State::kCall && format_ == ToolFormat::kDeepSeek && section_open_ && trim(pending_).empty()) {
    pending_.clear();  // calls that end the output without <｜tool▁calls▁end｜>
  } else if (state_ == State::kText && trim_) {
    pending_.clear();  // whitespace after the last call
  }
  out.content += pending_;
  pending_.clear();
  state_ = State::kPlain;
  return out;
}

}  // namespace whale::server::tools

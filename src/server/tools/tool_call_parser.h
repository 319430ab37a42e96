// The model's content text → plain content and tool calls, incrementally (for streaming) and in the format of the
// checkpoint's template (tool_format.h). Text before a call's start marker streams as content at once, except a tail
// that could still become the marker; a call is held until its text is complete and then comes out whole. Text that
// starts like a call but is not a well-formed one (no closing marker by the end, a name or arguments that do not
// parse) comes out as content instead, from the failed call on, and nothing after it is parsed.
//   DeepSeek:
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>
//             (more calls, separated by whitespace) <｜tool▁calls▁end｜>; V3.1's NAME<｜tool▁sep｜>ARGS body too.
//   Qwen:     <tool_call>\n{"name": NAME, "arguments": ARGS}\n</tool_call>, one block per call.
//   Llama:    the whole output is {"name": NAME, "parameters": ARGS} (after an optional <|python_tag|>).
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "server/tools/tool_call.h"
#include "server/tools/tool_format.h"

namespace whale::server::tools {

class ToolCallParser {
 public:
  struct Output {
    std::string content;
    std::vector<ToolCall> calls;  // ids left empty
  };
  // max_calls: 1 for parallel_tool_calls false (further calls are parsed and dropped).
  explicit ToolCallParser(ToolFormat format, size_t max_calls = std::numeric_limits<size_t>::max())
      : format_(format), max_calls_(max_calls) {}

  Output push(std::string_view text);
  Output finish();  // end of output: what is held comes out
  size_t calls() const { return n_calls_; }

 private:
  enum class State { kText, kCall, kPlain };
  enum class Step { kNeedMore, kMalformed, kProgress };
  // kText: emits content up to a call start (then kCall); kNeedMore when it holds a possible marker prefix.
  Step scan_text(Output& out);
  Step scan_deepseek(Output& out);
  Step scan_qwen(Output& out);
  void add_call(std::string name, std::string arguments, Output& out);
  void fall_back(Output& out);  // what is held becomes content; parsing ends

  ToolFormat format_;
  size_t max_calls_;
  State state_ = State::kText;
  std::string pending_;        // text not yet given out
  bool section_open_ = false;  // DeepSeek: inside <｜tool▁calls▁begin｜> … <｜tool▁calls▁end｜>, after a call
  bool trim_ = false;          // drop the whitespace that follows a call
  bool at_start_ = true;       // nothing given out yet (Llama: a call is the whole output)
  size_t n_calls_ = 0;         // calls parsed (given out or dropped)
};

}  // namespace whale::server::tools

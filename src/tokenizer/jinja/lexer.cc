#include "tokenizer/jinja/lexer.h"

#include <cctype>

#include "core/error.h"
#include "tokenizer/jinja/text.h"

namespace whale::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Newlines normalized to "\n" and one trailing newline removed (Jinja's keep_trailing_newline=False).
std::string normalize_newlines(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(normalize_newlines(source)) {}

  std::vector<Token> run() {
    bool strip_leading = false;  // previous tag ended with '-'
    bool line_starting = true;   // previous tag's match ended at the start of a line
    while (pos_ < src_.size()) {
      size_t start = find_tag(pos_);
      std::string text = src_.substr(pos_, start - pos_);
      if (strip_leading) {
        size_t b = 0;
        while (b < text.size() && is_ws(text[b])) ++b;
        if (b > 0) line_starting = text[b - 1] == '\n';
        text.erase(0, b);
      }
      if (start == src_.size()) {
        emit_text(text);
        break;
      }
      char kind = src_[start + 1];
      char marker = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (marker == '-') {
        size_t e = text.size();
        while (e > 0 && is_ws(text[e - 1])) --e;
        text.resize(e);
      } else if (kind != '{' && marker != '+') {
        // lstrip_blocks: drop spaces between the start of the line and a block/comment tag.
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if (l_pos > 0 || line_starting) {
          bool blank = l_pos < text.size();
          for (size_t i = l_pos; i < text.size(); ++i) blank = blank && is_ws(text[i]);
          if (blank) text.resize(l_pos);
        }
      }
      emit_text(text);
      line_ += count_newlines(pos_, start);
      pos_ = start + 2 + (marker == '-' || marker == '+' ? 1 : 0);
      char end_marker = kind == '#' ? lex_comment() : lex_tag(kind);
      strip_leading = end_marker == '-';
      line_starting = false;
      if (kind != '{' && end_marker == '\0' && pos_ < src_.size() && src_[pos_] == '\n') {
        ++pos_;  // trim_blocks
        ++line_;
        line_starting = true;
      }
    }
    tokens_.push_back({Token::Type::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  int count_newlines(size_t b, size_t e) const {
    int n = 0;
    for (size_t i = b; i < e; ++i) n += src_[i] == '\n';
    return n;
  }

  void emit_text(const std::string& text) {
    if (!text.empty()) tokens_.push_back({Token::Type::kText, text, line_});
  }

  // Skips a comment; returns '-' or '+' if its end carried one, else '\0'.
  char lex_comment() {
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail("line {}: unclosed comment '{{#'", line_);
    char marker = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    line_ += count_newlines(pos_, end);
    pos_ = end + 2;
    return marker;
  }

  // Lexes the inside of a `{{ }}` or `{% %}` tag; returns the end marker as lex_comment does.
  char lex_tag(char kind) {
    const int open_line = line_;
    const char close = kind == '{' ? '}' : '%';
    tokens_.push_back({kind == '{' ? Token::Type::kVarBegin : Token::Type::kBlockBegin, "", line_});
    int depth = 0;  // open brackets: `}}` inside a dict literal does not end the tag
    while (true) {
      while (pos_ < src_.size() && is_ws(src_[pos_])) line_ += src_[pos_++] == '\n';
      if (pos_ >= src_.size()) fail("line {}: unclosed tag '{{{}' (no matching '{}}}')", open_line, kind, close);
      char marker = '\0';
      size_t p = pos_;
      if ((src_[p] == '-' || src_[p] == '+') && depth == 0) marker = src_[p++];
      if (depth == 0 && p + 1 < src_.size() && src_[p] == close && src_[p + 1] == '}') {
        pos_ = p + 2;
        tokens_.push_back({kind == '{' ? Token::Type::kVarEnd : Token::Type::kBlockEnd, "", line_});
        return marker;
      }
      lex_token(depth);
    }
  }

  void lex_token(int& depth) {
    char c = src_[pos_];
    if (is_name_start(c)) {
      size_t b = pos_;
      while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
      tokens_.push_back({Token::Type::kName, src_.substr(b, pos_ - b), line_});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      lex_number();
    } else if (c == '\'' || c == '"') {
      lex_string(c);
    } else {
      static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                   ">",  "=",  "(",  ")",  "[",  "]",  "{", "}", ",", ".", ":", "|"};
      for (const char* op : kOps) {
        std::string s(op);
        if (src_.compare(pos_, s.size(), s) == 0) {
          if (s == "(" || s == "[" || s == "{") ++depth;
          if (s == ")" || s == "]" || s == "}") --depth;
          tokens_.push_back({Token::Type::kOp, s, line_});
          pos_ += s.size();
          return;
        }
      }
      fail("line {}: unexpected character '{}' in tag", line_, c);
    }
  }

  void lex_number() {
    size_t b = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      ++pos_;
      digits();
      is_float = true;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t q = pos_ + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        pos_ = q;
        digits();
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = b; i < pos_; ++i)
      if (src_[i] != '_') text += src_[i];
    tokens_.push_back({is_float ? Token::Type::kFloat : Token::Type::kInt, text, line_});
  }

  // Python string literal escapes, as Jinja decodes them.
  void lex_string(char quote) {
    const int open_line = line_;
    std::string out;
    ++pos_;
    while (true) {
      if (pos_ >= src_.size()) fail("line {}: unclosed string literal", open_line);
      char c = src_[pos_++];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\' || pos_ >= src_.size()) {
        out += c;
        continue;
      }
      char e = src_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case '\n':
          ++line_;
          break;  // line continuation
        case 'x':
          out += utf8_encode(hex_escape(2));
          break;
        case 'u':
          out += utf8_encode(hex_escape(4));
          break;
        case 'U':
          out += utf8_encode(hex_escape(8));
          break;
        default:
          out += '\\';
          out += e;
      }
    }
    tokens_.push_back({Token::Type::kString, out, line_});
  }

  uint32_t hex_escape(int n) {
    if (pos_ + size_t(n) > src_.size()) fail("line {}: truncated \\x/\\u escape in string literal", line_);
    uint32_t cp = 0;
    for (int i = 0; i < n; ++i) {
      char h = src_[pos_++];
      if (!std::isxdigit(static_cast<unsigned char>(h))) fail("line {}: bad hex escape in string literal", line_);
      cp = cp * 16 + uint32_t(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : std::tolower(h) - 'a' + 10);
    }
    if (cp > 0x10ffff) fail("line {}: escape out of Unicode range in string literal", line_);
    return cp;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) { return Lexer(source).run(); }

}  // namespace whale::jinja

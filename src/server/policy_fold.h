// Normalisation for the operator's output policy (`normalize = true` rules): Unicode NFKC with case folding
// and default-ignorable code points removed (ICU's NFKC_Casefold), so "ＳＥＣＲＥＴ", "Secret" and "se\u00ADcret"
// all read "secret". A FoldedText keeps a map from the folded bytes back to the original text, so that a
// match found in the folded text is reported (and redacted) as the original bytes it came from.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace whale::server {

// The folded form of valid UTF-8 `text` (used on literals at load time).
std::string fold_text(std::string_view text);

// Byte offset of the start of the last normalisation segment of valid UTF-8 `text` (text.size() when empty):
// a streamed text that continues may still change how that last segment folds (a combining mark can join it).
size_t last_fold_boundary(std::string_view text);

class FoldedText {
 public:
  // Folds valid UTF-8 `original` one normalisation segment at a time (a segment folds on its own).
  explicit FoldedText(std::string_view original);

  const std::string& text() const { return folded_; }
  // The original bytes of the segments that hold folded bytes [begin, end) (end > begin).
  size_t original_begin(size_t folded_pos) const;
  size_t original_end(size_t folded_end) const;
  // The folded offset where the first segment starting at or after original offset `pos` begins.
  size_t folded_pos(size_t original_pos) const;

 private:
  std::string folded_;
  // Segment k covers original bytes [original_[k], original_[k+1]) and folded bytes [folded_at_[k],
  // folded_at_[k+1]); both end with a sentinel (the texts' sizes).
  std::vector<size_t> original_, folded_at_;
};

}  // namespace whale::server

// The "normalizer" of tokenizer.json: Unicode normalization forms (NFC, NFKC, NFD, NFKD, via ICU's
// Normalizer2) and Sequences of them, applied to the text between added tokens before pre-tokenization.
#pragma once

#include <nlohmann/json.hpp>
#include <unicode/uversion.h>

#include <string>
#include <string_view>
#include <vector>

U_NAMESPACE_BEGIN
class Normalizer2;
U_NAMESPACE_END

namespace whale {

class Normalizer {
 public:
  // From the "normalizer" field (null → identity). An unsupported type is an error naming it and `source`.
  static Normalizer from_json(const nlohmann::json& spec, std::string_view source);

  // True if normalize() returns every text unchanged (no steps).
  bool is_identity() const { return steps_.empty(); }
  // Normalizes valid UTF-8 `text` into `out` (replacing its contents).
  void normalize(std::string_view text, std::string& out) const;

 private:
  static void add_steps(const nlohmann::json& spec, std::string_view source, int depth,
                        std::vector<const icu::Normalizer2*>& steps);

  std::vector<const icu::Normalizer2*> steps_;  // applied in order; instances are owned by ICU
};

}  // namespace whale

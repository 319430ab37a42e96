#include "tokenizer/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include <cstdint>

#include "core/error.h"

namespace whale {
namespace {

// Nested Sequences deeper than this are rejected (a hostile file must not exhaust the stack).
constexpr int kMaxDepth = 16;

const icu::Normalizer2* instance(const std::string& type, std::string_view source) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  if (type == "NFC") n = icu::Normalizer2::getNFCInstance(status);
  else if (type == "NFKC") n = icu::Normalizer2::getNFKCInstance(status);
  else if (type == "NFD") n = icu::Normalizer2::getNFDInstance(status);
  else if (type == "NFKD") n = icu::Normalizer2::getNFKDInstance(status);
  if (n == nullptr || U_FAILURE(status))
    fail("{}: normalizer {}: ICU has no data for it ({})", source, type, u_errorName(status));
  return n;
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& spec, std::string_view source) {
  Normalizer n;
  add_steps(spec, source, 0, n.steps_);
  return n;
}

void Normalizer::add_steps(const nlohmann::json& spec, std::string_view source, int depth,
                           std::vector<const icu::Normalizer2*>& steps) {
  if (spec.is_null()) return;
  const std::string type =
      spec.is_object() && spec.contains("type") && spec["type"].is_string() ? spec["type"].get<std::string>() : "";
  if (type == "Sequence" && spec.contains("normalizers") && spec["normalizers"].is_array()) {
    if (depth >= kMaxDepth) fail("{}: normalizer Sequences nested deeper than {}", source, kMaxDepth);
    for (const nlohmann::json& child : spec["normalizers"]) add_steps(child, source, depth + 1, steps);
    return;
  }
  if (type == "NFC" || type == "NFKC" || type == "NFD" || type == "NFKD") {
    steps.push_back(instance(type, source));
    return;
  }
  fail("{}: unsupported normalizer {} (supported: NFC, NFKC, NFD, NFKD, Sequence)", source, spec.dump());
}

void Normalizer::normalize(std::string_view text, std::string& out) const {
  if (text.size() > size_t(INT32_MAX)) fail("text of {} bytes is too long to normalize", text.size());
  out.assign(text);
  std::string next;
  for (const icu::Normalizer2* step : steps_) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::StringPiece piece(out.data(), int32_t(out.size()));
    if (step->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) continue;
    status = U_ZERO_ERROR;
    next.clear();
    icu::StringByteSink<std::string> sink(&next, int32_t(out.size()));
    step->normalizeUTF8(0, piece, sink, nullptr, status);
    if (U_FAILURE(status)) fail("Unicode normalization failed: {}", u_errorName(status));
    out.swap(next);
  }
}

}  // namespace whale

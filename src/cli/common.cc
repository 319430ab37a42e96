#include "cli/common.h"

#include <charconv>

#include "core/error.h"
#include "io/safetensors.h"

namespace whale::cli {

InputIds read_input_ids(const std::string& file, int64_t vocab_size, int64_t max_position) {
  TensorStore input = TensorStore::open(file);
  if (!input.has("input_ids")) fail("{}: no tensor 'input_ids'", file);
  Tensor ids = input.get("input_ids");
  if (ids.rank() != 2 || (ids.dtype() != DType::I64 && ids.dtype() != DType::I32))
    fail("{}: input_ids must be I64 [B, T], got {} {}", file, dtype_name(ids.dtype()), shape_str(ids.shape()));
  InputIds out{{}, ids.dim(0), ids.dim(1)};
  if (out.batch <= 0 || out.seq <= 0) fail("{}: input_ids is empty", file);
  if (out.seq > max_position) fail("{}: sequence length {} exceeds max_position_embeddings {}", file, out.seq, max_position);
  for (int64_t id : ids.i64_values()) {
    if (id < 0 || id >= vocab_size) fail("{}: token id {} outside the vocabulary (size {})", file, id, vocab_size);
    out.tokens.push_back(int32_t(id));
  }
  return out;
}

std::vector<int32_t> parse_id_list(const std::string& text, const std::string& what) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(i, comma - i);
    int32_t v = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 0)
      fail("{}: '{}' is not a non-negative token id (expected a list like 1,2,3)", what, item);
    ids.push_back(v);
    i = comma + 1;
  }
  return ids;
}

}  // namespace whale::cli

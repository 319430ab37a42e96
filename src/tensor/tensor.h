// Tensor: a dense row-major array of one dtype, either owning its storage or viewing memory owned elsewhere
// (an mmap'd checkpoint). MatrixView: the weight-matrix view that matmul kernels consume.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace whale {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);  // "[2, 24, 64]"
int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Zero-initialised owning tensor.
  static Tensor zeros(DType dtype, Shape shape);
  // Non-owning view; `keep_alive` (may be null) holds whatever owns `data`.
  static Tensor view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keep_alive);
  // Owning f32 tensor from values (size must equal numel).
  static Tensor from_f32(Shape shape, std::span<const float> values);
  static Tensor from_i64(Shape shape, std::span<const int64_t> values);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return dtype_nbytes(dtype_, numel()); }
  bool defined() const { return data_ != nullptr || numel() == 0; }

  const void* raw() const { return data_; }
  void* mutable_raw() { return const_cast<void*>(data_); }
  template <typename T> const T* data() const { return static_cast<const T*>(data_); }
  template <typename T> T* mutable_data() { return static_cast<T*>(mutable_raw()); }

  // Views sharing this tensor's storage: the same elements under another shape (equal numel), and
  // element i along dimension 0 (shape without its first dimension).
  Tensor reshaped(Shape shape) const;
  Tensor slice(int64_t i) const;

  // The values as f32 into out[numel] (any floating dtype, or I32/I64 as values).
  void dequantize_into(float* out) const;
  // A copy converted to f32 (any floating dtype, or I32/I64 as values).
  Tensor to_f32() const;
  std::vector<float> f32_values() const;
  std::vector<int64_t> i64_values() const;  // I64 or I32 tensors

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  const void* data_ = nullptr;
  std::shared_ptr<const void> storage_;
};

// Weight matrix W [rows, cols] as stored (y = x · Wᵀ), possibly block-quantized: GGUF block types hold each
// row as cols / block_elems blocks; for F8E4M3, block_scale holds [ceil(rows/128), ceil(cols/128)] f32
// multipliers (`weight_scale_inv`).
struct MatrixView {
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0;
  const void* data = nullptr;
  const float* block_scale = nullptr;
  static constexpr int64_t kBlock = 128;

  size_t row_bytes() const;
  size_t nbytes() const { return size_t(rows) * row_bytes(); }
  // Dequantized element (slow path for references and tests).
  float at(int64_t r, int64_t c) const;
  // Dequantizes rows [row_begin, row_end) into out [row_end-row_begin, cols].
  void dequantize_rows(int64_t row_begin, int64_t row_end, float* out) const;
};

}  // namespace whale

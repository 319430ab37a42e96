#include "tensor/tensor.h"

#include <cstring>

#include "core/error.h"

namespace whale {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  size_t bytes = t.nbytes();
  // 64-byte aligned so SIMD kernels may use aligned loads on owned tensors.
  auto* p = static_cast<char*>(::operator new[](bytes ? bytes : 1, std::align_val_t(64)));
  std::memset(p, 0, bytes);
  t.storage_ = std::shared_ptr<const void>(p, [](const void* q) {
    ::operator delete[](const_cast<void*>(q), std::align_val_t(64));
  });
  t.data_ = p;
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keep_alive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.storage_ = std::move(keep_alive);
  return t;
}

Tensor Tensor::from_f32(Shape shape, std::span<const float> values) {
  Tensor t = zeros(DType::F32, std::move(shape));
  WHALE_CHECK(size_t(t.numel()) == values.size());
  std::memcpy(t.mutable_raw(), values.data(), values.size_bytes());
  return t;
}

Tensor Tensor::from_i64(Shape shape, std::span<const int64_t> values) {
  Tensor t = zeros(DType::I64, std::move(shape));
  WHALE_CHECK(size_t(t.numel()) == values.size());
  std::memcpy(t.mutable_raw(), values.data(), values.size_bytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  WHALE_CHECK(shape_numel(shape) == numel());
  Tensor t = *this;
  t.shape_ = std::move(shape);
  (void)t.nbytes();  // block dtypes: the new rows must still be whole blocks (throws otherwise)
  return t;
}

Tensor Tensor::slice(int64_t i) const {
  WHALE_CHECK(rank() >= 1 && i >= 0 && i < dim(0));
  Tensor t = *this;
  t.shape_.erase(t.shape_.begin());
  t.data_ = static_cast<const char*>(data_) + size_t(i) * t.nbytes();
  return t;
}

void Tensor::dequantize_into(float* out) const {
  const DTypeTraits& t = dtype_traits(dtype_);
  if (t.is_float) {
    t.dequantize_row(data_, out, numel());
  } else {
    std::vector<int64_t> ints = i64_values();
    for (size_t i = 0; i < ints.size(); ++i) out[i] = float(ints[i]);
  }
}

std::vector<float> Tensor::f32_values() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  dequantize_into(out.data());
  return out;
}

Tensor Tensor::to_f32() const { return from_f32(shape_, f32_values()); }

std::vector<int64_t> Tensor::i64_values() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  if (dtype_ == DType::I64) {
    std::memcpy(out.data(), data_, nbytes());
  } else if (dtype_ == DType::I32) {
    for (size_t i = 0; i < out.size(); ++i) {
      int32_t v;
      std::memcpy(&v, static_cast<const char*>(data_) + i * sizeof(v), sizeof(v));
      out[i] = v;
    }
  } else {
    fail("expected an integer tensor (I64 or I32), got {}", dtype_name(dtype_));
  }
  return out;
}

size_t MatrixView::row_bytes() const { return dtype_nbytes(dtype, cols); }

float MatrixView::at(int64_t r, int64_t c) const {
  const DTypeTraits& t = dtype_traits(dtype);
  WHALE_CHECK(t.is_float);
  // Decode the one block holding (r, c).
  const int64_t b = c / t.block_elems;
  float block[256];
  WHALE_CHECK(t.block_elems <= 256);
  t.dequantize_row(static_cast<const char*>(data) + size_t(r) * row_bytes() + size_t(b) * t.block_bytes, block,
                   t.block_elems);
  float v = block[c % t.block_elems];
  if (block_scale) v *= block_scale[(r / kBlock) * ((cols + kBlock - 1) / kBlock) + c / kBlock];
  return v;
}

void MatrixView::dequantize_rows(int64_t row_begin, int64_t row_end, float* out) const {
  const DTypeTraits& t = dtype_traits(dtype);
  WHALE_CHECK(t.is_float);
  const size_t rb = row_bytes();
  const int64_t n_col_blocks = (cols + kBlock - 1) / kBlock;
  for (int64_t r = row_begin; r < row_end; ++r) {
    float* dst = out + (r - row_begin) * cols;
    t.dequantize_row(static_cast<const char*>(data) + size_t(r) * rb, dst, cols);
    if (block_scale)
      for (int64_t c = 0; c < cols; ++c) dst[c] *= block_scale[(r / kBlock) * n_col_blocks + c / kBlock];
  }
}

}  // namespace whale

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

// Element i of a possibly unaligned view (mmap'd safetensors data has no alignment guarantee).
template <typename T>
static T load_at(const void* base, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(base) + i * sizeof(T), sizeof(T));
  return v;
}

std::vector<float> Tensor::f32_values() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype_) {
      case DType::F32: out[i] = load_at<float>(data_, i); break;
      case DType::BF16: out[i] = bf16_to_f32(load_at<uint16_t>(data_, i)); break;
      case DType::F16: out[i] = f16_to_f32(load_at<uint16_t>(data_, i)); break;
      case DType::F8E4M3: out[i] = f8e4m3_to_f32(load_at<uint8_t>(data_, i)); break;
      case DType::I64: out[i] = float(load_at<int64_t>(data_, i)); break;
      case DType::I32: out[i] = float(load_at<int32_t>(data_, i)); break;
    }
  }
  return out;
}

Tensor Tensor::to_f32() const { return from_f32(shape_, f32_values()); }

std::vector<int64_t> Tensor::i64_values() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  if (dtype_ == DType::I64) std::memcpy(out.data(), data_, nbytes());
  else if (dtype_ == DType::I32) for (size_t i = 0; i < out.size(); ++i) out[i] = load_at<int32_t>(data_, i);
  else fail("expected an integer tensor (I64 or I32), got {}", dtype_name(dtype_));
  return out;
}

float MatrixView::at(int64_t r, int64_t c) const {
  size_t i = size_t(r * cols + c);
  float v = 0;
  switch (dtype) {
    case DType::F32: v = load_at<float>(data, i); break;
    case DType::BF16: v = bf16_to_f32(load_at<uint16_t>(data, i)); break;
    case DType::F16: v = f16_to_f32(load_at<uint16_t>(data, i)); break;
    case DType::F8E4M3: v = f8e4m3_to_f32(load_at<uint8_t>(data, i)); break;
    default: WHALE_CHECK(!"matrix dtype must be floating point");
  }
  if (block_scale) v *= block_scale[(r / kBlock) * ((cols + kBlock - 1) / kBlock) + c / kBlock];
  return v;
}

void MatrixView::dequantize_rows(int64_t row_begin, int64_t row_end, float* out) const {
  for (int64_t r = row_begin; r < row_end; ++r)
    for (int64_t c = 0; c < cols; ++c) out[(r - row_begin) * cols + c] = at(r, c);
}

}  // namespace whale

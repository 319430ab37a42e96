// Writes GGUF version 3 files (layout in io/gguf.h) so that llama.cpp and gguf-py read them: the key/values
// in the given order, then the tensor infos, then each tensor's data at the next multiple of the alignment.
// Tensor data is streamed in order, one tensor at a time, so a model larger than RAM can be written. The
// file appears atomically: it is written to `path.tmp-<pid>`, fsync'd and renamed over `path`, and the
// destination must be a regular file or absent (a symlink, device, FIFO or directory there is refused:
// core/regular_file.h).
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"

namespace whale {

struct GgufTensorSpec {
  std::string name;
  DType dtype;
  Shape shape;  // row-major; written as ne = shape reversed
};

class GgufWriter {
 public:
  GgufWriter(std::filesystem::path path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
             std::vector<GgufTensorSpec> tensors, size_t alignment = 32);
  ~GgufWriter();  // removes the temporary file unless finish() succeeded
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  // Data of the tensors in spec order: each tensor takes exactly dtype_nbytes(dtype, numel) bytes, in one
  // call or in consecutive parts (e.g. one expert of a stacked tensor at a time).
  void write_tensor(const void* data, size_t nbytes);
  // After every tensor: flush, fsync, rename into place.
  void finish();

 private:
  void put(const void* data, size_t n);
  void pad_to_alignment();
  std::filesystem::path path_, tmp_;
  std::vector<GgufTensorSpec> tensors_;
  size_t alignment_;
  size_t next_ = 0;     // next tensor to write
  size_t part_ = 0;     // bytes of it written so far
  size_t written_ = 0;  // bytes written so far
  std::FILE* out_ = nullptr;
  bool done_ = false;
};

// Metadata values: integers of any type (U8 ... I64, Bool), floats (F32 / F64), strings, and arrays of them.
GgufValue gguf_string(std::string s);
GgufValue gguf_int(GgufValueType type, int64_t v);
GgufValue gguf_float(double v, GgufValueType type = GgufValueType::F32);
GgufValue gguf_strings(std::vector<std::string> v);
GgufValue gguf_ints(GgufValueType elem, std::vector<int64_t> v);
GgufValue gguf_floats(std::vector<double> v, GgufValueType elem = GgufValueType::F32);

}  // namespace whale

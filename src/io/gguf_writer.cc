#include "io/gguf_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/regular_file.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

template <typename T>
void put_le(std::vector<char>& out, T v) {
  const char* p = reinterpret_cast<const char*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

void put_string(std::vector<char>& out, const std::string& s) {
  put_le<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void put_scalar(std::vector<char>& out, GgufValueType t, const GgufValue& v, int64_t i, double f) {
  switch (t) {
    case GgufValueType::U8: put_le<uint8_t>(out, uint8_t(i)); break;
    case GgufValueType::I8: put_le<int8_t>(out, int8_t(i)); break;
    case GgufValueType::U16: put_le<uint16_t>(out, uint16_t(i)); break;
    case GgufValueType::I16: put_le<int16_t>(out, int16_t(i)); break;
    case GgufValueType::U32: put_le<uint32_t>(out, uint32_t(i)); break;
    case GgufValueType::I32: put_le<int32_t>(out, int32_t(i)); break;
    case GgufValueType::U64: put_le<uint64_t>(out, uint64_t(i)); break;
    case GgufValueType::I64: put_le<int64_t>(out, i); break;
    case GgufValueType::F32: put_le<float>(out, float(f)); break;
    case GgufValueType::F64: put_le<double>(out, f); break;
    case GgufValueType::Bool: put_le<uint8_t>(out, i ? 1 : 0); break;
    case GgufValueType::String: put_string(out, v.s); break;
    case GgufValueType::Array: WHALE_CHECK(!"arrays are written by put_value");
  }
}

void put_value(std::vector<char>& out, const GgufValue& v) {
  if (v.type != GgufValueType::Array) return put_scalar(out, v.type, v, v.i, v.f);
  put_le<uint32_t>(out, uint32_t(v.elem_type));
  put_le<uint64_t>(out, v.array_size());
  GgufValue s;
  switch (v.elem_type) {
    case GgufValueType::String:
      for (const std::string& str : v.strings) put_string(out, str);
      break;
    case GgufValueType::F32: case GgufValueType::F64:
      for (double f : v.floats) put_scalar(out, v.elem_type, s, 0, f);
      break;
    case GgufValueType::Array:
      for (const GgufValue& item : v.items) put_value(out, item);  // elements carry no type of their own
      break;
    default:
      for (int64_t i : v.ints) put_scalar(out, v.elem_type, s, i, 0);
  }
}

GgufValue array_of(GgufValueType elem) {
  GgufValue v;
  v.type = GgufValueType::Array;
  v.elem_type = elem;
  return v;
}

}  // namespace

GgufWriter::GgufWriter(fs::path path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                       std::vector<GgufTensorSpec> tensors, size_t alignment)
    : path_(std::move(path)), tensors_(std::move(tensors)), alignment_(alignment) {
  WHALE_CHECK(alignment_ > 0 && (alignment_ & (alignment_ - 1)) == 0);
  require_replaceable_file(path_);
  std::vector<char> header;
  header.insert(header.end(), {'G', 'G', 'U', 'F'});
  put_le<uint32_t>(header, 3);
  put_le<uint64_t>(header, tensors_.size());
  put_le<uint64_t>(header, metadata.size());
  for (const auto& [key, value] : metadata) {
    put_string(header, key);
    put_le<uint32_t>(header, uint32_t(value.type));
    put_value(header, value);
  }
  uint64_t offset = 0;
  for (const GgufTensorSpec& t : tensors_) {
    put_string(header, t.name);
    put_le<uint32_t>(header, uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put_le<uint64_t>(header, uint64_t(*it));
    const int ggml = dtype_traits(t.dtype).ggml_type;
    if (ggml < 0) fail("{}: tensor '{}': GGUF has no type for {}", path_.string(), t.name, dtype_name(t.dtype));
    put_le<uint32_t>(header, uint32_t(ggml));
    put_le<uint64_t>(header, offset);
    offset += (dtype_nbytes(t.dtype, shape_numel(t.shape)) + alignment_ - 1) / alignment_ * alignment_;
  }
  tmp_ = path_;
  tmp_ += ".tmp-" + std::to_string(::getpid());
  out_ = std::fopen(tmp_.c_str(), "wb");
  if (out_ == nullptr) fail("{}: cannot create: {}", tmp_.string(), std::strerror(errno));
  put(header.data(), header.size());
  pad_to_alignment();
}

GgufWriter::~GgufWriter() {
  if (out_ != nullptr) std::fclose(out_);
  if (!done_) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void GgufWriter::put(const void* data, size_t n) {
  if (n > 0 && std::fwrite(data, 1, n, out_) != n) fail("{}: write failed: {}", tmp_.string(), std::strerror(errno));
  written_ += n;
}

void GgufWriter::pad_to_alignment() {
  static const char kZeros[256] = {};
  while (written_ % alignment_ != 0) put(kZeros, std::min(sizeof(kZeros), alignment_ - written_ % alignment_));
}

void GgufWriter::write_tensor(const void* data, size_t nbytes) {
  WHALE_CHECK(next_ < tensors_.size());
  const GgufTensorSpec& t = tensors_[next_];
  const size_t want = dtype_nbytes(t.dtype, shape_numel(t.shape));
  if (nbytes > want - part_)
    fail("{}: tensor '{}' needs {} bytes of data, got {}", path_.string(), t.name, want, part_ + nbytes);
  put(data, nbytes);
  part_ += nbytes;
  if (part_ == want) {
    pad_to_alignment();
    part_ = 0;
    ++next_;
  }
}

void GgufWriter::finish() {
  if (next_ != tensors_.size())
    fail("{}: only {} of {} tensors were written", path_.string(), next_, tensors_.size());
  if (std::fflush(out_) != 0 || ::fsync(::fileno(out_)) != 0)
    fail("{}: flush failed: {}", tmp_.string(), std::strerror(errno));
  std::fclose(out_);
  out_ = nullptr;
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  if (ec) fail("{}: cannot rename {} into place: {}", path_.string(), tmp_.string(), ec.message());
  done_ = true;
}

GgufValue gguf_string(std::string s) {
  GgufValue v;
  v.type = GgufValueType::String;
  v.s = std::move(s);
  return v;
}

GgufValue gguf_int(GgufValueType type, int64_t x) {
  GgufValue v;
  v.type = type;
  v.i = x;
  return v;
}

GgufValue gguf_float(double x, GgufValueType type) {
  GgufValue v;
  v.type = type;
  v.f = x;
  return v;
}

GgufValue gguf_strings(std::vector<std::string> s) {
  GgufValue v = array_of(GgufValueType::String);
  v.strings = std::move(s);
  return v;
}

GgufValue gguf_ints(GgufValueType elem, std::vector<int64_t> x) {
  GgufValue v = array_of(elem);
  v.ints = std::move(x);
  return v;
}

GgufValue gguf_floats(std::vector<double> x, GgufValueType elem) {
  GgufValue v = array_of(elem);
  v.floats = std::move(x);
  return v;
}

}  // namespace whale

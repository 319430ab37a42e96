#include "io/gguf.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>
#include <set>

#include "core/error.h"
#include "io/mapped_file.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 4;         // arrays of arrays nest at most this deep
constexpr size_t kMaxNestedItems = 1u << 20;  // elements of all arrays-of-arrays together

// Bounds-checked little-endian cursor over the mapped header; every error names the file and what was read.
class Cursor {
 public:
  Cursor(const char* begin, const char* end, const std::string& file) : p_(begin), begin_(begin), end_(end), file_(file) {}

  size_t pos() const { return size_t(p_ - begin_); }
  size_t left() const { return size_t(end_ - p_); }
  template <typename T>
  T read(const char* what) {
    if (left() < sizeof(T)) fail("{}: truncated file: {} at byte {} needs {} bytes, {} left", file_, what, pos(), sizeof(T), left());
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  std::string string(const std::string& what) {
    const uint64_t n = read<uint64_t>(what.c_str());
    if (n > left()) fail("{}: {}: string length {} beyond the end of the file ({} bytes left)", file_, what, n, left());
    std::string s(p_, size_t(n));
    p_ += n;
    return s;
  }
  const std::string& file() const { return file_; }

 private:
  const char* p_;
  const char* begin_;
  const char* end_;
  const std::string& file_;
};

// Smallest encoding of one value of a type, to bound element counts by the bytes left before allocating.
size_t min_encoded_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::Bool: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: case GgufValueType::String: return 8;
    case GgufValueType::Array: return 12;
  }
  return 1;
}

bool known_type(uint32_t t) { return t <= uint32_t(GgufValueType::F64); }

struct ValueReader {
  Cursor& in;
  size_t nested_items = 0;

  void scalar(GgufValueType t, GgufValue& v, const std::string& what) {
    v.type = t;
    const char* w = what.c_str();
    switch (t) {
      case GgufValueType::U8: v.i = in.read<uint8_t>(w); break;
      case GgufValueType::I8: v.i = in.read<int8_t>(w); break;
      case GgufValueType::U16: v.i = in.read<uint16_t>(w); break;
      case GgufValueType::I16: v.i = in.read<int16_t>(w); break;
      case GgufValueType::U32: v.i = in.read<uint32_t>(w); break;
      case GgufValueType::I32: v.i = in.read<int32_t>(w); break;
      case GgufValueType::I64: v.i = in.read<int64_t>(w); break;
      case GgufValueType::U64:
        v.u = in.read<uint64_t>(w);
        v.i = v.u > uint64_t(std::numeric_limits<int64_t>::max()) ? -1 : int64_t(v.u);
        break;
      case GgufValueType::F32: v.f = in.read<float>(w); break;
      case GgufValueType::F64: v.f = in.read<double>(w); break;
      case GgufValueType::Bool: {
        uint8_t b = in.read<uint8_t>(w);
        if (b > 1) fail("{}: {}: bool value {} is neither 0 nor 1", in.file(), what, b);
        v.i = b;
        break;
      }
      case GgufValueType::String: v.s = in.string(what); break;
      case GgufValueType::Array: WHALE_CHECK(!"arrays are read by value()");
    }
  }

  void value(uint32_t type_id, GgufValue& v, const std::string& what, int depth) {
    if (!known_type(type_id)) fail("{}: {}: unknown value type {}", in.file(), what, type_id);
    const auto t = GgufValueType(type_id);
    if (t != GgufValueType::Array) return scalar(t, v, what);
    if (depth >= kMaxArrayDepth) fail("{}: {}: arrays nested deeper than {}", in.file(), what, kMaxArrayDepth);
    v.type = t;
    const uint32_t elem = in.read<uint32_t>((what + " array type").c_str());
    if (!known_type(elem)) fail("{}: {}: unknown array element type {}", in.file(), what, elem);
    v.elem_type = GgufValueType(elem);
    const uint64_t n = in.read<uint64_t>((what + " array length").c_str());
    if (n > in.left() / min_encoded_size(v.elem_type))
      fail("{}: {}: array of {} {} values cannot fit in the {} bytes left", in.file(), what, n,
           gguf_value_type_name(v.elem_type), in.left());
    GgufValue item;
    const std::string item_what = what + " element";
    switch (v.elem_type) {
      case GgufValueType::String:
        v.strings.reserve(size_t(n));
        for (uint64_t k = 0; k < n; ++k) v.strings.push_back(in.string(item_what));
        break;
      case GgufValueType::F32: case GgufValueType::F64:
        v.floats.reserve(size_t(n));
        for (uint64_t k = 0; k < n; ++k) scalar(v.elem_type, item, item_what), v.floats.push_back(item.f);
        break;
      case GgufValueType::Array:
        nested_items += size_t(n);
        if (nested_items > kMaxNestedItems)
          fail("{}: {}: more than {} elements in arrays of arrays", in.file(), what, kMaxNestedItems);
        v.items.resize(size_t(n));
        for (uint64_t k = 0; k < n; ++k) value(elem, v.items[size_t(k)], item_what, depth + 1);
        break;
      default:
        v.ints.reserve(size_t(n));
        for (uint64_t k = 0; k < n; ++k) {
          scalar(v.elem_type, item, item_what);
          if (v.elem_type == GgufValueType::U64 && item.i < 0)
            fail("{}: {}: u64 value {} is too large", in.file(), what, item.u);
          v.ints.push_back(item.i);
        }
    }
  }
};

size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

// "NAME-00002-of-00005.gguf" → ("NAME", 2, 5).
struct SplitName {
  std::string prefix;
  int index = 0, count = 0;
};
std::optional<SplitName> parse_split_name(const fs::path& path) {
  static const std::regex kPattern(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
  std::smatch m;
  const std::string name = path.filename().string();
  if (!std::regex_match(name, m, kPattern)) return std::nullopt;
  return SplitName{m[1].str(), std::stoi(m[2].str()), std::stoi(m[3].str())};
}

bool starts_with_gguf_magic(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace

std::string_view gguf_value_type_name(GgufValueType type) {
  static constexpr std::string_view kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                                "bool", "string", "array", "u64", "i64", "f64"};
  return size_t(type) < std::size(kNames) ? kNames[size_t(type)] : "unknown";
}

namespace {
bool is_int_type(GgufValueType type) {
  switch (type) {
    case GgufValueType::F32: case GgufValueType::F64: case GgufValueType::String: case GgufValueType::Array:
      return false;
    default:
      return true;
  }
}
}  // namespace

bool GgufValue::is_int() const { return is_int_type(type); }

bool GgufValue::is_float() const { return type == GgufValueType::F32 || type == GgufValueType::F64; }

size_t GgufValue::array_size() const {
  return ints.size() + floats.size() + strings.size() + items.size();
}

// ------------------------------------------------------------------------------------------------ metadata

const GgufValue* GgufMetadata::find(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

void GgufMetadata::wrong_kind(const std::string& key, const char* wanted) const {
  const GgufValue& v = values_.at(key);
  std::string got(gguf_value_type_name(v.type));
  if (v.is_array()) got += " of " + std::string(gguf_value_type_name(v.elem_type));
  fail("{}: metadata key '{}' must be {}, got {}", source_, key, wanted, got);
}

namespace {
const GgufValue& require(const GgufMetadata& m, const std::string& key) {
  const GgufValue* v = m.find(key);
  if (v == nullptr) fail("{}: metadata key '{}' is missing", m.source(), key);
  return *v;
}
}  // namespace

int64_t GgufMetadata::get_int(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  if (!v.is_int() || v.type == GgufValueType::Bool) wrong_kind(key, "an integer");
  if (v.type == GgufValueType::U64 && v.i < 0) fail("{}: metadata key '{}': value {} is too large", source_, key, v.u);
  return v.i;
}

double GgufMetadata::get_float(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  if (v.is_float()) return v.f;
  if (v.is_int() && v.type != GgufValueType::Bool) return double(get_int(key));
  wrong_kind(key, "a number");
}

bool GgufMetadata::get_bool(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  if (v.type != GgufValueType::Bool) wrong_kind(key, "a bool");
  return v.i != 0;
}

const std::string& GgufMetadata::get_string(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  if (v.type != GgufValueType::String) wrong_kind(key, "a string");
  return v.s;
}

const std::vector<std::string>& GgufMetadata::get_strings(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  if (!v.is_array() || v.elem_type != GgufValueType::String) wrong_kind(key, "an array of strings");
  return v.strings;
}

const std::vector<int64_t>& GgufMetadata::get_ints(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  if (!v.is_array() || !is_int_type(v.elem_type) || v.elem_type == GgufValueType::Bool)
    wrong_kind(key, "an array of integers");
  return v.ints;
}

std::vector<double> GgufMetadata::get_floats(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  if (!v.is_array()) wrong_kind(key, "an array of numbers");
  if (v.elem_type == GgufValueType::F32 || v.elem_type == GgufValueType::F64) return v.floats;
  if (v.elem_type == GgufValueType::String || v.elem_type == GgufValueType::Array ||
      v.elem_type == GgufValueType::Bool)
    wrong_kind(key, "an array of numbers");
  return std::vector<double>(v.ints.begin(), v.ints.end());
}

int64_t GgufMetadata::int_or(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}
double GgufMetadata::float_or(const std::string& key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}
bool GgufMetadata::bool_or(const std::string& key, bool fallback) const {
  return has(key) ? get_bool(key) : fallback;
}
std::string GgufMetadata::string_or(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

// ------------------------------------------------------------------------------------------------ one file

Shape GgufTensorInfo::shape() const { return Shape(ne.rbegin(), ne.rend()); }

std::shared_ptr<GgufFile> GgufFile::open(const fs::path& path) {
  std::shared_ptr<GgufFile> file(new GgufFile());
  file->self_ = file;
  file->path_ = path;
  const std::string name = path.string();
  std::shared_ptr<const MappedFile> mapped = MappedFile::open(path);
  file->map_ = mapped->data();
  file->map_size_ = mapped->size();
  file->mapping_ = std::move(mapped);

  Cursor in(file->map_, file->map_ + file->map_size_, name);
  if (file->map_size_ < 4 || std::memcmp(file->map_, "GGUF", 4) != 0)
    fail("{}: not a GGUF file (bad magic; expected \"GGUF\")", name);
  in.read<uint32_t>("magic");
  const uint32_t version = in.read<uint32_t>("version");
  if (version == 0x02000000u || version == 0x03000000u) fail("{}: big-endian GGUF files are not supported", name);
  if (version == 1) fail("{}: GGUF version 1 is not supported (re-convert the model; versions 2 and 3 are)", name);
  if (version != 2 && version != 3) fail("{}: unsupported GGUF version {} (supported: 2, 3)", name, version);
  file->version_ = version;
  const uint64_t n_tensors = in.read<uint64_t>("tensor count");
  const uint64_t n_kv = in.read<uint64_t>("metadata count");
  // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8 + 4 + 4 + 8.
  if (n_kv > in.left() / 13) fail("{}: {} metadata entries cannot fit in a {} byte file", name, n_kv, file->map_size_);
  if (n_tensors > in.left() / 24) fail("{}: {} tensors cannot fit in a {} byte file", name, n_tensors, file->map_size_);

  std::map<std::string, GgufValue> values;
  ValueReader reader{in};
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = in.string(fmt::format("metadata key {}", k));
    const uint32_t type = in.read<uint32_t>(fmt::format("type of metadata key '{}'", key).c_str());
    GgufValue v;
    reader.value(type, v, fmt::format("metadata key '{}'", key), 0);
    if (!values.emplace(key, std::move(v)).second) fail("{}: metadata key '{}' appears twice", name, key);
  }
  file->metadata_ = GgufMetadata(name, std::move(values));
  if (const GgufValue* a = file->metadata_.find("general.alignment")) {
    if (a->type != GgufValueType::U32) fail("{}: metadata key 'general.alignment' must be u32", name);
    if (a->i == 0 || (a->i & (a->i - 1)) != 0)
      fail("{}: general.alignment {} is not a power of two", name, a->i);
    file->alignment_ = size_t(a->i);
  }

  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    t.name = in.string(fmt::format("name of tensor {}", k));
    const std::string what = fmt::format("{}: tensor '{}'", name, t.name);
    const uint32_t n_dims = in.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) fail("{}: {} dimensions (supported: 1 to {})", what, n_dims, kMaxDims);
    // The product of the nonzero dimensions must fit in int64, so that every partial product does, in any
    // order (Shape products run from the last dimension; a zero dimension elsewhere makes numel 0).
    uint64_t numel = 1, bound = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = in.read<uint64_t>("tensor dimension");
      if (ne > uint64_t(std::numeric_limits<int64_t>::max()) || __builtin_mul_overflow(bound, std::max<uint64_t>(ne, 1), &bound) ||
          bound > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("{}: dimensions too large (overflow)", what);
      numel *= ne;
      t.ne.push_back(int64_t(ne));
    }
    t.ggml_type = in.read<uint32_t>("tensor type");
    t.offset = in.read<uint64_t>("tensor data offset");
    t.dtype = dtype_from_ggml(t.ggml_type);
    if (ggml_type_name(t.ggml_type).starts_with("type "))
      fail("{}: unknown GGML type id {}", what, t.ggml_type);
    if (t.dtype) {
      const DTypeTraits& tr = dtype_traits(*t.dtype);
      if (t.ne[0] % tr.block_elems != 0)
        fail("{}: {} rows of {} elements are not whole {}-element blocks", what, tr.name, t.ne[0], tr.block_elems);
      uint64_t bytes = 0;
      if (__builtin_mul_overflow(numel / uint64_t(tr.block_elems), uint64_t(tr.block_bytes), &bytes))
        fail("{}: size in bytes overflows", what);
      t.nbytes = size_t(bytes);
    }
    if (t.offset % file->alignment_ != 0)
      fail("{}: data offset {} is not a multiple of the alignment {}", what, t.offset, file->alignment_);
    if (file->index_.count(t.name)) fail("{}: appears twice", what);
    file->index_[t.name] = file->tensors_.size();
    file->tensors_.push_back(std::move(t));
  }
  file->data_offset_ = align_up(in.pos(), file->alignment_);
  const size_t data_size = file->data_offset_ <= file->map_size_ ? file->map_size_ - file->data_offset_ : 0;
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : file->tensors_) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      fail("{}: tensor '{}' data [{}, {}) lies beyond the end of the data section ({} bytes)", name, t.name,
           t.offset, t.offset + t.nbytes, data_size);
    if (t.nbytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k)
    if (by_offset[k]->offset < by_offset[k - 1]->offset + by_offset[k - 1]->nbytes)
      fail("{}: tensor '{}' data overlaps tensor '{}'", name, by_offset[k]->name, by_offset[k - 1]->name);
  return file;
}

GgufFile::~GgufFile() = default;

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Tensor GgufFile::get(const std::string& name) const {
  const GgufTensorInfo* t = find(name);
  if (t == nullptr) fail("tensor '{}' not found in {}", name, path_.string());
  if (!t->dtype)
    fail("{}: tensor '{}' has type {}, which whale does not run (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, "
         "Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)",
         path_.string(), name, ggml_type_name(t->ggml_type));
  std::shared_ptr<const void> keep_alive = self_.lock();
  return Tensor::view(*t->dtype, t->shape(), map_ + data_offset_ + t->offset, std::move(keep_alive));
}

// ------------------------------------------------------------------------------------------------ store

GgufStore GgufStore::open(const fs::path& path) {
  std::optional<fs::path> first = find_model_file(path);
  if (!first) fail("{}: no .gguf model file there", path.string());
  GgufStore store;
  store.files_.push_back(GgufFile::open(*first));
  const GgufMetadata& meta = store.metadata();
  const int64_t count = meta.int_or("split.count", 1);
  if (count < 1 || count > 99999) fail("{}: split.count {} is out of range", first->string(), count);
  if (count > 1) {
    const int64_t no = meta.int_or("split.no", 0);
    if (no != 0)
      fail("{}: this is shard {} of {} of a split model; pass the first shard (-00001-of-{:05d}.gguf)",
           first->string(), no + 1, count, count);
    std::optional<SplitName> split = parse_split_name(*first);
    if (!split || split->count != count)
      fail("{}: split.count is {} but the file name is not NAME-00001-of-{:05d}.gguf", first->string(), count, count);
    for (int i = 2; i <= count; ++i) {
      fs::path shard = first->parent_path() / fmt::format("{}-{:05d}-of-{:05d}.gguf", split->prefix, i, count);
      if (!fs::exists(shard)) fail("{}: shard {} of {} is missing ({})", first->string(), i, count, shard.string());
      auto file = GgufFile::open(shard);
      if (file->metadata().int_or("split.no", -1) != i - 1)
        fail("{}: split.no is not {} as its name says", shard.string(), i - 1);
      store.files_.push_back(std::move(file));
    }
  }
  for (size_t f = 0; f < store.files_.size(); ++f)
    for (const GgufTensorInfo& t : store.files_[f]->tensors())
      if (!store.where_.emplace(t.name, f).second)
        fail("{}: tensor '{}' is also in {}", store.files_[f]->path().string(), t.name,
             store.files_[store.where_[t.name]]->path().string());
  const int64_t want = meta.int_or("split.tensors.count", int64_t(store.where_.size()));
  if (want != int64_t(store.where_.size()))
    fail("{}: split.tensors.count is {} but the shards hold {} tensors", first->string(), want, store.where_.size());
  return store;
}

std::optional<fs::path> GgufStore::find_model_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> models;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const fs::path& p = entry.path();
      if (p.extension() != ".gguf" || !entry.is_regular_file(ec)) continue;
      std::optional<SplitName> split = parse_split_name(p);
      if (split && split->index != 1) continue;  // found through its first shard
      models.push_back(p);
    }
    if (models.empty()) return std::nullopt;
    std::sort(models.begin(), models.end());
    if (models.size() > 1) {
      std::string list;
      for (const fs::path& m : models) list += (list.empty() ? "" : ", ") + m.filename().string();
      fail("{}: holds several GGUF models ({}); pass the file to use", path.string(), list);
    }
    return models.front();
  }
  if (path.extension() == ".gguf" || (fs::is_regular_file(path, ec) && starts_with_gguf_magic(path))) return path;
  return std::nullopt;
}

const GgufTensorInfo* GgufStore::find(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : files_[it->second]->find(name);
}

Tensor GgufStore::get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail("tensor '{}' not found in {}", name, source().string());
  return files_[it->second]->get(name);
}

void GgufStore::drop_resident_pages() const {
  for (const auto& f : files_) f->mapping().drop_resident_pages();
}

std::vector<std::string> GgufStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : where_) out.push_back(name);
  return out;
}

}  // namespace whale

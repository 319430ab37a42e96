// GGUF files (llama.cpp's format, versions 2 and 3), read through mmap: the metadata key/value section (every
// value type, arrays included), the tensor infos, and zero-copy views of the tensor data. A sharded set
// (`NAME-00001-of-0000N.gguf`, llama-gguf-split) opens as one store.
// Layout: magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, n_kv × (string key, u32 type, value),
// n_tensors × (string name, u32 n_dims, n_dims × u64 ne, u32 ggml type, u64 offset), padding to
// general.alignment (default 32), then the data; strings are u64 length + bytes; little-endian throughout.
// ne[0] is the fastest-varying dimension: a tensor with ne = [cols, rows] is row-major [rows, cols].
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace whale {

class MappedFile;

enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
  U64 = 10, I64 = 11, F64 = 12,
};
std::string_view gguf_value_type_name(GgufValueType type);

// One metadata value. Integers (and bools) are held in `i` (u64 values above INT64_MAX in `u`), floats in
// `f`, strings in `s`; an array holds its element type and its elements in the vector that fits them
// (ints / floats / strings, or `items` for arrays of arrays).
struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string s;
  GgufValueType elem_type = GgufValueType::U8;  // arrays
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::vector<GgufValue> items;

  bool is_int() const;     // any integer type or bool
  bool is_float() const;   // F32 / F64
  bool is_array() const { return type == GgufValueType::Array; }
  size_t array_size() const;
};

// The key/value section with typed accessors. Every error names the file and the key.
class GgufMetadata {
 public:
  GgufMetadata() = default;
  GgufMetadata(std::string source, std::map<std::string, GgufValue> values)
      : source_(std::move(source)), values_(std::move(values)) {}

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  const GgufValue* find(const std::string& key) const;
  const std::map<std::string, GgufValue>& values() const { return values_; }
  const std::string& source() const { return source_; }

  // Required keys: a missing key or a value of the wrong kind throws whale::Error naming both.
  int64_t get_int(const std::string& key) const;     // any integer type (u64 above INT64_MAX rejected)
  double get_float(const std::string& key) const;    // F32 / F64, or an integer
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;  // array of strings
  const std::vector<int64_t>& get_ints(const std::string& key) const;         // array of integers
  std::vector<double> get_floats(const std::string& key) const;                // array of numbers
  // Optional keys: the fallback when absent; the wrong kind still throws.
  int64_t int_or(const std::string& key, int64_t fallback) const;
  double float_or(const std::string& key, double fallback) const;
  bool bool_or(const std::string& key, bool fallback) const;
  std::string string_or(const std::string& key, const std::string& fallback) const;

 private:
  [[noreturn]] void wrong_kind(const std::string& key, const char* wanted) const;
  std::string source_;
  std::map<std::string, GgufValue> values_;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;        // ggml order: ne[0] = contiguous dimension
  uint32_t ggml_type = 0;
  std::optional<DType> dtype;     // nullopt: a ggml type whale does not run (get() names it)
  size_t offset = 0;              // from the start of the data section
  size_t nbytes = 0;              // 0 when dtype is nullopt
  Shape shape() const;            // row-major: ne reversed
};

// One mmap'd .gguf file, validated completely on open: bad magic, an unsupported version, truncation,
// lengths or counts beyond the file, too many dimensions, sizes that overflow, an unknown type id, a
// tensor whose rows are not whole blocks, misaligned or overlapping data, or data beyond the end all throw
// whale::Error naming the file (and the key or tensor).
class GgufFile {
 public:
  static std::shared_ptr<GgufFile> open(const std::filesystem::path& path);
  ~GgufFile();

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  const GgufMetadata& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // in file order
  const GgufTensorInfo* find(const std::string& name) const;
  size_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }  // start of the data section in the file
  // Zero-copy view (row-major shape, stored dtype) that keeps the file mapped. Throws if absent or if its
  // type is one whale does not run.
  Tensor get(const std::string& name) const;
  const MappedFile& mapping() const { return *mapping_; }

 private:
  GgufFile() = default;
  std::filesystem::path path_;
  uint32_t version_ = 0;
  GgufMetadata metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  size_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::shared_ptr<const MappedFile> mapping_;
  const char* map_ = nullptr;
  size_t map_size_ = 0;
  std::weak_ptr<GgufFile> self_;
};

// A model stored as one .gguf or a split set. The metadata is the first file's; tensors come from all.
class GgufStore {
 public:
  // `path`: a .gguf file (the first shard of a split set finds the others: split.count), or a directory
  // holding exactly one model (one file or one split set).
  static GgufStore open(const std::filesystem::path& path);
  // The .gguf file a path names (a directory's single model's first file), or nullopt when the path is
  // not a GGUF model (no .gguf inside, or not a .gguf file). Throws for a directory with several models.
  static std::optional<std::filesystem::path> find_model_file(const std::filesystem::path& path);

  const GgufMetadata& metadata() const { return files_.front()->metadata(); }
  const std::filesystem::path& source() const { return files_.front()->path(); }
  const GgufTensorInfo* find(const std::string& name) const;
  Tensor get(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::vector<std::shared_ptr<GgufFile>>& files() const { return files_; }
  // Drops the files' mapped pages from resident memory (see MappedFile::drop_resident_pages).
  void drop_resident_pages() const;

 private:
  std::vector<std::shared_ptr<GgufFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name → index into files_
};

}  // namespace whale

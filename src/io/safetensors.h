// safetensors checkpoints: read through mmap (single file or sharded via model.safetensors.index.json),
// and write (atomically: temp file + rename).
// Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:[b,e]},
// "__metadata__": {str: str}}, then the data buffer; offsets are relative to the buffer start.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace whale {

class MappedFile;

struct TensorInfo {
  DType dtype;
  Shape shape;
  size_t offset = 0;  // byte offset in the data buffer
  size_t nbytes = 0;
};

// One mmap'd .safetensors file. The header is validated completely on open: every error (truncated file,
// header length beyond the file, malformed JSON, unknown dtype, offsets out of range or not matching
// dtype × shape, overlapping ranges) throws whale::Error naming the file and tensor.
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
  ~SafetensorsFile();

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  // Zero-copy view into the mapping (keeps the file mapped while the Tensor lives). Throws if absent.
  Tensor get(const std::string& name) const;
  const MappedFile& mapping() const { return *mapping_; }

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  std::shared_ptr<const MappedFile> mapping_;
  const char* map_ = nullptr;
  size_t map_size_ = 0;
  const char* data_ = nullptr;  // start of the data buffer inside map_
  std::weak_ptr<SafetensorsFile> self_;
};

// All tensors of a checkpoint directory: model.safetensors, or the shards listed in
// model.safetensors.index.json ("weight_map": name → shard file inside the directory: an absolute path, ".."
// or a symlink leading out of it is an error naming the entry), or a single explicit .safetensors file.
class TensorStore {
 public:
  static TensorStore open(const std::filesystem::path& dir_or_file);

  bool has(const std::string& name) const { return where_.count(name) != 0; }
  Tensor get(const std::string& name) const;  // throws whale::Error "tensor 'x' not found in <dir>"
  const TensorInfo& info(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::filesystem::path& source() const { return source_; }
  // Drops the files' mapped pages from resident memory (see MappedFile::drop_resident_pages).
  void drop_resident_pages() const;

 private:
  std::filesystem::path source_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // name → index into files_
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes tensors (in the given order) to `path` atomically: data goes to `path.tmp-<pid>`, is fsync'd,
// then renamed over `path`. Throws whale::Error on I/O failure, duplicate names, or a `path` that is not a
// regular file (a symlink, FIFO, device or directory there is refused, as core/regular_file.h).
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace whale

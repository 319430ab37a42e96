#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/regular_file.h"
#include "io/json_file.h"
#include "io/mapped_file.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the Python library's limit as well
constexpr const char* kMetadataKey = "__metadata__";
constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

std::string errno_str() { return std::strerror(errno); }

uint64_t read_le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
  return v;
}

// A JSON integer in [0, INT64_MAX]; `what` names the field for the error.
int64_t json_nonneg(const json& v, const std::string& what) {
  if (!v.is_number_integer()) fail("{}: expected a non-negative integer, got {}", what, v.dump());
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max())) fail("{}: value {} is too large", what, u);
    return int64_t(u);
  }
  int64_t i = v.get<int64_t>();
  if (i < 0) fail("{}: negative value {}", what, i);
  return i;
}

// Parses and validates one header entry {dtype, shape, data_offsets} against a data buffer of `data_size`.
TensorInfo parse_entry(const json& entry, const std::string& where, uint64_t data_size) {
  if (!entry.is_object()) fail("{}: entry must be a JSON object, got {}", where, entry.type_name());
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail("{}: missing '{}'", where, key);
  const json& dtype = entry["dtype"];
  const json& shape = entry["shape"];
  const json& offsets = entry["data_offsets"];
  if (!dtype.is_string()) fail("{}: 'dtype' must be a string, got {}", where, dtype.dump());
  if (!shape.is_array()) fail("{}: 'shape' must be an array, got {}", where, shape.dump());
  if (!offsets.is_array() || offsets.size() != 2)
    fail("{}: 'data_offsets' must be an array [begin, end], got {}", where, offsets.dump());

  TensorInfo info;
  info.dtype = parse_dtype(dtype.get<std::string>(), where);
  uint64_t numel = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = json_nonneg(shape[i], fmt::format("{}: shape[{}]", where, i));
    info.shape.push_back(d);
    if (__builtin_mul_overflow(numel, uint64_t(d), &numel) ||
        numel > uint64_t(std::numeric_limits<int64_t>::max()))
      fail("{}: shape {} has too many elements (overflow)", where, shape.dump());
  }
  uint64_t expect_bytes = 0;
  if (__builtin_mul_overflow(numel, uint64_t(dtype_size(info.dtype)), &expect_bytes))
    fail("{}: shape {} is too large in bytes (overflow)", where, shape.dump());

  uint64_t begin = uint64_t(json_nonneg(offsets[0], where + ": data_offsets[0]"));
  uint64_t end = uint64_t(json_nonneg(offsets[1], where + ": data_offsets[1]"));
  if (end < begin) fail("{}: data_offsets [{}, {}] end before begin", where, begin, end);
  if (end > data_size)
    fail("{}: data_offsets [{}, {}] beyond the data buffer ({} bytes)", where, begin, end, data_size);
  if (end - begin != expect_bytes)
    fail("{}: data_offsets span {} bytes but {} {} needs {}", where, end - begin, dtype_name(info.dtype),
         shape_str(info.shape), expect_bytes);
  info.offset = size_t(begin);
  info.nbytes = size_t(end - begin);
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& meta, const std::string& file) {
  if (!meta.is_object()) fail("{}: '__metadata__' must be an object of strings, got {}", file, meta.dump());
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string())
      fail("{}: '__metadata__' value of '{}' must be a string, got {}", file, key, value.dump());
    out[key] = value.get<std::string>();
  }
  return out;
}

// Data ranges of distinct tensors must not overlap (empty tensors overlap nothing).
void check_no_overlap(const std::map<std::string, TensorInfo>& tensors, const std::string& file) {
  std::vector<std::pair<const TensorInfo*, const std::string*>> by_offset;
  for (const auto& [name, info] : tensors)
    if (info.nbytes > 0) by_offset.push_back({&info, &name});
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto& a, const auto& b) { return a.first->offset < b.first->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const auto& [prev, prev_name] = by_offset[i - 1];
    const auto& [cur, cur_name] = by_offset[i];
    if (cur->offset < prev->offset + prev->nbytes)
      fail("{}: tensor '{}' data overlaps tensor '{}'", file, *cur_name, *prev_name);
  }
}

// The file a weight_map entry names: a relative path inside the checkpoint directory. Absolute paths, ".."
// and symlinks that lead out of the directory are refused, so an index cannot make whale read other files.
fs::path shard_path(const fs::path& dir, const std::string& shard, const std::string& tensor, const fs::path& index) {
  const std::string where = fmt::format("{}: weight_map entry '{}' (tensor '{}')", index.string(), shard, tensor);
  const fs::path relative(shard);
  const bool up = std::any_of(relative.begin(), relative.end(), [](const fs::path& part) { return part == ".."; });
  if (relative.empty() || relative.has_root_path() || up) fail("{} points outside the model directory", where);
  // The entry's text is confined; a symlink the directory itself holds is trusted (a Hugging Face cache
  // snapshot links every file into ../../blobs).
  const fs::path path = dir / relative;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("{}: the shard is missing", where);
  return path;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- reading

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->self_ = file;
  file->path_ = path;
  const std::string name = path.string();

  file->mapping_ = MappedFile::open(path);
  file->map_ = file->mapping_->data();
  file->map_size_ = file->mapping_->size();
  const uint64_t file_size = file->map_size_;
  if (file_size < 8) fail("{}: truncated safetensors file ({} bytes, need at least 8)", name, file_size);

  const uint64_t header_len = read_le64(file->map_);
  if (header_len > kMaxHeaderBytes)
    fail("{}: header length {} exceeds the {} byte limit (corrupt file?)", name, header_len, kMaxHeaderBytes);
  if (header_len > file_size - 8)
    fail("{}: header length {} beyond end of file ({} bytes)", name, header_len, file_size);
  file->data_ = file->map_ + 8 + header_len;
  const uint64_t data_size = file_size - 8 - header_len;

  json header;
  try {
    header = json::parse(file->map_ + 8, file->map_ + 8 + header_len);
  } catch (const json::exception& e) {
    fail("{}: malformed JSON header: {}", name, e.what());
  }
  if (!header.is_object()) fail("{}: header must be a JSON object, got {}", name, header.type_name());

  for (const auto& [key, entry] : header.items()) {
    if (key == kMetadataKey) {
      file->metadata_ = parse_metadata(entry, name);
      continue;
    }
    file->tensors_[key] = parse_entry(entry, fmt::format("{}: tensor '{}'", name, key), data_size);
  }
  check_no_overlap(file->tensors_, name);
  return file;
}

SafetensorsFile::~SafetensorsFile() = default;

Tensor SafetensorsFile::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("tensor '{}' not found in {}", name, path_.string());
  const TensorInfo& info = it->second;
  // The view shares ownership of this file, so the mapping outlives every tensor taken from it.
  std::shared_ptr<const void> keep_alive = self_.lock();
  return Tensor::view(info.dtype, info.shape, data_ + info.offset, std::move(keep_alive));
}

// ------------------------------------------------------------------------------------------ tensor store

TensorStore TensorStore::open(const fs::path& dir_or_file) {
  TensorStore store;
  store.source_ = dir_or_file;
  std::error_code ec;
  const bool is_dir = fs::is_directory(dir_or_file, ec);
  if (!is_dir && !fs::exists(dir_or_file, ec))
    fail("{}: no such file or directory", dir_or_file.string());

  std::vector<fs::path> paths;
  json weight_map;
  const fs::path index = dir_or_file / kIndexName;
  if (!is_dir) {
    paths.push_back(dir_or_file);
  } else if (fs::exists(index, ec)) {
    json index_json = read_json_file(index);
    if (!index_json.is_object() || !index_json.contains("weight_map") || !index_json["weight_map"].is_object())
      fail("{}: missing 'weight_map' object", index.string());
    weight_map = index_json["weight_map"];
    std::set<std::string> seen;
    for (const auto& [tensor, shard] : weight_map.items()) {
      if (!shard.is_string())
        fail("{}: weight_map entry for tensor '{}' must be a file name, got {}", index.string(), tensor,
             shard.dump());
      const std::string shard_name = shard.get<std::string>();
      if (seen.insert(shard_name).second) paths.push_back(shard_path(dir_or_file, shard_name, tensor, index));
    }
  } else if (fs::exists(dir_or_file / kSingleName, ec)) {
    paths.push_back(dir_or_file / kSingleName);
  } else {
    fs::directory_iterator it(dir_or_file, ec);
    if (ec) fail("{}: cannot list directory: {}", dir_or_file.string(), ec.message());
    for (const auto& entry : it)
      if (entry.is_regular_file(ec) && entry.path().extension() == ".safetensors") paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());
    if (paths.empty()) fail("no safetensors weights in {}", dir_or_file.string());
  }

  for (const fs::path& path : paths) {
    store.files_.push_back(SafetensorsFile::open(path));
    const size_t idx = store.files_.size() - 1;
    for (const auto& [name, info] : store.files_.back()->tensors()) {
      auto [it, inserted] = store.where_.emplace(name, idx);
      if (!inserted)
        fail("{}: tensor '{}' appears in both {} and {}", dir_or_file.string(), name,
             store.files_[it->second]->path().string(), path.string());
    }
  }

  // Every tensor the index lists must be in the shard it names.
  for (const auto& [tensor, shard] : weight_map.items()) {
    auto it = store.where_.find(tensor);
    const fs::path expected = dir_or_file / shard.get<std::string>();
    if (it == store.where_.end() || store.files_[it->second]->path() != expected)
      fail("{}: tensor '{}' is listed in shard '{}' but not found there", index.string(), tensor,
           shard.get<std::string>());
  }
  return store;
}

Tensor TensorStore::get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail("tensor '{}' not found in {}", name, source_.string());
  return files_[it->second]->get(name);
}

const TensorInfo& TensorStore::info(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail("tensor '{}' not found in {}", name, source_.string());
  return files_[it->second]->tensors().at(name);
}

void TensorStore::drop_resident_pages() const {
  for (const auto& f : files_) f->mapping().drop_resident_pages();
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, idx] : where_) out.push_back(name);
  return out;
}

// ---------------------------------------------------------------------------------------------- writing

namespace {

// Header bytes: JSON in the given tensor order, space-padded to a multiple of 8 (as the Python library).
std::string build_header(const fs::path& path, const NamedTensors& tensors,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey) fail("{}: '{}' is reserved, not a tensor name", path.string(), name);
    if (!names.insert(name).second) fail("{}: duplicate tensor name '{}'", path.string(), name);
    if (!tensor.defined()) fail("{}: tensor '{}' has no data", path.string(), name);
    const uint64_t end = offset + tensor.nbytes();
    header[name] = {{"dtype", std::string(dtype_name(tensor.dtype()))},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string out = header.dump();
  out.append((8 - out.size() % 8) % 8, ' ');
  return out;
}

void write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write failed: {}", errno_str());
    p += n;
    size -= size_t(n);
  }
}

// Owns the temp file until it has been renamed into place; removes it on any failure.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create temp file {}: {}", path_, errno_str());
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  void commit(const std::string& dest) {
    if (::fsync(fd_) != 0) fail("fsync failed: {}", errno_str());
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) fail("close failed: {}", errno_str());
    if (::rename(path_.c_str(), dest.c_str()) != 0) fail("rename from {} failed: {}", path_, errno_str());
    committed_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void write_safetensors(const fs::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  require_replaceable_file(path);
  const std::string header = build_header(path, tensors, metadata);
  const std::string tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  try {
    TempFile file(tmp);
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; ++i) len_bytes[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
    write_all(file.fd(), len_bytes, sizeof(len_bytes));
    write_all(file.fd(), header.data(), header.size());
    for (const auto& [name, tensor] : tensors) write_all(file.fd(), tensor.raw(), tensor.nbytes());
    file.commit(path.string());
  } catch (const Error& e) {
    fail("{}: cannot write safetensors: {}", path.string(), e.what());
  }
}

}  // namespace whale

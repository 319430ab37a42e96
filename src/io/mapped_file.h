// A whole regular file mapped read-only (MAP_PRIVATE). FIFOs, devices and directories are refused before
// they are opened for reading, so a path naming one can neither hang the reader nor be consumed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

namespace whale {

class MappedFile {
 public:
  // Throws whale::Error naming the path (cannot open, not a regular file, mmap failure).
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  // Drops the mapped pages from this process's resident memory (they are read from the file again if
  // touched): for after the contents were copied elsewhere.
  void drop_resident_pages() const;
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace whale

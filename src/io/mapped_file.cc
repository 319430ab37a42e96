#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace whale {

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  struct stat st {};
  if (::stat(name.c_str(), &st) != 0) fail("{}: cannot open: {}", name, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("{}: not a regular file", name);
  // O_NONBLOCK: should the path be swapped for a FIFO after the check, open() still returns at once.
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("{}: cannot open: {}", name, std::strerror(errno));
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", name);
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->size_ = size_t(st.st_size);
  if (file->size_ > 0) {
    void* map = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_err = errno;
    ::close(fd);  // the mapping stays valid without the descriptor
    if (map == MAP_FAILED) fail("{}: mmap failed: {}", name, std::strerror(map_err));
    file->data_ = static_cast<const char*>(map);
  } else {
    ::close(fd);
  }
  return file;
}

void MappedFile::drop_resident_pages() const {
  if (data_ != nullptr) ::madvise(const_cast<char*>(data_), size_, MADV_DONTNEED);  // a hint; fine if refused
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace whale

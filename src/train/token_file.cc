#include "train/token_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/error.h"
#include "core/regular_file.h"

namespace whale {

namespace {

constexpr char kMagic[8] = {'W', 'H', 'A', 'L', 'E', 'T', 'O', 'K'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kFlagMask = 1;

struct Header {
  char magic[8];
  uint32_t version, flags, vocab_size, reserved;
  uint64_t n_tokens, n_documents;
};
static_assert(sizeof(Header) == 40, "token file header must be 40 bytes");

void check_contents(const TokenData& d, const std::string& where) {
  if (d.vocab_size == 0) fail("{}: vocab_size must be > 0", where);
  if (d.has_mask() && d.mask.size() != d.ids.size())
    fail("{}: loss mask has {} entries for {} tokens", where, d.mask.size(), d.ids.size());
  for (size_t i = 0; i < d.ids.size(); ++i)
    if (d.ids[i] >= d.vocab_size) fail("{}: token {} has id {} >= vocab size {}", where, i, d.ids[i], d.vocab_size);
  for (size_t i = 0; i < d.mask.size(); ++i)
    if (d.mask[i] > 1) fail("{}: loss mask value {} at token {} is not 0 or 1", where, int(d.mask[i]), i);
  if (d.n_documents > d.ids.size()) fail("{}: {} documents for only {} tokens", where, d.n_documents, d.ids.size());
}

void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("{}: write failed: {}", path, std::strerror(errno));
    }
    p += w;
    n -= size_t(w);
  }
}

}  // namespace

void write_token_file(const std::filesystem::path& path, const TokenData& data) {
  check_contents(data, path.string());
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kVersion;
  h.flags = data.has_mask() ? kFlagMask : 0;
  h.vocab_size = data.vocab_size;
  h.n_tokens = data.ids.size();
  h.n_documents = data.n_documents;

  require_replaceable_file(path);
  const std::string tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot create: {}", tmp, std::strerror(errno));
  try {
    write_all(fd, &h, sizeof(h), tmp);
    write_all(fd, data.ids.data(), data.ids.size() * sizeof(uint32_t), tmp);
    write_all(fd, data.mask.data(), data.mask.size(), tmp);
    if (::fsync(fd) != 0) fail("{}: fsync failed: {}", tmp, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("{}: cannot rename {} into place: {}", path.string(), tmp, std::strerror(err));
  }
}

TokenData read_token_file(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot read token file: {}", where, ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open token file", where);
  Header h{};
  if (size < sizeof(Header) || !in.read(reinterpret_cast<char*>(&h), sizeof(h)))
    fail("{}: truncated token file ({} bytes, the header alone is {})", where, size, sizeof(Header));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0)
    fail("{}: not a whale token file (bad magic; build one with `whale data build`)", where);
  if (h.version != kVersion) fail("{}: unsupported token file version {} (expected {})", where, h.version, kVersion);
  if ((h.flags & ~kFlagMask) != 0) fail("{}: unknown flags 0x{:x} in the header", where, h.flags);
  if (h.reserved != 0) fail("{}: corrupt header (reserved field is {})", where, h.reserved);
  const bool has_mask = (h.flags & kFlagMask) != 0;
  const uint64_t per_token = sizeof(uint32_t) + (has_mask ? 1 : 0);
  if (h.n_tokens > (size - sizeof(Header)) / per_token || sizeof(Header) + h.n_tokens * per_token != size)
    fail("{}: header says {} tokens{} ({} bytes) but the file has {} bytes: truncated or corrupt", where, h.n_tokens,
         has_mask ? " with a loss mask" : "", sizeof(Header) + h.n_tokens * per_token, size);

  TokenData d;
  d.vocab_size = h.vocab_size;
  d.n_documents = h.n_documents;
  d.ids.resize(h.n_tokens);
  if (!in.read(reinterpret_cast<char*>(d.ids.data()), std::streamsize(h.n_tokens * sizeof(uint32_t))))
    fail("{}: read failed", where);
  if (has_mask) {
    d.mask.resize(h.n_tokens);
    if (!in.read(reinterpret_cast<char*>(d.mask.data()), std::streamsize(h.n_tokens))) fail("{}: read failed", where);
  }
  check_contents(d, where);
  return d;
}

}  // namespace whale

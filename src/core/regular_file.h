// Files named on the command line or in configs may be anything: a FIFO (opening it blocks until someone
// writes), a device, a directory, a symlink. Every reader and writer goes through these checks so that such a
// path is an error naming it, never a hang, a consumed stream or a replaced device/link.
//   Readers: the path (symlinks followed) must be a regular file; it is checked before open() and again on
//            the descriptor, which is opened O_NONBLOCK so a FIFO swapped in between cannot block either.
//   Writers: the destination must be absent or a regular file itself; a symlink is refused (not followed,
//            not replaced), as are FIFOs, devices, sockets and directories. Writes are atomic: a temp file
//            beside the destination, fsync'd, renamed over it, and the directory fsync'd.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

namespace whale {

// Throws whale::Error "<path>: cannot open: <reason>" or "<path>: not a regular file (it is a FIFO)".
void require_regular_file(const std::filesystem::path& path);
// A read-only descriptor of the regular file `path` (the caller closes it); throws as require_regular_file.
int open_regular_file(const std::filesystem::path& path);
// The whole contents of the regular file `path`.
std::string read_regular_file(const std::filesystem::path& path);

// Throws whale::Error "refusing to replace <path>: it is a <kind>, not a regular file" unless `path` is absent
// or (not following symlinks) a regular file. For writers that do their own temp file + rename.
void require_replaceable_file(const std::filesystem::path& path);
// Writes `path` atomically (after require_replaceable_file): `write` fills the temp file's stream.
void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);
// fsync of a file, or of a directory (making its entries durable); throws whale::Error naming the path.
void fsync_path(const std::filesystem::path& path, bool directory);

}  // namespace whale

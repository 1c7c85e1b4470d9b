#include "file_access.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "svr/core/error.hpp"

namespace svr::io {

std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const std::string& file,
                          const std::string& tensor, const std::string& what) {
  std::uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw_input(file, tensor, what + " overflows 64 bits");
  return r;
}

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& file,
                          const std::string& tensor, const std::string& what) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw_input(file, tensor, what + " overflows 64 bits");
  return r;
}

bool range_inside(std::uint64_t offset, std::uint64_t size, std::uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

RandomAccessFile::RandomAccessFile(const std::string& path) : path_(path) {
  // O_NONBLOCK: opening a FIFO (a model path, or a shard an index names) must not wait for a
  // writer; it is refused below as not a regular file. Regular files ignore the flag.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) {
    const int err = errno;
    throw_input(path, "", err == ENOENT ? "no such file" : "cannot open (" + std::string(std::strerror(err)) + ")");
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw_input(path, "", "not a regular file");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
}

RandomAccessFile::~RandomAccessFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RandomAccessFile::read_exact(std::uint64_t offset, void* out, std::uint64_t size,
                                  const std::string& tensor) const {
  if (!range_inside(offset, size, size_))
    throw_input(path_, tensor,
                "data range [" + std::to_string(offset) + ", +" + std::to_string(size) +
                    ") lies outside the file (size " + std::to_string(size_) + ", truncated?)");
  auto* dst = static_cast<unsigned char*>(out);
  std::uint64_t done = 0;
  while (done < size) {
    const std::uint64_t chunk = std::min<std::uint64_t>(size - done, 1u << 30);
    const ssize_t got = ::pread(fd_, dst + done, chunk, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw_input(path_, tensor, "read error (" + std::string(std::strerror(errno)) + ")");
    if (got == 0)
      throw_input(path_, tensor, "short read at byte " + std::to_string(offset + done) +
                                     " (file truncated while reading?)");
    done += static_cast<std::uint64_t>(got);
  }
}

std::string RandomAccessFile::read_string(std::uint64_t offset, std::uint64_t size,
                                          const std::string& tensor) const {
  if (!range_inside(offset, size, size_))
    read_exact(offset, nullptr, size, tensor);  // throws with the standard message
  std::string s(size, '\0');
  read_exact(offset, s.data(), size, tensor);
  return s;
}

std::uint16_t load_u16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t load_u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t load_u64(const unsigned char* p) {
  return static_cast<std::uint64_t>(load_u32(p)) | (static_cast<std::uint64_t>(load_u32(p + 4)) << 32);
}

}  // namespace svr::io

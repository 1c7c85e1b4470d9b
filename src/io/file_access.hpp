#pragma once
// Internal: bounded random access to a file and overflow-checked arithmetic. Every offset or
// size that comes from a file goes through these helpers before it is used.
#include <cstdint>
#include <string>

namespace svr::io {

// a + b, or throws InputError naming `file`/`tensor` with `what` on overflow.
std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const std::string& file,
                          const std::string& tensor, const std::string& what);
std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& file,
                          const std::string& tensor, const std::string& what);
// True when [offset, offset + size) lies inside [0, limit) without overflow.
bool range_inside(std::uint64_t offset, std::uint64_t size, std::uint64_t limit);

// A read-only file opened once; reads are positional (pread), so several readers may share it.
class RandomAccessFile {
 public:
  // Throws InputError "FILE: cannot open (...)" when missing or unreadable.
  explicit RandomAccessFile(const std::string& path);
  ~RandomAccessFile();
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }
  // Reads exactly `size` bytes at `offset`; throws InputError naming `tensor` (may be empty)
  // when the range is outside the file or the read comes back short.
  void read_exact(std::uint64_t offset, void* out, std::uint64_t size,
                  const std::string& tensor = "") const;
  std::string read_string(std::uint64_t offset, std::uint64_t size,
                          const std::string& tensor = "") const;

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// Little-endian loads from a byte buffer.
std::uint16_t load_u16(const unsigned char* p);
std::uint32_t load_u32(const unsigned char* p);
std::uint64_t load_u64(const unsigned char* p);

}  // namespace svr::io

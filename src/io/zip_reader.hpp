#pragma once
// Internal: a minimal ZIP reader for PyTorch checkpoints (central directory, local headers,
// Zip64). It locates entries; only stored (method 0) entries can be used.
#include <cstdint>
#include <string>
#include <vector>

#include "file_access.hpp"

namespace svr::io {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;         // 0 = stored
  std::uint16_t flags = 0;
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;           // uncompressed
  std::uint64_t local_header = 0;
  std::uint64_t data_offset = 0;    // absolute; valid only after ZipArchive::locate
};

class ZipArchive {
 public:
  // Reads the central directory; throws InputError on a malformed archive.
  explicit ZipArchive(const RandomAccessFile& file);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // nullptr when absent.
  const ZipEntry* find(const std::string& name) const;
  // Checks the entry is stored and unencrypted, reads its local header and returns the absolute
  // file range of its bytes (validated to lie inside the file). `tensor` is named in errors.
  ZipEntry locate(const ZipEntry& entry, const std::string& tensor = "") const;
  // Whole entry in memory (for data.pkl, byteorder, ...); bounded by `limit` bytes.
  std::string read(const ZipEntry& entry, std::uint64_t limit) const;

 private:
  const RandomAccessFile& file_;
  std::vector<ZipEntry> entries_;
};

std::uint32_t crc32(const std::string& bytes);

}  // namespace svr::io

#include "zip_reader.hpp"

#include <algorithm>
#include <array>

#include "svr/core/error.hpp"

namespace svr::io {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint64_t kMaxEntries = 10'000'000;

// Zip64 extended information: the 64-bit values replace, in this order, exactly the header
// fields that hold 0xFFFFFFFF.
void apply_zip64_extra(const std::string& path, const std::string& extra, ZipEntry& e,
                       bool need_size, bool need_csize, bool need_offset) {
  std::size_t p = 0;
  while (p + 4 <= extra.size()) {
    const auto* b = reinterpret_cast<const unsigned char*>(extra.data()) + p;
    const std::uint16_t id = load_u16(b);
    const std::uint16_t len = load_u16(b + 2);
    if (p + 4 + len > extra.size()) break;
    if (id == 0x0001) {
      std::size_t q = 0;
      auto take = [&](std::uint64_t& field) {
        if (q + 8 > len) throw_input(path, "", "zip entry '" + e.name + "': truncated Zip64 extra field");
        field = load_u64(b + 4 + q);
        q += 8;
      };
      if (need_size) take(e.size);
      if (need_csize) take(e.compressed_size);
      if (need_offset) take(e.local_header);
      return;
    }
    p += 4 + len;
  }
  if (need_size || need_csize || need_offset)
    throw_input(path, "", "zip entry '" + e.name + "': sizes need a Zip64 extra field that is missing");
}

}  // namespace

ZipArchive::ZipArchive(const RandomAccessFile& file) : file_(file) {
  const std::string& path = file.path();
  const std::uint64_t size = file.size();
  if (size < 22) throw_input(path, "", "zip archive too short for an end of central directory record");
  // The end record sits in the last 22 + 65535 (comment) bytes; scan backwards for it.
  const std::uint64_t tail_size = std::min<std::uint64_t>(size, 22 + 65535);
  const std::string tail = file.read_string(size - tail_size, tail_size);
  const auto* t = reinterpret_cast<const unsigned char*>(tail.data());
  std::int64_t eocd = -1;
  for (std::int64_t i = static_cast<std::int64_t>(tail_size) - 22; i >= 0; --i)
    if (load_u32(t + i) == kEndSig) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw_input(path, "", "not a valid zip archive (no end of central directory record)");
  const unsigned char* end = t + eocd;
  std::uint64_t count = load_u16(end + 10);
  std::uint64_t cd_size = load_u32(end + 12);
  std::uint64_t cd_offset = load_u32(end + 16);
  const std::uint64_t eocd_abs = size - tail_size + static_cast<std::uint64_t>(eocd);

  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd_abs < 20) throw_input(path, "", "zip archive: Zip64 locator missing");
    unsigned char loc[20];
    file.read_exact(eocd_abs - 20, loc, 20);
    if (load_u32(loc) != kZip64LocatorSig) throw_input(path, "", "zip archive: Zip64 locator missing");
    const std::uint64_t z64 = load_u64(loc + 8);
    unsigned char rec[56];
    if (!range_inside(z64, 56, size)) throw_input(path, "", "zip archive: Zip64 end record outside the file");
    file.read_exact(z64, rec, 56);
    if (load_u32(rec) != kZip64EndSig) throw_input(path, "", "zip archive: bad Zip64 end record signature");
    count = load_u64(rec + 32);
    cd_size = load_u64(rec + 40);
    cd_offset = load_u64(rec + 48);
  }
  if (count > kMaxEntries) throw_input(path, "", "zip archive claims an absurd number of entries");
  if (!range_inside(cd_offset, cd_size, size))
    throw_input(path, "", "zip central directory lies outside the file (truncated?)");
  if (cd_size > 1024ull * 1024 * 1024) throw_input(path, "", "zip central directory is absurdly large");
  const std::string cd = file.read_string(cd_offset, cd_size);
  const auto* c = reinterpret_cast<const unsigned char*>(cd.data());

  std::size_t p = 0;
  for (std::uint64_t k = 0; k < count; ++k) {
    if (p + 46 > cd.size() || load_u32(c + p) != kCentralSig)
      throw_input(path, "", "zip central directory is corrupt at entry " + std::to_string(k));
    ZipEntry e;
    e.flags = load_u16(c + p + 8);
    e.method = load_u16(c + p + 10);
    e.crc32 = load_u32(c + p + 16);
    e.compressed_size = load_u32(c + p + 20);
    e.size = load_u32(c + p + 24);
    const std::size_t name_len = load_u16(c + p + 28);
    const std::size_t extra_len = load_u16(c + p + 30);
    const std::size_t comment_len = load_u16(c + p + 32);
    e.local_header = load_u32(c + p + 42);
    if (p + 46 + name_len + extra_len + comment_len > cd.size())
      throw_input(path, "", "zip central directory is corrupt at entry " + std::to_string(k));
    e.name = cd.substr(p + 46, name_len);
    const std::string extra = cd.substr(p + 46 + name_len, extra_len);
    apply_zip64_extra(path, extra, e, e.size == 0xFFFFFFFF, e.compressed_size == 0xFFFFFFFF,
                      e.local_header == 0xFFFFFFFF);
    entries_.push_back(std::move(e));
    p += 46 + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  for (const ZipEntry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

ZipEntry ZipArchive::locate(const ZipEntry& entry, const std::string& tensor) const {
  const std::string& path = file_.path();
  const std::string what = "zip entry '" + entry.name + "'";
  if (entry.flags & 1) throw_input(path, tensor, what + " is encrypted (not supported)");
  if (entry.method != 0)
    throw_input(path, tensor, what + " is compressed (method " + std::to_string(entry.method) +
                                  "); only stored (uncompressed) entries are supported, as torch.save writes them");
  if (entry.compressed_size != entry.size)
    throw_input(path, tensor, what + " is stored but its compressed and uncompressed sizes differ");
  unsigned char local[30];
  if (!range_inside(entry.local_header, 30, file_.size()))
    throw_input(path, tensor, what + ": local header lies outside the file (truncated?)");
  file_.read_exact(entry.local_header, local, 30);
  if (load_u32(local) != kLocalSig) throw_input(path, tensor, what + ": bad local header signature");
  const std::uint64_t name_len = load_u16(local + 26);
  const std::uint64_t extra_len = load_u16(local + 28);
  if (file_.read_string(entry.local_header + 30, name_len, tensor) != entry.name)
    throw_input(path, tensor, what + ": local header names a different entry");
  ZipEntry out = entry;
  out.data_offset = entry.local_header + 30 + name_len + extra_len;  // no overflow: header is in the file
  if (!range_inside(out.data_offset, entry.size, file_.size()))
    throw_input(path, tensor, what + " (" + std::to_string(entry.size) + " bytes) extends past the end of the file (truncated?)");
  return out;
}

std::string ZipArchive::read(const ZipEntry& entry, std::uint64_t limit) const {
  const ZipEntry located = locate(entry);
  if (located.size > limit)
    throw_input(file_.path(), "", "zip entry '" + entry.name + "' is absurdly large (" + std::to_string(located.size) + " bytes)");
  std::string bytes = file_.read_string(located.data_offset, located.size);
  if (crc32(bytes) != entry.crc32) throw_input(file_.path(), "", "zip entry '" + entry.name + "' fails its CRC-32 check (corrupt file)");
  return bytes;
}

std::uint32_t crc32(const std::string& bytes) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : bytes) crc = table[(crc ^ ch) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace svr::io

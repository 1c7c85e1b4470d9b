#pragma once
// Helpers of the io unit tests: byte builders for safetensors, zip archives and pickles, and
// the standard check of an InputError. The shared TempDir, read_file and write_file come with it.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr_test/files.hpp"
#include "svr_test/temp_dir.hpp"

namespace svr::test {

inline std::string data_dir() { return std::string(SVR_TEST_DATA_DIR) + "/io"; }

inline std::string le(std::uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}

// 8-byte header length, header text, data section: the safetensors layout, unchecked.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le(header.size(), 8) + header + data;
}

inline std::uint32_t test_crc32(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : bytes) {
    crc ^= ch;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFu;
}

struct ZipItem {
  std::string name;
  std::string data;
  std::uint16_t method = 0;  // 0 stored; anything else claims compression (bytes left as is)
};

// A minimal zip archive (local headers, central directory, end record), as torch.save makes.
// With `zip64`, every size and offset goes through Zip64 extra fields and the Zip64 end record.
inline std::string zip_bytes(const std::vector<ZipItem>& items, bool zip64 = false) {
  const std::uint64_t ff = 0xFFFFFFFFu;
  std::string out, central;
  for (const ZipItem& item : items) {
    const std::uint64_t offset = out.size();
    const std::uint64_t size = item.data.size();
    const std::uint32_t crc = test_crc32(item.data);
    const std::string local_extra = zip64 ? le(1, 2) + le(16, 2) + le(size, 8) + le(size, 8) : "";
    const std::string central_extra = zip64 ? le(1, 2) + le(24, 2) + le(size, 8) + le(size, 8) + le(offset, 8) : "";
    auto common = [&](const std::string& extra) {
      return le(zip64 ? 45 : 20, 2) + le(0, 2) + le(item.method, 2) + le(0, 2) + le(0, 2) + le(crc, 4) +
             le(zip64 ? ff : size, 4) + le(zip64 ? ff : size, 4) + le(item.name.size(), 2) + le(extra.size(), 2);
    };
    out += le(0x04034b50, 4) + common(local_extra) + item.name + local_extra + item.data;
    central += le(0x02014b50, 4) + le(20, 2) + common(central_extra) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) +
               le(zip64 ? ff : offset, 4) + item.name + central_extra;
  }
  const std::uint64_t cd_offset = out.size();
  out += central;
  if (zip64) {
    const std::uint64_t record = out.size();
    out += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(items.size(), 8) +
           le(items.size(), 8) + le(central.size(), 8) + le(cd_offset, 8);
    out += le(0x07064b50, 4) + le(0, 4) + le(record, 8) + le(1, 4);
  }
  out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(zip64 ? 0xFFFF : items.size(), 2) +
         le(zip64 ? 0xFFFF : items.size(), 2) + le(zip64 ? ff : central.size(), 4) + le(zip64 ? ff : cd_offset, 4) + le(0, 2);
  return out;
}

// Pickle snippets (protocol 2), enough to hand-write a tensor state_dict.
inline std::string pk_str(const std::string& s) { return "X" + le(s.size(), 4) + s; }
inline std::string pk_int(int v) { return "K" + std::string(1, static_cast<char>(v)); }
inline std::string pk_global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
inline std::string pk_tuple(const std::vector<int>& v) {
  std::string s = "(";
  for (int x : v) s += pk_int(x);
  return s + "t";
}
// torch._utils._rebuild_tensor_v2(FloatStorage key of `numel` elements, offset, shape, stride, ...)
inline std::string pk_tensor(const std::string& key, int numel, int offset, const std::vector<int>& shape,
                             const std::vector<int>& stride) {
  return pk_global("torch._utils", "_rebuild_tensor_v2") + "(" + "(" + pk_str("storage") +
         pk_global("torch", "FloatStorage") + pk_str(key) + pk_str("cpu") + pk_int(numel) + "tQ" + pk_int(offset) +
         pk_tuple(shape) + pk_tuple(stride) + "\x89" + pk_global("collections", "OrderedDict") + ")R" + "tR";
}
// OrderedDict of (key, value-pickle) pairs.
inline std::string pk_state_dict(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string s = std::string("\x80\x02", 2) + pk_global("collections", "OrderedDict") + ")R(";
  for (const auto& [k, v] : entries) s += pk_str(k) + v;
  return s + "u.";
}

inline std::string float_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// Runs `f`, expects svr::InputError with a one-line message containing every `part`; returns
// the message for further checks.
inline std::string expect_input_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected svr::InputError, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected svr::InputError, nothing was thrown";
  return "";
}

}  // namespace svr::test

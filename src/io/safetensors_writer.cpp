#include "svr/io/safetensors_writer.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "svr/core/error.hpp"
#include "svr/core/tensor.hpp"

namespace svr {

void write_safetensors(const std::string& path, const std::vector<NamedArray>& arrays,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const NamedArray& a : arrays) {
    std::uint64_t numel = 1;
    for (std::int64_t d : a.shape) {
      if (d < 0) throw OutputError(path + ": array '" + a.name + "': negative dimension in shape " + shape_string(a.shape));
      numel *= static_cast<std::uint64_t>(d);
    }
    if (numel != a.data.size())
      throw OutputError(path + ": array '" + a.name + "': shape " + shape_string(a.shape) + " needs " +
                        std::to_string(numel) + " values, got " + std::to_string(a.data.size()));
    if (a.name == "__metadata__" || header.contains(a.name))
      throw OutputError(path + ": array name '" + a.name + "' is reserved or used twice");
    header[a.name] = {{"dtype", "F64"}, {"shape", a.shape}, {"data_offsets", {offset, offset + 8 * numel}}};
    offset += 8 * numel;
  }
  std::string text = header.dump();
  // The data section starts 8-byte aligned: pad the header JSON with spaces.
  text.append((8 - text.size() % 8) % 8, ' ');

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw OutputError(path + ": cannot open for writing (" + std::strerror(errno) + ")");
  unsigned char length[8];
  const std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(length), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const NamedArray& a : arrays)  // little-endian hosts: doubles are already in file order
    out.write(reinterpret_cast<const char*>(a.data.data()), static_cast<std::streamsize>(a.data.size() * sizeof(double)));
  out.flush();
  if (!out) throw OutputError(path + ": write failed (disk full?)");
  out.close();
  if (!out) throw OutputError(path + ": write failed on close");
}

}  // namespace svr

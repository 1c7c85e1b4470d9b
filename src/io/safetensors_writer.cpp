#include "svr/io/safetensors_writer.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "svr/core/error.hpp"
#include "svr/core/tensor.hpp"

namespace svr {

SafetensorsLayout safetensors_layout(const std::string& path, const std::vector<ArraySlot>& arrays,
                                     const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  SafetensorsLayout layout;
  std::uint64_t offset = 0;
  for (const ArraySlot& a : arrays) {
    std::uint64_t numel = 1;
    for (std::int64_t d : a.shape) {
      if (d < 0)
        throw OutputError(path + ": array '" + a.name + "': negative dimension in shape " +
                          shape_string(a.shape));
      numel *= static_cast<std::uint64_t>(d);
    }
    if (a.name == "__metadata__" || header.contains(a.name))
      throw OutputError(path + ": array name '" + a.name + "' is reserved or used twice");
    header[a.name] = {
        {"dtype", "F64"}, {"shape", a.shape}, {"data_offsets", {offset, offset + 8 * numel}}};
    layout.offsets.push_back(offset);
    offset += 8 * numel;
  }
  std::string text = header.dump();
  // The data section starts 8-byte aligned: pad the header JSON with spaces.
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t n = text.size();
  layout.head.resize(8);
  for (int i = 0; i < 8; ++i) layout.head[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  layout.head += text;
  for (std::uint64_t& start : layout.offsets) start += layout.head.size();
  layout.file_size = layout.head.size() + offset;
  return layout;
}

void write_safetensors(const std::string& path, const std::vector<NamedArray>& arrays,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<ArraySlot> slots;
  for (const NamedArray& a : arrays) slots.push_back({a.name, a.shape});
  const SafetensorsLayout layout = safetensors_layout(path, slots, metadata);
  for (const NamedArray& a : arrays) {
    std::uint64_t numel = 1;
    for (std::int64_t d : a.shape) numel *= static_cast<std::uint64_t>(d);  // checked: >= 0
    if (numel != a.data.size())
      throw OutputError(path + ": array '" + a.name + "': shape " + shape_string(a.shape) +
                        " needs " + std::to_string(numel) + " values, got " +
                        std::to_string(a.data.size()));
  }

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw OutputError(path + ": cannot open for writing (" + std::strerror(errno) + ")");
  out.write(layout.head.data(), static_cast<std::streamsize>(layout.head.size()));
  for (const NamedArray& a : arrays)  // little-endian hosts: doubles are already in file order
    out.write(reinterpret_cast<const char*>(a.data.data()),
              static_cast<std::streamsize>(a.data.size() * sizeof(double)));
  out.flush();
  if (!out) throw OutputError(path + ": write failed (disk full?)");
  out.close();
  if (!out) throw OutputError(path + ": write failed on close");
}

}  // namespace svr

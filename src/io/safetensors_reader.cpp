#include "safetensors_reader.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "file_access.hpp"
#include "svr/core/error.hpp"
#include "svr/io/strict_json.hpp"

namespace svr::io {
namespace {

using ojson = nlohmann::ordered_json;

// A JSON integer >= 0 (floats such as 3.0 are refused: shapes and offsets are counts).
bool as_count(const ojson& v, std::uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    out = static_cast<std::uint64_t>(v.get<std::int64_t>());
    return true;
  }
  return false;
}

std::string json_text(const ojson& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

TensorInfo parse_entry(const std::string& path, const std::string& name, const ojson& entry,
                       std::uint64_t data_start, std::uint64_t data_size, std::uint64_t& begin) {
  if (!entry.is_object()) throw_input(path, name, "header entry is not a JSON object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(field))
      throw_input(path, name, std::string("header entry has no \"") + field + "\"");

  TensorInfo t;
  t.name = name;
  t.file = path;
  const ojson& dtype = entry["dtype"];
  if (!dtype.is_string()) throw_input(path, name, "dtype is not a string");
  const auto parsed = parse_dtype(dtype.get<std::string>());
  if (!parsed) throw_input(path, name, "unknown dtype '" + dtype.get<std::string>() + "'");
  t.dtype = *parsed;

  const ojson& shape = entry["shape"];
  if (!shape.is_array()) throw_input(path, name, "bad shape " + json_text(shape) + " (not a list)");
  if (shape.size() > 64) throw_input(path, name, "bad shape: more than 64 dimensions");
  std::uint64_t numel = 1;
  for (const ojson& d : shape) {
    std::uint64_t n;
    if (!as_count(d, n) || n > static_cast<std::uint64_t>(INT64_MAX))
      throw_input(path, name,
                  "bad shape " + json_text(shape) + " (dimensions must be non-negative integers)");
    t.shape.push_back(static_cast<std::int64_t>(n));
    numel = checked_mul(numel, n, path, name, "shape product");
  }
  const std::uint64_t bytes =
      checked_mul(numel, dtype_size(t.dtype), path, name, "shape x element size");

  const ojson& offsets = entry["data_offsets"];
  std::uint64_t b = 0, e = 0;
  if (!offsets.is_array() || offsets.size() != 2 || !as_count(offsets[0], b) ||
      !as_count(offsets[1], e))
    throw_input(
        path, name,
        "bad data_offsets " + json_text(offsets) + " (want [begin, end], non-negative integers)");
  if (b > e) throw_input(path, name, "bad data_offsets " + json_text(offsets) + " (begin > end)");
  if (e > data_size)
    throw_input(path, name,
                "data_offsets " + json_text(offsets) +
                    " lie outside the file (data section holds " + std::to_string(data_size) +
                    " bytes)");
  if (e - b != bytes)
    throw_input(path, name,
                "size mismatch: shape " + shape_string(t.shape) + " x " +
                    std::to_string(dtype_size(t.dtype)) + " bytes (" + dtype_name(t.dtype) +
                    ") = " + std::to_string(bytes) + " bytes but data_offsets span " +
                    std::to_string(e - b) + " bytes");
  t.offset = data_start + b;  // cannot overflow: data_start + e <= file size
  t.nbytes = bytes;
  begin = b;
  return t;
}

}  // namespace

SafetensorsHeader read_safetensors_header(const std::string& path) {
  RandomAccessFile file(path);
  const std::uint64_t size = file.size();
  if (size == 0) throw_input(path, "", "empty file");
  if (size < 8)
    throw_input(
        path, "",
        "file is " + std::to_string(size) + " bytes, too short for a safetensors header length");
  unsigned char prefix[8];
  file.read_exact(0, prefix, 8);
  const std::uint64_t n = load_u64(prefix);
  if (n > kMaxHeaderBytes)
    throw_input(path, "",
                "header length " + std::to_string(n) +
                    " is absurdly large (limit 100 MB; not a safetensors file?)");
  if (n > size - 8)
    throw_input(path, "",
                "header length " + std::to_string(n) + " is larger than the file (" +
                    std::to_string(size) + " bytes; truncated?)");
  const std::string text = file.read_string(8, n);
  const ojson header = parse_strict_json(text, path, "safetensors header");
  if (!header.is_object()) throw_input(path, "", "safetensors header is not a JSON object");

  const std::uint64_t data_start = 8 + n;
  const std::uint64_t data_size = size - data_start;
  SafetensorsHeader out;
  std::vector<std::pair<std::uint64_t, std::size_t>> starts;  // (begin, index) for coverage
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw_input(path, "", "__metadata__ is not a JSON object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          throw_input(path, "", "__metadata__ value of \"" + mk + "\" is not a string");
        if (mk == "svr.layers") out.svr_layers = mv.get<std::string>();
      }
      continue;
    }
    std::uint64_t begin = 0;
    out.tensors.push_back(parse_entry(path, key, value, data_start, data_size, begin));
    starts.emplace_back(begin, out.tensors.size() - 1);
  }

  // The data section must be covered exactly: no overlap (two names for the same bytes), no
  // gaps and no trailing bytes (bytes nobody accounts for suggest a corrupt or forged file).
  std::sort(starts.begin(), starts.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return out.tensors[a.second].nbytes < out.tensors[b.second].nbytes;
  });
  std::uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const auto& [begin, index] : starts) {
    const TensorInfo& t = out.tensors[index];
    if (begin < covered)
      throw_input(path, t.name, "data_offsets overlap those of tensor '" + previous->name + "'");
    if (begin > covered)
      throw_input(path, t.name,
                  "gap of " + std::to_string(begin - covered) +
                      " unused bytes in the data section before this tensor" +
                      (previous ? "" : " (the data section must start at byte 8 + header length)"));
    covered = begin + t.nbytes;
    previous = &t;
  }
  if (covered != data_size)
    throw_input(path, "",
                std::to_string(data_size - covered) +
                    " trailing bytes after the last tensor in the data section");
  return out;
}

std::vector<std::string> parse_declared_layers(const std::string& text, const std::string& file,
                                               const std::vector<TensorInfo>& tensors) {
  ojson list;
  try {
    list = ojson::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw_input(file, "",
                "metadata svr.layers is not valid JSON (want a JSON list of tensor names)");
  }
  if (!list.is_array())
    throw_input(file, "", "metadata svr.layers is not a JSON list of tensor names");
  std::set<std::string> names;
  for (const TensorInfo& t : tensors) names.insert(t.name);
  std::vector<std::string> layers;
  std::set<std::string> seen;
  for (const ojson& v : list) {
    if (!v.is_string())
      throw_input(file, "", "metadata svr.layers holds a non-string entry " + json_text(v));
    const std::string name = v.get<std::string>();
    if (!names.count(name))
      throw_input(file, name, "named in metadata svr.layers but no such tensor in the model");
    if (!seen.insert(name).second) throw_input(file, name, "named twice in metadata svr.layers");
    layers.push_back(name);
  }
  return layers;
}

ModelFile open_sharded_safetensors(const std::string& index_path) {
  std::string text;
  {
    RandomAccessFile index(index_path);
    if (index.size() == 0) throw_input(index_path, "", "empty file");
    if (index.size() > kMaxHeaderBytes)
      throw_input(index_path, "", "index file is absurdly large (limit 100 MB)");
    text = index.read_string(0, index.size());
  }
  const ojson root = parse_strict_json(text, index_path, "safetensors index");
  if (!root.is_object()) throw_input(index_path, "", "safetensors index is not a JSON object");
  if (!root.contains("weight_map") || !root["weight_map"].is_object())
    throw_input(index_path, "", "safetensors index has no \"weight_map\" object");
  const ojson& weight_map = root["weight_map"];
  if (weight_map.empty()) throw_input(index_path, "", "safetensors index has an empty weight_map");

  const auto slash = index_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : index_path.substr(0, slash + 1);

  ModelFile model;
  model.path = index_path;
  model.format = "safetensors-sharded";
  model.files.push_back(index_path);

  // Each shard is opened and validated once, in the order the weight_map first names it.
  std::map<std::string, std::unordered_map<std::string, TensorInfo>> shards;
  std::map<std::string, std::set<std::string>> mapped;  // shard path -> tensors mapped to it
  for (const auto& [name, value] : weight_map.items()) {
    if (!value.is_string() || value.get<std::string>().empty())
      throw_input(index_path, name, "weight_map value is not a shard file name");
    const std::string shard_name = value.get<std::string>();
    if (shard_name.front() == '/')
      throw_input(index_path, name,
                  "shard file name '" + shard_name + "' must be relative to the index");
    // Shards live in the index's folder (or below it): a name that climbs out of it could make
    // svr read, and hash into its run record, any file the user can read.
    for (std::size_t begin = 0; begin <= shard_name.size();) {
      const std::size_t end = std::min(shard_name.find('/', begin), shard_name.size());
      if (shard_name.compare(begin, end - begin, "..") == 0)
        throw_input(index_path, name,
                    "shard file name '" + shard_name + "' points outside the index's folder");
      begin = end + 1;
    }
    const std::string shard = dir + shard_name;
    if (!shards.count(shard)) {
      SafetensorsHeader header = read_safetensors_header(shard);
      auto& by_name = shards[shard];
      for (TensorInfo& t : header.tensors) by_name.emplace(t.name, std::move(t));
      model.files.push_back(shard);
    }
    const auto& by_name = shards[shard];
    const auto it = by_name.find(name);
    if (it == by_name.end())
      throw_input(shard, name,
                  "the index maps this tensor to this shard but the shard does not hold it");
    mapped[shard].insert(name);
    model.tensors.push_back(it->second);
  }
  for (const auto& [shard, by_name] : shards)
    for (const auto& [name, t] : by_name)
      if (!mapped[shard].count(name))
        throw_input(shard, name,
                    "the shard holds this tensor but the index weight_map does not map it here");

  if (root.contains("metadata")) {
    const ojson& meta = root["metadata"];
    if (!meta.is_object()) throw_input(index_path, "", "index \"metadata\" is not a JSON object");
    if (meta.contains("svr.layers")) {
      const ojson& layers = meta["svr.layers"];
      // Stored as a string like in a safetensors header; a plain JSON list is accepted too.
      const std::string layers_text =
          layers.is_string() ? layers.get<std::string>() : layers.dump();
      model.declared_layers = parse_declared_layers(layers_text, index_path, model.tensors);
    }
  }
  return model;
}

}  // namespace svr::io

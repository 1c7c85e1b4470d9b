#include "harnesses.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "file_access.hpp"
#include "onnx_reader.hpp"
#include "pickle_vm.hpp"
#include "safetensors_reader.hpp"
#include "svr/core/error.hpp"
#include "svr/io/model_file.hpp"
#include "svr/io/strict_json.hpp"
#include "svr/network/topology.hpp"
#include "svr_test/files.hpp"
#include "svr_test/temp_dir.hpp"
#include "torch_checkpoint.hpp"
#include "zip_reader.hpp"

namespace svr::fuzz {
namespace {

namespace fs = std::filesystem;

// Tensors up to this many elements are read back (a larger one would only cost time: the
// reads are bounded by the file, which the fuzzer keeps small).
constexpr std::uint64_t kMaxReadElements = 1u << 16;

// One scratch folder per process, removed at exit (under TMPDIR: scripts/fuzz.sh points it at
// /dev/shm). The readers read files: each harness writes its input into its own subfolder.
const test::TempDir& scratch() {
  static const test::TempDir dir;
  return dir;
}

// The subfolder of `harness`; each harness asks once, into a static.
std::string folder(const std::string& harness) {
  const std::string dir = scratch() / harness;
  fs::create_directories(dir);
  return dir;
}

// Writes the input as `name` in `dir` and returns its path.
std::string input_file(const std::string& dir, const std::string& name, const std::uint8_t* data,
                       std::size_t size) {
  const std::string path = dir + "/" + name;
  test::write_file(path, std::string(reinterpret_cast<const char*>(data), size));
  return path;
}

// A refusal must be one printable, non-empty line (docs/errors.md).
void check_refusal(const InputError& error) {
  const std::string message = error.what();
  if (message.empty()) throw Finding("an InputError with an empty message");
  for (unsigned char ch : message)
    if (ch < 0x20 || ch == 0x7f)
      throw Finding("an InputError message that is not one printable line: " + message);
}

// Runs `step`; a refusal (InputError) is a correct outcome and returns false.
template <class Step>
bool accepted(Step&& step) {
  try {
    step();
    return true;
  } catch (const InputError& error) {
    check_refusal(error);
    return false;
  }
}

std::uint64_t element_count(const TensorInfo& t) {
  std::uint64_t n = 1;
  for (std::int64_t d : t.shape) {
    if (d < 0) throw Finding("tensor '" + t.name + "' accepted with a negative dimension");
    if (d != 0 && n > UINT64_MAX / static_cast<std::uint64_t>(d))
      throw Finding("tensor '" + t.name + "' accepted with a shape product that overflows");
    n *= static_cast<std::uint64_t>(d);
  }
  return n;
}

// What every accepted tensor must satisfy: its bytes lie inside its file, a contiguous tensor
// holds exactly its elements, and a small one reads back with as many values as elements.
void check_tensors(const std::vector<TensorInfo>& tensors) {
  for (const TensorInfo& t : tensors) {
    const std::uint64_t numel = element_count(t);
    const io::RandomAccessFile file(t.file);
    if (!io::range_inside(t.offset, t.nbytes, file.size()))
      throw Finding("tensor '" + t.name + "' accepted with bytes outside its file");
    if (t.strides.empty() && numel != 0 && t.nbytes / dtype_size(t.dtype) < numel)
      throw Finding("contiguous tensor '" + t.name + "' accepted with fewer bytes than elements");
    if (numel > kMaxReadElements) continue;
    std::vector<double> values;
    if (accepted([&] { values = read_tensor(t); }) && values.size() != numel)
      throw Finding("tensor '" + t.name + "' read back " + std::to_string(values.size()) +
                    " values for " + std::to_string(numel) + " elements");
  }
}

void check_model(const ModelFile& model) {
  check_tensors(model.tensors);
  for (const TensorInfo& t : model.tensors)
    if (model.find(t.name) == nullptr) throw Finding("tensor '" + t.name + "' cannot be found");
}

}  // namespace

void safetensors_header(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = folder("safetensors_header");
  const std::string path = input_file(dir, "input.safetensors", data, size);
  io::SafetensorsHeader header;
  if (!accepted([&] { header = io::read_safetensors_header(path); })) return;
  if (header.svr_layers)
    accepted([&] { io::parse_declared_layers(*header.svr_layers, path, header.tensors); });
  check_tensors(header.tensors);
}

void sharded_index(const std::uint8_t* data, std::size_t size) {
  // The two valid shards of tests/data/io/sharded beside the index, copied once; the index is
  // the fuzzed input (that folder's index is its seed).
  static const std::string dir = [] {
    const std::string made = folder("sharded_index");
    const fs::path source = fs::path(SVR_SOURCE_DIR) / "tests/data/io/sharded";
    for (const char* shard :
         {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
      fs::copy_file(source / shard, fs::path(made) / shard, fs::copy_options::overwrite_existing);
    return made;
  }();
  const std::string path = input_file(dir, "model.safetensors.index.json", data, size);
  ModelFile model;
  if (!accepted([&] { model = io::open_sharded_safetensors(path); })) return;
  for (const TensorInfo& t : model.tensors) {
    // In the folder or below it ("./x" and "sub/x" are fine), never above.
    const fs::path inside =
        fs::path(t.file).lexically_normal().lexically_relative(fs::path(dir).lexically_normal());
    if (inside.empty() || *inside.begin() == "..")
      throw Finding("tensor '" + t.name +
                    "' accepted from a file outside the index's folder: " + t.file);
  }
  check_model(model);
}

void zip_reader(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = folder("zip_reader");
  const std::string path = input_file(dir, "input.pth", data, size);
  accepted([&] {
    const io::RandomAccessFile file(path);
    const io::ZipArchive zip(file);
    std::size_t visited = 0;
    for (const io::ZipEntry& entry : zip.entries()) {
      if (++visited > 256) break;
      if (zip.find(entry.name) == nullptr)
        throw Finding("zip entry '" + entry.name + "' listed but not found by name");
      accepted([&] {
        const io::ZipEntry located = zip.locate(entry);
        if (!io::range_inside(located.data_offset, located.size, file.size()))
          throw Finding("zip entry '" + entry.name + "' located outside the file");
        const std::string bytes = zip.read(entry, 1u << 20);
        if (bytes.size() != located.size)
          throw Finding("zip entry '" + entry.name + "' read " + std::to_string(bytes.size()) +
                        " bytes of " + std::to_string(located.size));
      });
    }
  });
  ModelFile model;
  if (accepted([&] { model = io::open_torch_zip(path); })) check_model(model);
}

void pickle_machine(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = folder("pickle_machine");
  const std::string path = input_file(dir, "input.pkl", data, size);
  accepted([&] {
    const io::RandomAccessFile file(path);
    io::PickleVm vm(path, "data.pkl");
    io::PickleInput in(file, 0, file.size());
    vm.load(in);
  });
  ModelFile model;
  if (accepted([&] { model = io::open_torch_legacy(path); })) check_model(model);
}

void strict_json(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::ordered_json document;
  if (!accepted([&] { document = io::parse_strict_json(text, "fuzz.json", "document"); })) return;
  // What svr itself writes (summary.json) must read back: serialising is stable.
  const std::string once = document.dump();
  nlohmann::ordered_json again;
  if (!accepted([&] { again = io::parse_strict_json(once, "fuzz.json", "re-serialised"); }))
    throw Finding("a document accepted once is refused after dump(): " + once.substr(0, 200));
  if (again.dump() != once) throw Finding("dump() of the re-read document differs");
}

void topology_file(const std::uint8_t* data, std::size_t size) {
  // The graph fixtures (tests/data/graph), opened once: a topology is planned over each.
  static const std::vector<ModelFile> models = [] {
    std::vector<std::string> paths;
    for (const auto& entry :
         fs::directory_iterator(std::string(SVR_SOURCE_DIR) + "/tests/data/graph"))
      if (entry.path().extension() == ".safetensors") paths.push_back(entry.path().string());
    std::sort(paths.begin(), paths.end());
    std::vector<ModelFile> opened;
    for (const std::string& p : paths) opened.push_back(open_model(p));
    if (opened.empty()) throw std::runtime_error("fuzz: no model in tests/data/graph");
    return opened;
  }();
  static const std::string dir = folder("topology_file");
  const std::string path = input_file(dir, "input.topology.json", data, size);
  const std::string exported = dir + "/exported.topology.json";
  for (const ModelFile& model : models) {
    NetworkOptions options;
    options.topology = path;
    NetworkPlan plan;
    if (!accepted([&] { plan = plan_from_topology(model, options); })) continue;
    // --export-topology of an accepted plan reads back to the same plan.
    const std::string text = topology_json(plan, model.path).dump(1);
    test::write_file(exported, text);
    options.topology = exported;
    NetworkPlan again;
    try {
      again = plan_from_topology(model, options);
    } catch (const InputError& error) {
      throw Finding(std::string("the exported topology of an accepted one is refused: ") +
                    error.what());
    }
    if (topology_json(again, model.path).dump(1) != text)
      throw Finding("the exported topology reads back to a different plan");
  }
}

void onnx_model(const std::uint8_t* data, std::size_t size) {
  // The external data file of tests/data/onnx beside the model, copied once, so that a model
  // that refers to it by its name gets past the open.
  static const std::string dir = [] {
    const std::string made = folder("onnx_model");
    const fs::path source = fs::path(SVR_SOURCE_DIR) / "tests/data/onnx";
    fs::copy_file(source / "digits_cnn_plain_external.bin",
                  fs::path(made) / "digits_cnn_plain_external.bin",
                  fs::copy_options::overwrite_existing);
    return made;
  }();
  const std::string path = input_file(dir, "input.onnx", data, size);
  ModelFile model;
  if (!accepted([&] { model = io::open_onnx(path); })) return;
  check_model(model);
  for (const TensorInfo& t : model.tensors) {
    // External data in the model's folder or below it, never above.
    const fs::path inside =
        fs::path(t.file).lexically_normal().lexically_relative(fs::path(dir).lexically_normal());
    if (inside.empty() || *inside.begin() == "..")
      throw Finding("tensor '" + t.name + "' accepted in " + t.file +
                    ", outside the model's folder");
    // A transposed view is exactly the (in, out) matrix it was stored as.
    if (!t.strides.empty() &&
        (t.shape.size() != 2 || t.strides != std::vector<std::int64_t>{1, t.shape[0]}))
      throw Finding("tensor '" + t.name + "' accepted with strides that are no transpose");
  }
  // The graph's layers are tensors, each read only from layers listed before it.
  std::set<std::string> listed;
  for (const ModelFile::GraphLayer& layer : model.graph_layers) {
    if (model.find(layer.weight) == nullptr)
      throw Finding("layer '" + layer.weight + "' of the graph is no tensor");
    for (const ModelFile::GraphRead& read : layer.reads)
      if (!listed.count(read.producer))
        throw Finding("layer '" + layer.weight + "' reads '" + read.producer +
                      "', not listed before it");
    if (!listed.insert(layer.weight).second)
      throw Finding("layer '" + layer.weight + "' is listed twice");
  }
}

const std::vector<Harness>& harnesses() {
  static const std::vector<Harness> all{{"safetensors_header", safetensors_header},
                                        {"sharded_index", sharded_index},
                                        {"zip_reader", zip_reader},
                                        {"pickle_machine", pickle_machine},
                                        {"strict_json", strict_json},
                                        {"topology_file", topology_file},
                                        {"onnx_model", onnx_model}};
  return all;
}

}  // namespace svr::fuzz

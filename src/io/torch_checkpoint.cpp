#include "torch_checkpoint.hpp"

#include <functional>
#include <map>

#include "file_access.hpp"
#include "pickle_vm.hpp"
#include "svr/core/error.hpp"
#include "zip_reader.hpp"

namespace svr::io {
namespace {

constexpr std::uint64_t kMaxPickleBytes = 1ull << 30;

// Where a storage's bytes are: absolute file offset and byte count actually present.
struct StorageBytes {
  std::uint64_t offset = 0;
  std::uint64_t nbytes = 0;
};
using StorageResolver = std::function<StorageBytes(const StorageRef&, const std::string& tensor)>;

std::string refusal(const std::string& global) {
  return "refused to unpickle global '" + global +
         "' (svr reads only tensor state_dicts; it never executes pickled code)";
}

// Turns a rebuilt tensor into a validated TensorInfo: the strided view must lie inside the
// bytes its storage really has.
TensorInfo make_tensor_info(const std::string& path, const std::string& name, const TensorRef& ref,
                            const StorageResolver& resolve) {
  const StorageRef& storage = *ref.storage->storage;
  const std::optional<DType> dtype = ref.dtype ? ref.dtype : storage.dtype;
  if (!dtype) throw_input(path, name, "unsupported storage type '" + storage.type_name + "'");
  TensorInfo t;
  t.name = name;
  t.file = path;
  t.dtype = *dtype;
  t.shape = ref.shape;
  const std::uint64_t elsize = dtype_size(t.dtype);
  if (ref.storage_offset < 0) throw_input(path, name, "negative storage offset");
  std::uint64_t numel = 1, last = 0;  // last: element index of the view's last element
  for (std::size_t k = 0; k < ref.shape.size(); ++k) {
    if (ref.shape[k] < 0) throw_input(path, name, "negative size in shape " + shape_string(ref.shape));
    if (ref.stride[k] < 0) throw_input(path, name, "negative stride (not supported)");
    numel = checked_mul(numel, static_cast<std::uint64_t>(ref.shape[k]), path, name, "shape product");
  }
  if (numel > 0)
    for (std::size_t k = 0; k < ref.shape.size(); ++k)
      last = checked_add(last, checked_mul(static_cast<std::uint64_t>(ref.shape[k] - 1),
                                           static_cast<std::uint64_t>(ref.stride[k]), path, name, "stride span"),
                         path, name, "stride span");
  const std::uint64_t span = numel == 0 ? 0 : last + 1;

  const StorageBytes bytes = resolve(storage, name);
  const std::uint64_t storage_numel = bytes.nbytes / elsize;
  const std::uint64_t begin = static_cast<std::uint64_t>(ref.storage_offset);
  if (numel > 0 && !range_inside(begin, span, storage_numel))
    throw_input(path, name, "view (offset " + std::to_string(begin) + ", " + std::to_string(span) +
                                " elements) extends past its storage of " + std::to_string(storage_numel) + " elements");
  t.offset = bytes.offset + (numel > 0 ? begin * elsize : 0);
  t.nbytes = span * elsize;
  t.strides = ref.stride;
  if (t.is_contiguous()) t.strides.clear();  // empty strides = contiguous row-major
  return t;
}

bool has_tensor_value(const PyObj* d) {
  if (!d || d->kind != PyKind::Dict) return false;
  for (const auto& [k, v] : d->dict)
    if (v->kind == PyKind::Tensor) return true;
  return false;
}

bool has_placeholder_value(const PyObj* d) {
  for (const auto& [k, v] : d->dict)
    if (v->kind == PyKind::Placeholder) return true;
  return false;
}

// Finds the state_dict (the top-level dict, or the model dict of a training checkpoint) and
// builds the tensor list in its order.
void fill_from_state_dict(ModelFile& model, const PyObj* root, const StorageResolver& resolve) {
  const std::string& path = model.path;
  if (root->kind == PyKind::Placeholder || root->kind == PyKind::Global) throw_input(path, "", refusal(root->text));
  if (root->kind != PyKind::Dict)
    throw_input(path, "", "the checkpoint holds a " + kind_name(root->kind) + ", not a dict of tensors (a state_dict)");

  const PyObj* sd = nullptr;
  std::string nested_refused;  // "key 'model' holds ..." for the error when nothing is found
  if (has_tensor_value(root)) {
    sd = root;
  } else {
    for (const char* key : {"state_dict", "model_state_dict", "model", "net", "module"}) {
      const PyObj* v = root->get(key);
      if (has_tensor_value(v)) {
        sd = v;
        break;
      }
      if (v && v->kind == PyKind::Placeholder && nested_refused.empty())
        nested_refused = std::string("; key '") + key + "' holds an object of '" + v->text +
                         "', which svr refuses to unpickle (save model.state_dict() instead)";
    }
    // Only refused values (and no known model key holding a refused object): report them below.
    if (!sd && nested_refused.empty() && has_placeholder_value(root)) sd = root;
  }
  if (!sd) throw_input(path, "", "no dict of tensors (state_dict) found in the checkpoint" + nested_refused);

  for (const auto& [key, value] : sd->dict) {
    if (key->kind != PyKind::Str) continue;
    if (value->kind == PyKind::Placeholder) model.refused[key->text] = value->text;
    if (value->kind != PyKind::Tensor) continue;  // e.g. optimizer hyper-parameters
    model.tensors.push_back(make_tensor_info(path, key->text, *value->tensor, resolve));
  }
  if (model.tensors.empty()) {
    // Tensors only under keys that are not strings (a state_dict's keys are parameter names).
    if (model.refused.empty()) throw_input(path, "", "the state_dict has no tensor under a string key");
    const auto& [key, global] = *model.refused.begin();
    throw_input(path, key, refusal(global));
  }
}

}  // namespace

ModelFile open_torch_zip(const std::string& path) {
  RandomAccessFile file(path);
  ZipArchive zip(file);
  // torch.save names every entry "<archive>/..."; the archive name is free (file stem, "archive").
  const ZipEntry* pickle = nullptr;
  std::string prefix;
  for (const ZipEntry& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.substr(slash) == "/data.pkl") {
      pickle = &e;
      prefix = e.name.substr(0, slash + 1);
      break;
    }
  }
  if (!pickle) throw_input(path, "", "zip archive has no <archive>/data.pkl entry (not a torch.save checkpoint)");
  if (const ZipEntry* order = zip.find(prefix + "byteorder")) {
    const std::string value = zip.read(*order, 64);
    if (value != "little") throw_input(path, "", "byteorder is '" + value + "'; only little-endian checkpoints are supported");
  }

  const ZipEntry located = zip.locate(*pickle);
  if (located.size > kMaxPickleBytes) throw_input(path, "", "data.pkl is absurdly large");
  (void)zip.read(*pickle, kMaxPickleBytes);  // CRC check of the pickle before interpreting it
  PickleVm vm(path, prefix + "data.pkl");
  PickleInput in(file, located.data_offset, located.data_offset + located.size);
  const PyObj* root = vm.load(in);

  ModelFile model;
  model.path = path;
  model.format = "torch-zip";
  model.order_is_state_dict = true;
  model.files = {path};
  const StorageResolver resolve = [&](const StorageRef& s, const std::string& tensor) {
    const std::string name = prefix + "data/" + s.key;
    const ZipEntry* entry = zip.find(name);
    if (!entry) throw_input(path, tensor, "storage entry '" + name + "' is missing from the zip archive");
    const ZipEntry where = zip.locate(*entry, tensor);
    const std::uint64_t need = checked_mul(s.numel, dtype_size(s.dtype.value_or(DType::U8)), path, tensor, "storage size");
    if (where.size < need)
      throw_input(path, tensor, "storage entry '" + name + "' holds " + std::to_string(where.size) +
                                    " bytes, shorter than the " + std::to_string(need) + " bytes the tensor's storage claims (truncated?)");
    return StorageBytes{where.data_offset, need};
  };
  fill_from_state_dict(model, root, resolve);
  return model;
}

ModelFile open_torch_legacy(const std::string& path) {
  RandomAccessFile file(path);
  PickleInput in(file, 0, file.size());
  PickleVm header_vm(path, "header");
  const PyObj* magic = header_vm.load(in);
  // A bare pickle of some object (not torch.save): refuse what it asks for, by name.
  if (magic->kind == PyKind::Placeholder || magic->kind == PyKind::Global) throw_input(path, "", refusal(magic->text));
  static const std::string kMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);  // 0x1950a86a20f9469cfc6c
  if (magic->kind != PyKind::BigInt || magic->text != kMagic)
    throw_input(path, "", "pickle stream without torch's magic number (not a torch.save checkpoint)");
  const PyObj* protocol = header_vm.load(in);
  if (protocol->kind != PyKind::Int || protocol->integer != 1001)
    throw_input(path, "", "unsupported legacy torch protocol version");
  const PyObj* sys_info = header_vm.load(in);
  if (const PyObj* little = sys_info->get("little_endian"))
    if (little->kind == PyKind::Bool && !little->boolean)
      throw_input(path, "", "big-endian checkpoint; only little-endian checkpoints are supported");

  PickleVm vm(path, "object");
  const PyObj* root = vm.load(in);
  PickleVm keys_vm(path, "storage keys");
  const PyObj* keys = keys_vm.load(in);
  if (keys->kind != PyKind::List) throw_input(path, "", "legacy checkpoint: storage key list is not a list");

  // Element size of each storage key, from the persistent ids that reference it.
  std::map<std::string, std::uint64_t> elsize;
  for (const PyObj* s : vm.storages()) {
    const std::uint64_t size = dtype_size(s->storage->dtype.value_or(DType::U8));
    const auto [it, inserted] = elsize.emplace(s->storage->key, size);
    if (!inserted && it->second != size)
      throw_input(path, "", "storage '" + s->storage->key + "' is referenced with two different element types");
  }
  // Storages follow in key-list order: an 8-byte element count, then the raw bytes.
  std::map<std::string, StorageBytes> where;
  std::uint64_t pos = in.position();
  for (const PyObj* key : keys->items) {
    if (key->kind != PyKind::Str) throw_input(path, "", "legacy checkpoint: storage key is not a string");
    const auto it = elsize.find(key->text);
    if (it == elsize.end()) throw_input(path, "", "storage '" + key->text + "' is listed but no tensor references it");
    unsigned char count_bytes[8];
    if (!range_inside(pos, 8, file.size()))
      throw_input(path, "", "storage '" + key->text + "' lies past the end of the file (truncated?)");
    file.read_exact(pos, count_bytes, 8);
    const std::uint64_t count = load_u64(count_bytes);
    const std::uint64_t nbytes = checked_mul(count, it->second, path, "", "storage size");
    const std::uint64_t data = pos + 8;
    if (!range_inside(data, nbytes, file.size()))
      throw_input(path, "", "storage '" + key->text + "' (" + std::to_string(nbytes) +
                                " bytes) extends past the end of the file (truncated?)");
    where[key->text] = StorageBytes{data, nbytes};
    pos = data + nbytes;
  }

  ModelFile model;
  model.path = path;
  model.format = "torch-legacy";
  model.order_is_state_dict = true;
  model.files = {path};
  const StorageResolver resolve = [&](const StorageRef& s, const std::string& tensor) {
    const auto it = where.find(s.key);
    if (it == where.end()) throw_input(path, tensor, "storage '" + s.key + "' is not in the checkpoint's storage list");
    const std::uint64_t size = dtype_size(s.dtype.value_or(DType::U8));
    StorageBytes bytes = it->second;
    if (bytes.nbytes / size != s.numel)
      throw_input(path, tensor, "storage '" + s.key + "' holds " + std::to_string(bytes.nbytes / size) +
                                    " elements but the pickle says " + std::to_string(s.numel));
    if (s.is_view) {  // old torch: a storage that is a slice of another
      const std::uint64_t off = checked_mul(s.view_offset, size, path, tensor, "storage view offset");
      const std::uint64_t len = checked_mul(s.view_numel, size, path, tensor, "storage view size");
      if (!range_inside(off, len, bytes.nbytes)) throw_input(path, tensor, "storage view extends past its root storage");
      bytes = StorageBytes{bytes.offset + off, len};
    }
    return bytes;
  };
  fill_from_state_dict(model, root, resolve);
  return model;
}

}  // namespace svr::io

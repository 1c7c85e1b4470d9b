#pragma once
// Internal: a restricted pickle virtual machine. It understands the opcodes of protocols 2-5
// that tensor state_dicts use and a short list of globals (OrderedDict, tensor rebuilds,
// storage types). Every other global is an inert placeholder: nothing is ever imported or
// executed, whatever the pickle asks for.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "file_access.hpp"
#include "svr/core/tensor.hpp"

namespace svr::io {

enum class PyKind {
  None, Bool, Int, BigInt, Float, Str, Bytes, Tuple, List, Dict, Set,
  Global,       // a name GLOBAL pushed ("module.name"); never resolved
  Placeholder,  // result of calling/instantiating a global we do not understand
  Storage,      // a persistent id ('storage', ...) of a torch checkpoint
  Tensor        // result of torch._utils._rebuild_tensor*
};

struct PyObj;

struct StorageRef {
  std::string type_name;          // e.g. "torch.FloatStorage"
  std::optional<DType> dtype;     // nullopt: a storage type svr cannot read
  std::string key;                // zip: data/<key>; legacy: the storage key
  std::uint64_t numel = 0;        // elements of the root storage
  bool is_view = false;           // legacy view_metadata (view_key, offset, size)
  std::uint64_t view_offset = 0;  // elements
  std::uint64_t view_numel = 0;
};

struct TensorRef {
  PyObj* storage = nullptr;
  std::optional<DType> dtype;     // explicit dtype (_rebuild_tensor_v3); else the storage's
  std::int64_t storage_offset = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> stride;
};

struct PyObj {
  PyKind kind = PyKind::None;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0.0;
  std::string text;  // Str/Bytes contents, BigInt little-endian bytes, Global/Placeholder name
  std::vector<PyObj*> items;                    // Tuple/List/Set
  std::vector<std::pair<PyObj*, PyObj*>> dict;  // Dict, insertion order
  // Kind-specific parts live behind pointers: a hostile pickle may make millions of objects.
  std::unique_ptr<std::unordered_map<std::string, std::size_t>> dict_index;  // Dict
  std::unique_ptr<StorageRef> storage;  // Storage
  std::unique_ptr<TensorRef> tensor;    // Tensor

  // Dict lookup by string key; nullptr if absent or not a dict.
  PyObj* get(const std::string& key) const;
};

std::string kind_name(PyKind kind);

// Reads a pickle stream out of a range of a file through a small buffer.
class PickleInput {
 public:
  PickleInput(const RandomAccessFile& file, std::uint64_t begin, std::uint64_t end);
  std::uint64_t position() const { return pos_; }             // absolute file offset
  std::uint64_t offset() const { return pos_ - begin_; }      // within the pickle stream
  bool at_end() const { return pos_ >= end_; }
  unsigned char byte();
  std::string bytes(std::uint64_t n);
  std::string line();  // up to '\n' (text opcodes), bounded

 private:
  void fill();
  [[noreturn]] void truncated();
  const RandomAccessFile& file_;
  std::uint64_t begin_, pos_, end_;
  std::vector<unsigned char> buffer_;
  std::uint64_t buffer_start_ = 0;
};

class PickleVm {
 public:
  // `context` names the stream in errors, e.g. "data.pkl".
  PickleVm(const std::string& file, const std::string& context);
  // Runs one pickle to its STOP and returns the result; objects live as long as the VM.
  PyObj* load(PickleInput& in);
  // Every ('storage', ...) persistent id seen, in order of first appearance.
  const std::vector<PyObj*>& storages() const { return storages_; }

 private:
  PyObj* make(PyKind kind);
  PyObj* call(PyObj* callable, PyObj* args);
  PyObj* persistent_load(PyObj* pid);
  PyObj* pop();
  PyObj*& top();
  std::vector<PyObj*> pop_to_mark();
  void set_item(PyObj* dict, PyObj* key, PyObj* value);
  [[noreturn]] void fail(const std::string& problem);

  std::string file_, context_;
  std::deque<PyObj> arena_;  // owns every object; raw pointers stay valid (deque never moves)
  std::size_t tensors_ = 0;  // Tensor objects built (a bomb declares millions)
  std::vector<PyObj*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, PyObj*> memo_;
  std::vector<PyObj*> storages_;
  std::unordered_map<std::string, PyObj*> storage_by_key_;
  std::uint64_t op_position_ = 0;
};

}  // namespace svr::io

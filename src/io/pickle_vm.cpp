#include "pickle_vm.hpp"

#include <cstring>
#include <map>

#include "svr/core/error.hpp"

namespace svr::io {
namespace {

constexpr std::uint64_t kMaxStack = 50'000'000;
constexpr std::size_t kMaxObjects = 20'000'000;  // ~2.5 GB at worst; real state_dicts need far fewer
constexpr std::uint64_t kMaxLine = 4096;
constexpr int kMaxDims = 64;
constexpr std::size_t kMaxMarks = 10'000;      // MARK nesting; real checkpoints use a handful
constexpr std::size_t kMaxTensors = 1'000'000;  // as strict_json's kMaxKeys

std::string hex_byte(unsigned char b) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

// Storage type names as pickled by torch.save (torch.FloatStorage, or torch.cuda.FloatStorage
// for checkpoints saved from a GPU).
std::optional<DType> storage_dtype(const std::string& name) {
  static const std::map<std::string, DType> types = {
      {"DoubleStorage", DType::F64}, {"FloatStorage", DType::F32},  {"HalfStorage", DType::F16},
      {"BFloat16Storage", DType::BF16}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
      {"ShortStorage", DType::I16},  {"CharStorage", DType::I8},    {"ByteStorage", DType::U8},
      {"BoolStorage", DType::BOOL},  {"UntypedStorage", DType::U8}};
  for (const char* prefix : {"torch.", "torch.cuda.", "torch.storage."})
    if (name.rfind(prefix, 0) == 0) {
      const auto it = types.find(name.substr(std::strlen(prefix)));
      if (it != types.end() && name.find('.', std::strlen(prefix)) == std::string::npos) return it->second;
    }
  return std::nullopt;
}

// torch dtype globals (torch.float32, ...) as _rebuild_tensor_v3 passes them.
std::optional<DType> torch_dtype(const std::string& name) {
  static const std::map<std::string, DType> types = {
      {"torch.float64", DType::F64}, {"torch.double", DType::F64}, {"torch.float32", DType::F32},
      {"torch.float", DType::F32},   {"torch.float16", DType::F16}, {"torch.half", DType::F16},
      {"torch.bfloat16", DType::BF16}, {"torch.int64", DType::I64}, {"torch.long", DType::I64},
      {"torch.int32", DType::I32},   {"torch.int", DType::I32},    {"torch.int16", DType::I16},
      {"torch.short", DType::I16},   {"torch.int8", DType::I8},    {"torch.uint8", DType::U8},
      {"torch.bool", DType::BOOL}};
  const auto it = types.find(name);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

// Hashable identity of a dict key: strings and ints by value, anything else by address.
std::string key_identity(const PyObj* key) {
  switch (key->kind) {
    case PyKind::Str: return "s" + key->text;
    case PyKind::Bytes: return "b" + key->text;
    case PyKind::Int: return "i" + std::to_string(key->integer);
    case PyKind::Bool: return "i" + std::to_string(key->boolean ? 1 : 0);
    case PyKind::None: return "n";
    default: return "p" + std::to_string(reinterpret_cast<std::uintptr_t>(key));
  }
}

}  // namespace

std::string kind_name(PyKind kind) {
  switch (kind) {
    case PyKind::None: return "None";
    case PyKind::Bool: return "bool";
    case PyKind::Int: case PyKind::BigInt: return "int";
    case PyKind::Float: return "float";
    case PyKind::Str: return "str";
    case PyKind::Bytes: return "bytes";
    case PyKind::Tuple: return "tuple";
    case PyKind::List: return "list";
    case PyKind::Dict: return "dict";
    case PyKind::Set: return "set";
    case PyKind::Global: return "global";
    case PyKind::Placeholder: return "object";
    case PyKind::Storage: return "storage";
    case PyKind::Tensor: return "tensor";
  }
  return "?";
}

PyObj* PyObj::get(const std::string& key) const {
  if (kind != PyKind::Dict) return nullptr;
  const auto it = dict_index->find("s" + key);
  return it == dict_index->end() ? nullptr : dict[it->second].second;
}

// ---- input ---------------------------------------------------------------------------------

PickleInput::PickleInput(const RandomAccessFile& file, std::uint64_t begin, std::uint64_t end)
    : file_(file), begin_(begin), pos_(begin), end_(end), buffer_start_(begin) {}

void PickleInput::truncated() {
  throw_input(file_.path(), "", "pickle truncated at byte " + std::to_string(pos_ - begin_) + " (stream ends before its STOP opcode)");
}

void PickleInput::fill() {
  if (pos_ >= end_) truncated();
  const std::uint64_t n = std::min<std::uint64_t>(end_ - pos_, 1 << 16);
  buffer_.resize(n);
  file_.read_exact(pos_, buffer_.data(), n);
  buffer_start_ = pos_;
}

unsigned char PickleInput::byte() {
  if (pos_ < buffer_start_ || pos_ >= buffer_start_ + buffer_.size()) fill();
  return buffer_[pos_++ - buffer_start_];
}

std::string PickleInput::bytes(std::uint64_t n) {
  // Lengths come from the file: check them against what is left before allocating.
  if (n > end_ - pos_) {
    pos_ = end_;
    truncated();
  }
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    if (pos_ < buffer_start_ || pos_ >= buffer_start_ + buffer_.size()) fill();
    const std::uint64_t available = buffer_start_ + buffer_.size() - pos_;
    const std::uint64_t take = std::min<std::uint64_t>(available, n - out.size());
    out.append(reinterpret_cast<const char*>(buffer_.data() + (pos_ - buffer_start_)), take);
    pos_ += take;
  }
  return out;
}

std::string PickleInput::line() {
  std::string out;
  for (;;) {
    const unsigned char c = byte();
    if (c == '\n') return out;
    if (out.size() >= kMaxLine) throw_input(file_.path(), "", "pickle text line longer than 4096 bytes at byte " + std::to_string(pos_ - begin_));
    out.push_back(static_cast<char>(c));
  }
}

// ---- machine -------------------------------------------------------------------------------

PickleVm::PickleVm(const std::string& file, const std::string& context) : file_(file), context_(context) {}

void PickleVm::fail(const std::string& problem) {
  throw_input(file_, "", "pickle " + context_ + ": " + problem + " (opcode at byte " + std::to_string(op_position_) + ")");
}

PyObj* PickleVm::make(PyKind kind) {
  if (arena_.size() >= kMaxObjects) fail("pickle builds more than " + std::to_string(kMaxObjects) + " objects");
  PyObj& o = arena_.emplace_back();
  o.kind = kind;
  if (kind == PyKind::Dict) o.dict_index = std::make_unique<std::unordered_map<std::string, std::size_t>>();
  if (kind == PyKind::Storage) o.storage = std::make_unique<StorageRef>();
  if (kind == PyKind::Tensor) {
    if (++tensors_ > kMaxTensors)
      fail("more than " + std::to_string(kMaxTensors) + " tensors (refused: no model has that many)");
    o.tensor = std::make_unique<TensorRef>();
  }
  return &o;
}

PyObj* PickleVm::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
  PyObj* v = stack_.back();
  stack_.pop_back();
  return v;
}

PyObj*& PickleVm::top() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
  return stack_.back();
}

std::vector<PyObj*> PickleVm::pop_to_mark() {
  if (marks_.empty()) fail("no MARK on the stack");
  const std::size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<PyObj*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
  stack_.resize(mark);
  return items;
}

void PickleVm::set_item(PyObj* dict, PyObj* key, PyObj* value) {
  if (dict->kind == PyKind::Placeholder) return;  // inert objects swallow their state
  if (dict->kind != PyKind::Dict) fail("SETITEM on a " + kind_name(dict->kind) + ", not a dict");
  const std::string id = key_identity(key);
  const auto it = dict->dict_index->find(id);
  if (it != dict->dict_index->end()) {
    dict->dict[it->second].second = value;
    return;
  }
  dict->dict_index->emplace(id, dict->dict.size());
  dict->dict.emplace_back(key, value);
}

PyObj* PickleVm::persistent_load(PyObj* pid) {
  if (pid->kind != PyKind::Tuple || pid->items.empty() || pid->items[0]->kind != PyKind::Str)
    fail("persistent id is not a ('storage', ...) tuple");
  const std::string& tag = pid->items[0]->text;
  if (tag == "module") {  // legacy whole-module saves reference their class source: inert
    PyObj* p = make(PyKind::Placeholder);
    p->text = pid->items.size() > 1 && pid->items[1]->kind == PyKind::Global ? pid->items[1]->text : "module";
    return p;
  }
  if (tag != "storage") fail("unknown persistent id type '" + tag + "'");
  const auto& a = pid->items;
  if (a.size() != 5 && a.size() != 6) fail("storage persistent id has " + std::to_string(a.size()) + " fields, expected 5 or 6");
  if (a[1]->kind != PyKind::Global) fail("storage type in persistent id is not a global");
  PyObj* s = make(PyKind::Storage);
  s->storage->type_name = a[1]->text;
  s->storage->dtype = storage_dtype(a[1]->text);
  if (a[2]->kind == PyKind::Str) s->storage->key = a[2]->text;
  else if (a[2]->kind == PyKind::Int) s->storage->key = std::to_string(a[2]->integer);
  else fail("storage key in persistent id is a " + kind_name(a[2]->kind));
  if (a[4]->kind != PyKind::Int || a[4]->integer < 0) fail("storage size in persistent id is not a non-negative int");
  s->storage->numel = static_cast<std::uint64_t>(a[4]->integer);
  if (a.size() == 6 && a[5]->kind != PyKind::None) {
    const PyObj* view = a[5];
    if (view->kind != PyKind::Tuple || view->items.size() != 3 || view->items[1]->kind != PyKind::Int ||
        view->items[2]->kind != PyKind::Int || view->items[1]->integer < 0 || view->items[2]->integer < 0)
      fail("storage view metadata is not (key, offset, size)");
    s->storage->is_view = true;
    s->storage->view_offset = static_cast<std::uint64_t>(view->items[1]->integer);
    s->storage->view_numel = static_cast<std::uint64_t>(view->items[2]->integer);
  }
  storages_.push_back(s);
  return s;
}

PyObj* PickleVm::call(PyObj* callable, PyObj* args) {
  if (callable->kind == PyKind::Placeholder) {  // calling an inert object: still inert
    PyObj* p = make(PyKind::Placeholder);
    p->text = callable->text;
    return p;
  }
  if (callable->kind != PyKind::Global) fail("call of a " + kind_name(callable->kind) + ", which is not callable");
  if (args->kind != PyKind::Tuple) fail("call of '" + callable->text + "' with arguments that are not a tuple");
  const std::string& name = callable->text;
  const auto& a = args->items;

  if (name == "collections.OrderedDict" || name == "builtins.dict") {
    PyObj* d = make(PyKind::Dict);
    if (!a.empty() && (a[0]->kind == PyKind::List || a[0]->kind == PyKind::Tuple))
      for (PyObj* pair : a[0]->items)
        if (pair->kind == PyKind::Tuple && pair->items.size() == 2) set_item(d, pair->items[0], pair->items[1]);
    return d;
  }
  if (name == "builtins.set" || name == "builtins.frozenset") {
    PyObj* s = make(PyKind::Set);
    if (!a.empty() && (a[0]->kind == PyKind::List || a[0]->kind == PyKind::Tuple)) s->items = a[0]->items;
    return s;
  }
  if (name == "torch.Size") {
    PyObj* t = make(PyKind::Tuple);
    if (!a.empty() && a[0]->kind == PyKind::Tuple) t->items = a[0]->items;
    return t;
  }
  if (name == "torch._utils._rebuild_tensor" || name == "torch._utils._rebuild_tensor_v2" ||
      name == "torch._utils._rebuild_tensor_v3") {
    // (storage, storage_offset, size, stride, ...); v3 adds the dtype at position 6.
    if (a.size() < 4) fail(name + " called with " + std::to_string(a.size()) + " arguments");
    if (a[0]->kind != PyKind::Storage) fail(name + ": first argument is a " + kind_name(a[0]->kind) + ", not a storage");
    PyObj* t = make(PyKind::Tensor);
    t->tensor->storage = a[0];
    if (a[1]->kind != PyKind::Int) fail(name + ": storage offset is not an int");
    t->tensor->storage_offset = a[1]->integer;
    for (int k : {2, 3}) {
      if (a[k]->kind != PyKind::Tuple) fail(name + ": size/stride is not a tuple");
      if (a[k]->items.size() > kMaxDims) fail(name + ": more than 64 dimensions");
      auto& dst = k == 2 ? t->tensor->shape : t->tensor->stride;
      for (const PyObj* d : a[k]->items) {
        if (d->kind != PyKind::Int) fail(name + ": size/stride entry is not an int");
        dst.push_back(d->integer);
      }
    }
    if (t->tensor->shape.size() != t->tensor->stride.size()) fail(name + ": size and stride differ in length");
    if (name == "torch._utils._rebuild_tensor_v3") {
      if (a.size() < 7 || a[6]->kind != PyKind::Global) fail(name + ": dtype argument missing");
      t->tensor->dtype = torch_dtype(a[6]->text);
      if (!t->tensor->dtype) fail(name + ": unsupported dtype '" + a[6]->text + "'");
    }
    return t;
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state" ||
      name == "torch.nn.parameter.Parameter") {
    if (!a.empty() && a[0]->kind == PyKind::Tensor) return a[0];  // a Parameter is its data here
  }
  if (name == "_codecs.encode" && !a.empty() && a[0]->kind == PyKind::Str) {
    // Protocol 2 spells bytes as _codecs.encode(str, 'latin1'): map code points back to bytes.
    PyObj* b = make(PyKind::Bytes);
    const std::string& s = a[0]->text;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) b->text.push_back(static_cast<char>(c));
      else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
        b->text.push_back(static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F)));
        ++i;
      } else fail("_codecs.encode of a string outside latin-1");
    }
    return b;
  }
  // Anything else (os.system, builtins.eval, __main__.Net, ...) is recorded, never run.
  PyObj* p = make(PyKind::Placeholder);
  p->text = name;
  return p;
}

PyObj* PickleVm::load(PickleInput& in) {
  stack_.clear();
  marks_.clear();
  memo_.clear();
  auto need_str = [&](PyObj* v, const char* what) -> const std::string& {
    if (v->kind != PyKind::Str) fail(std::string(what) + " is a " + kind_name(v->kind) + ", not a string");
    return v->text;
  };
  auto read_le = [&](int n) {
    const std::string b = in.bytes(static_cast<std::uint64_t>(n));
    std::uint64_t v = 0;
    for (int k = n; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(k)]);
    return v;
  };
  auto push = [&](PyObj* v) {
    if (stack_.size() >= kMaxStack) fail("stack deeper than the limit");
    stack_.push_back(v);
  };
  auto push_str = [&](PyKind kind, std::uint64_t n) {
    PyObj* s = make(kind);
    s->text = in.bytes(n);
    push(s);
  };
  auto memo_put = [&](std::uint64_t index) {
    if (stack_.empty()) fail("memo store on an empty stack");
    memo_[index] = stack_.back();
  };
  auto memo_get = [&](std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
    push(it->second);
  };
  auto make_int = [&](std::int64_t v) {
    PyObj* o = make(PyKind::Int);
    o->integer = v;
    return o;
  };

  for (;;) {
    op_position_ = in.offset();
    const unsigned char op = in.byte();
    switch (op) {
      case 0x80: {  // PROTO
        const unsigned char proto = in.byte();
        if (proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case 0x95: in.bytes(8); break;  // FRAME: a length hint only
      case '.': {  // STOP
        PyObj* result = pop();
        return result;
      }
      case '(':  // MARK
        if (marks_.size() >= kMaxMarks)
          fail("nested deeper than " + std::to_string(kMaxMarks) + " levels (MARK)");
        marks_.push_back(stack_.size());
        break;
      case '0': pop(); break;                            // POP
      case '1': pop_to_mark(); break;                    // POP_MARK
      case '2': push(top()); break;                      // DUP
      case 'N': push(make(PyKind::None)); break;
      case 0x88: case 0x89: {  // NEWTRUE / NEWFALSE
        PyObj* b = make(PyKind::Bool);
        b->boolean = op == 0x88;
        push(b);
        break;
      }
      case 'J': push(make_int(static_cast<std::int32_t>(read_le(4)))); break;  // BININT
      case 'K': push(make_int(in.byte())); break;                               // BININT1
      case 'M': push(make_int(static_cast<std::int64_t>(read_le(2)))); break;   // BININT2
      case 0x8a: case 0x8b: {  // LONG1 / LONG4: little-endian two's complement
        const std::uint64_t n = op == 0x8a ? in.byte() : read_le(4);
        const std::string b = in.bytes(n);
        if (n <= 8) {
          std::uint64_t v = 0;
          for (std::size_t k = n; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[k]);
          if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80)) v |= ~0ull << (8 * n);
          push(make_int(static_cast<std::int64_t>(v)));
        } else {
          PyObj* big = make(PyKind::BigInt);
          big->text = b;
          push(big);
        }
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const std::string b = in.bytes(8);
        std::uint64_t bits = 0;
        for (char c : b) bits = (bits << 8) | static_cast<unsigned char>(c);
        PyObj* f = make(PyKind::Float);
        std::memcpy(&f->real, &bits, 8);
        push(f);
        break;
      }
      case 0x8c: push_str(PyKind::Str, in.byte()); break;       // SHORT_BINUNICODE
      case 'X': push_str(PyKind::Str, read_le(4)); break;       // BINUNICODE
      case 0x8d: push_str(PyKind::Str, read_le(8)); break;      // BINUNICODE8
      case 'U': push_str(PyKind::Str, in.byte()); break;        // SHORT_BINSTRING (Python 2 str)
      case 'T': push_str(PyKind::Str, read_le(4)); break;       // BINSTRING
      case 'C': push_str(PyKind::Bytes, in.byte()); break;      // SHORT_BINBYTES
      case 'B': push_str(PyKind::Bytes, read_le(4)); break;     // BINBYTES
      case 0x8e: push_str(PyKind::Bytes, read_le(8)); break;    // BINBYTES8
      case 0x96: push_str(PyKind::Bytes, read_le(8)); break;    // BYTEARRAY8
      case ')': push(make(PyKind::Tuple)); break;               // EMPTY_TUPLE
      case ']': push(make(PyKind::List)); break;                // EMPTY_LIST
      case '}': push(make(PyKind::Dict)); break;                // EMPTY_DICT
      case 0x8f: push(make(PyKind::Set)); break;                // EMPTY_SET
      case 0x85: case 0x86: case 0x87: {                        // TUPLE1/2/3
        const int n = op - 0x84;
        PyObj* t = make(PyKind::Tuple);
        t->items.resize(static_cast<std::size_t>(n));
        for (int k = n; k-- > 0;) t->items[static_cast<std::size_t>(k)] = pop();
        push(t);
        break;
      }
      case 't': {  // TUPLE
        PyObj* t = make(PyKind::Tuple);
        t->items = pop_to_mark();
        push(t);
        break;
      }
      case 'l': {  // LIST
        PyObj* l = make(PyKind::List);
        l->items = pop_to_mark();
        push(l);
        break;
      }
      case 0x91: {  // FROZENSET
        PyObj* s = make(PyKind::Set);
        s->items = pop_to_mark();
        push(s);
        break;
      }
      case 'a': {  // APPEND
        PyObj* v = pop();
        PyObj* l = top();
        if (l->kind == PyKind::List) l->items.push_back(v);
        else if (l->kind != PyKind::Placeholder) fail("APPEND to a " + kind_name(l->kind));
        break;
      }
      case 'e': case 0x90: {  // APPENDS / ADDITEMS
        std::vector<PyObj*> items = pop_to_mark();
        PyObj* l = top();
        const PyKind want = op == 'e' ? PyKind::List : PyKind::Set;
        if (l->kind == want) l->items.insert(l->items.end(), items.begin(), items.end());
        else if (l->kind != PyKind::Placeholder) fail(std::string(op == 'e' ? "APPENDS" : "ADDITEMS") + " to a " + kind_name(l->kind));
        break;
      }
      case 'd': {  // DICT
        std::vector<PyObj*> items = pop_to_mark();
        if (items.size() % 2) fail("DICT with an odd number of items");
        PyObj* d = make(PyKind::Dict);
        for (std::size_t k = 0; k < items.size(); k += 2) set_item(d, items[k], items[k + 1]);
        push(d);
        break;
      }
      case 's': {  // SETITEM
        PyObj* value = pop();
        PyObj* key = pop();
        set_item(top(), key, value);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<PyObj*> items = pop_to_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        PyObj* d = top();
        for (std::size_t k = 0; k < items.size(); k += 2) set_item(d, items[k], items[k + 1]);
        break;
      }
      case 'q': memo_put(in.byte()); break;        // BINPUT
      case 'r': memo_put(read_le(4)); break;       // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;    // MEMOIZE
      case 'h': memo_get(in.byte()); break;        // BINGET
      case 'j': memo_get(read_le(4)); break;       // LONG_BINGET
      case 'c': {  // GLOBAL "module\nname\n": a name only, never imported
        const std::string module = in.line();
        const std::string name = in.line();
        PyObj* g = make(PyKind::Global);
        g->text = module + "." + name;
        push(g);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PyObj* name = pop();
        PyObj* module = pop();
        PyObj* g = make(PyKind::Global);
        g->text = need_str(module, "STACK_GLOBAL module") + "." + need_str(name, "STACK_GLOBAL name");
        push(g);
        break;
      }
      case 'R': {  // REDUCE
        PyObj* args = pop();
        PyObj* callable = pop();
        push(call(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        PyObj* args = pop();
        PyObj* cls = pop();
        push(call(cls, args));
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        pop();  // kwargs
        PyObj* args = pop();
        PyObj* cls = pop();
        push(call(cls, args));
        break;
      }
      case 'b': {  // BUILD: state is recorded nowhere; OrderedDict's _metadata etc. are unused
        pop();
        top();
        break;
      }
      case 'Q': push(persistent_load(pop())); break;  // BINPERSID
      default:
        fail("unknown or unsupported pickle opcode " + hex_byte(op));
    }
  }
}

}  // namespace svr::io

#include "onnx_reader.hpp"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/wire_format_lite.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "file_access.hpp"
#include "svr/core/error.hpp"

namespace svr::io {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// Field numbers of onnx.proto (ONNX 1.12) that the walk below needs.
constexpr int kModelGraph = 7;         // ModelProto.graph
constexpr int kGraphInitializer = 5;   // GraphProto.initializer
constexpr int kTensorFloatData = 4;    // TensorProto.float_data (packed)
constexpr int kTensorRawData = 9;      // TensorProto.raw_data
constexpr int kTensorDoubleData = 10;  // TensorProto.double_data (packed)

// Where an embedded initializer's bytes are in the file.
struct Payload {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  int field = 0;  // kTensorRawData, kTensorFloatData or kTensorDoubleData
};

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_fixed(std::string& out, std::uint64_t value, int bytes) {
  for (int k = 0; k < bytes; ++k) out.push_back(static_cast<char>((value >> (8 * k)) & 0xff));
}

// Copies a serialized ModelProto without the bytes of its main graph's initializers, noting
// where each initializer's bytes are. Only the wire format is walked here (protobuf's own
// CodedInputStream reads it); what the fields mean is left to protobuf's parse of the copy.
class Stripper {
 public:
  Stripper(CodedInputStream& in, const std::string& path, std::uint64_t file_size)
      : in_(in), path_(path), file_size_(file_size) {}

  std::string model() { return message(Level::Model); }
  const std::vector<std::optional<Payload>>& payloads() const { return payloads_; }

 private:
  enum class Level { Model, Graph, Tensor, Other };

  [[noreturn]] void malformed(const std::string& what) const {
    throw_input(path_, "", "not a valid ONNX model: " + what);
  }

  std::string message(Level level) {
    std::string out;
    bool seen_graph = false;
    std::optional<Payload> payload;
    for (;;) {
      const std::uint32_t tag = in_.ReadTag();
      if (tag == 0) {
        // The end of the message (its limit), or of the file, or bytes that are no tag.
        // At the top level the caller checks that the walk ended at the end of the file.
        if (in_.BytesUntilLimit() > 0)
          malformed("a field tag is broken at byte " + std::to_string(in_.CurrentPosition()));
        break;
      }
      const int field = WireFormatLite::GetTagFieldNumber(tag);
      const auto wire = WireFormatLite::GetTagWireType(tag);
      switch (wire) {
        case WireFormatLite::WIRETYPE_VARINT: {
          std::uint64_t value = 0;
          if (!in_.ReadVarint64(&value)) malformed("a varint is cut short");
          append_varint(out, tag);
          append_varint(out, value);
          break;
        }
        case WireFormatLite::WIRETYPE_FIXED64: {
          std::uint64_t value = 0;
          if (!in_.ReadLittleEndian64(&value)) malformed("a fixed64 field is cut short");
          append_varint(out, tag);
          append_fixed(out, value, 8);
          break;
        }
        case WireFormatLite::WIRETYPE_FIXED32: {
          std::uint32_t value = 0;
          if (!in_.ReadLittleEndian32(&value)) malformed("a fixed32 field is cut short");
          append_varint(out, tag);
          append_fixed(out, value, 4);
          break;
        }
        case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
          std::uint32_t length = 0;
          if (!in_.ReadVarint32(&length)) malformed("a length is cut short");
          if (static_cast<std::int64_t>(length) > remaining())
            malformed("a field of " + std::to_string(length) + " bytes at byte " +
                      std::to_string(in_.CurrentPosition()) + " runs past its end");
          const Level inner = level == Level::Model && field == kModelGraph         ? Level::Graph
                              : level == Level::Graph && field == kGraphInitializer ? Level::Tensor
                                                                                    : Level::Other;
          if (level == Level::Model && field == kModelGraph) {
            if (seen_graph) malformed("the model has two graph fields");
            seen_graph = true;
          }
          if (level == Level::Tensor && (field == kTensorRawData || field == kTensorFloatData ||
                                         field == kTensorDoubleData)) {
            if (payload) malformed("an initializer stores its values twice");
            payload = Payload{static_cast<std::uint64_t>(in_.CurrentPosition()), length, field};
            if (!in_.Skip(static_cast<int>(length))) malformed("an initializer is cut short");
            break;
          }
          std::string value;
          if (inner == Level::Other) {
            if (!in_.ReadString(&value, static_cast<int>(length)))
              malformed("a field is cut short");
          } else {
            const CodedInputStream::Limit limit = in_.PushLimit(static_cast<int>(length));
            value = message(inner);
            in_.PopLimit(limit);
          }
          append_varint(out, tag);
          append_varint(out, value.size());
          out += value;
          break;
        }
        default:
          malformed("field " + std::to_string(field) + " has the unsupported wire type " +
                    std::to_string(static_cast<int>(wire)));
      }
    }
    if (level == Level::Tensor) payloads_.push_back(payload);
    return out;
  }

  // Bytes left in the current message: up to its limit, or to the end of the file.
  std::int64_t remaining() const {
    const int limit = in_.BytesUntilLimit();
    return limit >= 0 ? limit : static_cast<std::int64_t>(file_size_) - in_.CurrentPosition();
  }

  CodedInputStream& in_;
  const std::string& path_;
  std::uint64_t file_size_;
  std::vector<std::optional<Payload>> payloads_;
};

std::optional<DType> dtype_of(int data_type) {
  switch (data_type) {
    case onnx::TensorProto::FLOAT:
      return DType::F32;
    case onnx::TensorProto::DOUBLE:
      return DType::F64;
    case onnx::TensorProto::FLOAT16:
      return DType::F16;
    case onnx::TensorProto::BFLOAT16:
      return DType::BF16;
    case onnx::TensorProto::INT64:
      return DType::I64;
    case onnx::TensorProto::INT32:
      return DType::I32;
    case onnx::TensorProto::INT16:
      return DType::I16;
    case onnx::TensorProto::INT8:
      return DType::I8;
    case onnx::TensorProto::UINT8:
      return DType::U8;
    case onnx::TensorProto::BOOL:
      return DType::BOOL;
    default:
      return std::nullopt;
  }
}

std::string type_name(int data_type) {
  return onnx::TensorProto::DataType_IsValid(data_type)
             ? onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(data_type))
             : "data type " + std::to_string(data_type);
}

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// An initializer the reader could not turn into a tensor, and why: an error only if a weight
// layer uses it (an int64 shape constant in int64_data, say, is of no concern).
using Unreadable = std::map<std::string, std::string>;

// The tensor of one initializer, its bytes located and checked against the file(s).
std::optional<TensorInfo> initializer_tensor(const onnx::TensorProto& t,
                                             const std::optional<Payload>& payload,
                                             const std::string& path, std::uint64_t file_size,
                                             std::vector<std::string>& files,
                                             Unreadable& unreadable) {
  const std::string& name = t.name();
  if (name.empty()) throw_input(path, "", "an initializer has no name");
  const std::optional<DType> dtype = dtype_of(t.data_type());
  if (!dtype) {
    unreadable[name] = "its type " + type_name(t.data_type()) +
                       " is not one svr reads as a weight (FLOAT, DOUBLE, FLOAT16, BFLOAT16)";
    return std::nullopt;
  }
  TensorInfo info;
  info.name = name;
  info.dtype = *dtype;
  std::uint64_t numel = 1;
  for (std::int64_t d : t.dims()) {
    if (d < 0) throw_input(path, name, "negative dimension in its dims");
    info.shape.push_back(d);
    numel = checked_mul(numel, static_cast<std::uint64_t>(d), path, name, "element count");
  }
  const std::uint64_t bytes = checked_mul(numel, dtype_size(*dtype), path, name, "byte size");
  info.nbytes = bytes;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    std::optional<std::uint64_t> offset, length;
    for (const onnx::StringStringEntryProto& entry : t.external_data()) {
      const auto number = [&](const std::string& text) {
        if (text.empty() || text.size() > 19 ||
            !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
          throw_input(path, name,
                      "external data " + entry.key() + " '" + text + "' is not a byte count");
        return static_cast<std::uint64_t>(std::stoull(text));
      };
      if (entry.key() == "location")
        location = entry.value();
      else if (entry.key() == "offset")
        offset = number(entry.value());
      else if (entry.key() == "length")
        length = number(entry.value());
    }
    // The location is relative to the model's directory and must stay inside it.
    if (location.empty()) throw_input(path, name, "external data without a location");
    if (location.front() == '/' || location == ".." || location.rfind("../", 0) == 0 ||
        location.find("/../") != std::string::npos ||
        (location.size() >= 3 && location.compare(location.size() - 3, 3, "/..") == 0))
      throw_input(path, name,
                  "external data location '" + location + "' leaves the model's directory");
    if (length && *length != bytes)
      throw_input(path, name,
                  "external data length " + std::to_string(*length) + " does not match its dims " +
                      shape_string(info.shape) + " (" + std::to_string(bytes) + " bytes)");
    info.file = directory_of(path) + "/" + location;
    info.offset = offset.value_or(0);
    std::uint64_t external_size = 0;
    try {
      external_size = RandomAccessFile(info.file).size();
    } catch (const InputError&) {
      throw_input(path, name, "its external data file " + info.file + " cannot be opened");
    }
    if (!range_inside(info.offset, bytes, external_size))
      throw_input(path, name,
                  "external data [" + std::to_string(info.offset) + ", +" + std::to_string(bytes) +
                      ") lies outside " + info.file + " (" + std::to_string(external_size) +
                      " bytes)");
    if (std::find(files.begin(), files.end(), info.file) == files.end()) files.push_back(info.file);
    return info;
  }
  if (!payload) {
    if (numel == 0) {
      info.file = path;
      info.nbytes = 0;
      return info;
    }
    unreadable[name] =
        "its values are not stored as raw_data, packed float_data or packed "
        "double_data";
    return std::nullopt;
  }
  const bool typed_ok = payload->field == kTensorRawData ||
                        (payload->field == kTensorFloatData && *dtype == DType::F32) ||
                        (payload->field == kTensorDoubleData && *dtype == DType::F64);
  if (!typed_ok)
    throw_input(path, name,
                "its values are in a field that does not hold " + type_name(t.data_type()));
  if (payload->length != bytes)
    throw_input(path, name,
                "holds " + std::to_string(payload->length) + " bytes where its dims " +
                    shape_string(info.shape) + " and type " + type_name(t.data_type()) + " need " +
                    std::to_string(bytes));
  if (!range_inside(payload->offset, payload->length, file_size))
    throw_input(path, name, "its bytes lie outside the file");
  info.file = path;
  info.offset = payload->offset;
  return info;
}

// The operators a channel passes through unmixed, from one weight layer to the next (the
// spec's list, section 7; sums, concatenations, transposes and batch norms: GraphWalk).
const std::set<std::string>& pass_through_ops() {
  // clang-format off
  static const std::set<std::string> ops{
      "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Clip", "Sigmoid", "HardSigmoid", "Tanh",
      "Softplus", "HardSwish", "Gelu", "Mish", "Celu", "Softsign", "Erf", "Neg", "Abs", "Sqrt",
      "Reciprocal", "Exp", "Log", "Identity", "Dropout", "Cast",
      "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool",
      "Pad", "Resize", "Upsample", "Flatten", "Reshape", "Squeeze", "Unsqueeze"};
  // clang-format on
  return ops;
}

std::string node_label(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + " node " + std::to_string(index)
                             : "node '" + node.name() + "' (" + node.op_type() + ")";
}

std::optional<std::int64_t> int_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const onnx::AttributeProto& a : node.attribute())
    if (a.name() == name) return a.i();
  return std::nullopt;
}

std::optional<float> float_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const onnx::AttributeProto& a : node.attribute())
    if (a.name() == name) return a.f();
  return std::nullopt;
}

// What flows along one value of the graph from the weight layers: the parts of its channels in
// order, each the output of one layer or the sum of several (an Add); no part: the graph's input,
// a constant, or a flow that ended at an operator that mixes channels (`ended` says where).
struct Part {
  std::vector<int> producers;  // graph layer indices; empty: channels no layer produced
  std::int64_t channels = 0;
  std::int64_t first = 0;  // the producers' first channel in it (after a Split)
};
struct Flow {
  std::vector<Part> parts;
  std::int64_t channels = 0;   // 0: unknown (the graph's input)
  bool channels_last = false;  // transposed to NHWC (a Keras model's flatten order)
  // The channels on the last axis, as a MatMul, Gemm or embedding writes them ((..., tokens,
  // channels)); a convolution's are on axis 1.
  bool tokens = false;
  // A norm's Scale (LayerNormalization's, or an RMSNorm's weight), while nothing but reshapes
  // and biases lie between it and a reader.
  std::string scale;
  // One value per position computed from these channels (a norm's mean or mean square): it may
  // only scale or centre its own flow.
  bool statistic = false;
  // Divided by its own statistic (an RMSNorm written as operators): a Mul by a constant of the
  // channels' size next is the norm's weight, folded like a LayerNormalization's Scale.
  bool normalized = false;
  // A token flow reshaped so that its last axis holds `head` channels of a head, not all of
  // them (0: the last axis is the channels).
  std::int64_t head = 0;
  // The value's number of axes, when the graph shows it (0: not known).
  std::int64_t rank = 0;
  // Mixed by attention head by head (softmax(Q K^T) V), with heads of this many channels.
  std::int64_t mixed_heads = 0;
  // Each head repeated this many times, consecutively (a grouped-query attention's repeat_kv:
  // Unsqueeze, Expand, Reshape): the value holds channels * repeats channels.
  std::int64_t repeats = 1;
  std::string ended;
};

// Operators between a norm and its reader that leave the scale foldable.
bool keeps_scale(const std::string& op) {
  static const std::set<std::string> ops{"Identity", "Dropout", "Cast",     "Reshape",
                                         "Flatten",  "Squeeze", "Unsqueeze"};
  return ops.count(op) > 0;
}

// The reductions that make a per-position statistic of the channels (a norm's mean, mean
// square or length).
bool channel_statistic_op(const std::string& op) {
  static const std::set<std::string> ops{"ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL2",
                                         "ReduceL1"};
  return ops.count(op) > 0;
}

bool reduction_op(const std::string& op) {
  return channel_statistic_op(op) || op == "ReduceMax" || op == "ReduceMin";
}

bool elementwise_binary(const std::string& op) {
  return op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
}

// A norm over the last axis with a per-channel Scale (input 1): ONNX's LayerNormalization and
// RMSNormalization, and ONNX Runtime's fused RMSNorm.
bool norm_op(const std::string& op) {
  return op == "LayerNormalization" || op == "RMSNormalization" ||
         op == "SimplifiedLayerNormalization";
}

// The same channels from the same layers (x and sigmoid(x), say).
bool same_flow(const Flow& a, const Flow& b) {
  if (a.parts.size() != b.parts.size() || a.channels != b.channels ||
      a.channels_last != b.channels_last)
    return false;
  for (std::size_t k = 0; k < a.parts.size(); ++k)
    if (a.parts[k].producers != b.parts[k].producers ||
        a.parts[k].channels != b.parts[k].channels || a.parts[k].first != b.parts[k].first)
      return false;
  return true;
}

bool has_layers(const Flow& flow) {
  return std::any_of(flow.parts.begin(), flow.parts.end(),
                     [](const Part& p) { return !p.producers.empty(); });
}

std::optional<std::vector<std::int64_t>> ints_attribute(const onnx::NodeProto& node,
                                                        const std::string& name) {
  for (const onnx::AttributeProto& a : node.attribute())
    if (a.name() == name) return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
  return std::nullopt;
}

// The values of a small INT64 tensor held in the graph itself (int64_data, or raw_data of
// exactly its size): a Constant node's shape, an initializer's split sizes. nullopt otherwise.
std::optional<std::vector<std::int64_t>> small_int64s(const onnx::TensorProto& t,
                                                      std::int64_t most) {
  if (t.data_type() != onnx::TensorProto::INT64 || t.data_location() == onnx::TensorProto::EXTERNAL)
    return std::nullopt;
  std::int64_t numel = 1;
  for (std::int64_t d : t.dims()) {
    if (d < 0 || d > most) return std::nullopt;
    numel *= d;
    if (numel > most) return std::nullopt;
  }
  std::vector<std::int64_t> values;
  if (t.int64_data_size() == numel) {
    values.assign(t.int64_data().begin(), t.int64_data().end());
  } else if (t.raw_data().size() == static_cast<std::size_t>(numel) * 8) {
    for (std::int64_t k = 0; k < numel; ++k) {
      std::uint64_t v = 0;  // little-endian, whatever the host
      for (int b = 7; b >= 0; --b)
        v = (v << 8) |
            static_cast<unsigned char>(t.raw_data()[static_cast<std::size_t>(k * 8 + b)]);
      values.push_back(static_cast<std::int64_t>(v));
    }
  } else {
    return std::nullopt;
  }
  return values;
}

// Walks the graph in its (topological) order and follows the channels from layer to layer.
class GraphWalk {
 public:
  GraphWalk(const onnx::GraphProto& graph, const std::string& path,
            const std::map<std::string, const TensorInfo*>& weights, const Unreadable& unreadable,
            ModelFile& model)
      : graph_(graph), path_(path), weights_(weights), unreadable_(unreadable), model_(model) {
    for (const onnx::TensorProto& t : graph.initializer()) {
      constants_.insert(t.name());
      if (auto values = small_int64s(t, kMostInt64s)) int64s_[t.name()] = std::move(*values);
    }
    for (const onnx::ValueInfoProto& input : graph.input())
      if (!constants_.count(input.name())) {
        Flow flow;
        if (input.type().has_tensor_type() && input.type().tensor_type().has_shape())
          flow.rank = input.type().tensor_type().shape().dim_size();
        flows_[input.name()] = flow;
      }
  }

  // The weights stored (in, out), to be viewed transposed.
  std::vector<std::string> run() {
    check_order();
    for (int index = 0; index < graph_.node_size(); ++index) visit(graph_.node(index), index);
    return transposed_;
  }

 private:
  void visit(const onnx::NodeProto& node, int index) {
    const std::string& op = node.op_type();
    const std::string label = node_label(node, index);
    if ((op == "Conv" || op == "Gemm" || op == "MatMul") && node.input_size() >= 2 &&
        !constants_.count(node.input(0)) && weight_of(node, index, node.input(1))) {
      layer(node, label);
      return;
    }
    if (op == "Gather" && node.input_size() == 2 && !constants_.count(node.input(1)) &&
        int_attribute(node, "axis").value_or(0) == 0 && weights_.count(node.input(0)) &&
        weight_of(node, index, node.input(0))) {
      embedding(node, label);
      return;
    }
    if (op == "BatchNormalization" && batchnorm(node, index, label)) return;
    std::vector<const Flow*> inputs;  // the non-constant inputs
    for (const std::string& in : node.input())
      if (!in.empty() && !constants_.count(in)) inputs.push_back(&flow_of(in));
    if (inputs.empty()) {  // a constant expression (a position embedding's Gather, Constant)
      for (const std::string& o : node.output()) constants_.insert(o);
      if (op == "Constant" && node.output_size() == 1)
        for (const onnx::AttributeProto& a : node.attribute())
          if (a.name() == "value" && a.has_t())
            if (auto values = small_int64s(a.t(), kMostInt64s))
              int64s_[node.output(0)] = std::move(*values);
      return;
    }
    std::optional<Flow> out;
    std::string why;
    const bool statistics =
        std::any_of(inputs.begin(), inputs.end(), [](const Flow* f) { return f->statistic; });
    // This node multiplies a normalized flow by the norm's weight: that weight, or "".
    const std::string norm_weight = op == "Mul" && inputs.size() == 1 && !statistics
                                        ? norm_weight_of(node, *inputs.front())
                                        : "";
    if (statistics) {
      out = with_statistic(op, inputs, why);
    } else if (reduction_op(op) && inputs.size() == 1) {
      out = reduce(node, *inputs.front(), why);
    } else if (op == "Reshape" && inputs.size() == 1) {
      out = reshape(node, *inputs.front());
    } else if (!norm_weight.empty()) {
      out = *inputs.front();
      out->scale = norm_weight;
    } else if (pass_through_ops().count(op) ||
               (inputs.size() == 1 && (elementwise_binary(op) || op == "Pow"))) {
      out = *inputs.front();  // an activation, or a bias, scale or power by a constant
    } else if (op == "Expand" && inputs.size() == 1 && inputs.front()->head != 0) {
      out = repeat_heads(node, *inputs.front(), why);
    } else if (inputs.size() == 1 && inputs.front()->repeats > 1 && !pass_through_ops().count(op) &&
               op != "Transpose") {
      why = "an operator on repeated heads (a grouped-query attention's V)";
    } else if (op == "Gather" && inputs.size() == 1 && !constants_.count(node.input(0))) {
      out = gather(node, *inputs.front(), why);
    } else if (op == "Transpose") {
      out = transpose(node, *inputs.front(), why);
    } else if (op == "Add" || op == "Sum") {
      out = add(inputs, why);
    } else if ((op == "Mul" || op == "Div") && inputs.size() == 2 &&
               same_flow(*inputs[0], *inputs[1]) && has_layers(*inputs[0])) {
      out = *inputs.front();  // x * sigmoid(x) (SiLU, Swish): each channel by itself
    } else if (op == "Mul" && gated_unit(inputs)) {
      out = add(inputs, why);  // SwiGLU's gate times up: both read, as the Llama layout does
    } else if (op == "Mul" || op == "Div") {
      why = "a product with another flow (a gate, or attention)";
    } else if (op == "Concat") {
      out = concat(node, inputs, why);
    } else if (op == "Split" && inputs.size() == 1 && node.output_size() > 0) {
      if (split(node, *inputs.front(), why)) return;
    } else if (op == "Slice" && inputs.size() == 1) {
      out = slice(node, *inputs.front(), why);
    } else if (norm_op(op)) {
      out = layer_norm(node, *inputs.front(), why);
    } else if (op == "MatMul" && inputs.size() == 2 && !has_layers(*inputs[0]) &&
               has_layers(*inputs[1]) && inputs[1]->tokens) {
      out = *inputs[1];  // attention's weights times V: positions mixed, channels kept
      out->mixed_heads = inputs[1]->head;
    } else if (op == "MatMul") {
      why = inputs.size() == 2 ? "a product of two flows (attention's Q K^T)"
                               : "a product with a computed constant (no initializer: a tied "
                                 "weight, say), which svr does not read as a layer";
    } else {
      why = op == "BatchNormalization"
                ? "a batch norm that does not read a layer's output directly cannot be folded"
                : "an operator that mixes channels";
    }
    // A norm's scale survives reshapes and a bias (LayerNorm's beta) on its way to the reader;
    // "normalized" only the casts between an RMSNorm's division and its weight.
    const bool bias = inputs.size() == 1 && (op == "Add" || op == "Sub");
    // Positions picked or pooled keep every channel's factor (a channel slice drops it itself).
    const bool picked =
        op == "Gather" || op == "Slice" || (reduction_op(op) && out && !out->statistic);
    if (out && norm_weight.empty() && !norm_op(op) && !keeps_scale(op) && !bias && !picked)
      out->scale.clear();
    if (out && !statistics && !keeps_scale(op)) out->normalized = false;
    if (out && op == "Flatten") out->rank = 2;
    if (out && (op == "Squeeze" || op == "Unsqueeze")) out->rank = 0;
    if (!out) {
      Flow ended;
      ended.channels = inputs.front()->channels;
      ended.ended = label + ": " + why;
      bool from_layers = false;
      for (const Flow* f : inputs) from_layers |= has_layers(*f);
      if (from_layers) model_.graph_flow_ends.push_back(ended.ended);
      out = ended;
    }
    for (const std::string& o : node.output()) flows_[o] = *out;
  }

  // ONNX lists nodes in a topological order: every input is the graph's, an initializer, or an
  // earlier node's output. A graph with a cycle cannot be listed so.
  void check_order() const {
    std::map<std::string, int> producer;
    for (int index = 0; index < graph_.node_size(); ++index)
      for (const std::string& out : graph_.node(index).output())
        if (!out.empty() && !producer.emplace(out, index).second)
          throw_input(path_, "",
                      node_label(graph_.node(index), index) + " writes '" + out +
                          "', which an earlier node writes too");
    std::set<std::string> available(constants_);
    for (const onnx::ValueInfoProto& input : graph_.input()) available.insert(input.name());
    for (int index = 0; index < graph_.node_size(); ++index) {
      const onnx::NodeProto& node = graph_.node(index);
      for (const std::string& in : node.input()) {
        if (in.empty() || available.count(in)) continue;
        const auto later = producer.find(in);
        if (later == producer.end())
          throw_input(path_, "",
                      node_label(node, index) + " reads '" + in +
                          "', which no node, input or initializer of the graph provides");
        throw_input(path_, "",
                    node_label(node, index) + " reads '" + in + "', which " +
                        node_label(graph_.node(later->second), later->second) +
                        " writes after it: the graph has a cycle or is not in topological order");
      }
      for (const std::string& out : node.output()) available.insert(out);
    }
  }

  const TensorInfo* weight_of(const onnx::NodeProto& node, int index, const std::string& tensor) {
    const auto bad = unreadable_.find(tensor);
    if (bad != unreadable_.end()) throw_input(path_, tensor, bad->second);
    const auto it = weights_.find(tensor);
    if (it == weights_.end()) return nullptr;
    if (!used_.insert(tensor).second)
      throw_input(path_, tensor,
                  "is the weight of two layers (" + node_label(node, index) +
                      " is the second); svr needs one weight per layer");
    return it->second;
  }

  void layer(const onnx::NodeProto& node, const std::string& label) {
    const std::string& op = node.op_type();
    const TensorInfo& w = *weights_.at(node.input(1));
    const std::size_t dims = w.shape.size();
    bool transposed = false;
    ModelFile::GraphLayer layer;
    layer.weight = w.name;
    if (op == "Conv") {
      if (dims < 3 || dims > 5)
        throw_input(path_, w.name, label + " has a weight of rank " + std::to_string(dims));
      layer.groups = int_attribute(node, "group").value_or(1);
      if (layer.groups < 1)
        throw_input(path_, w.name, label + " has group " + std::to_string(layer.groups));
    } else {
      if (dims != 2)
        throw_input(path_, w.name,
                    label + " has a weight of rank " + std::to_string(dims) + ", not 2");
      if (op == "Gemm" && int_attribute(node, "transA").value_or(0) != 0)
        throw_input(path_, w.name, label + " transposes its input (transA): not a layer svr reads");
      transposed = op == "MatMul" || int_attribute(node, "transB").value_or(0) == 0;
    }
    if (transposed) transposed_.push_back(w.name);
    const std::int64_t out_channels = transposed ? w.shape[1] : w.shape[0];
    const Flow& input = flow_of(node.input(0));
    if (input.statistic)
      model_.graph_flow_ends.push_back(label +
                                       ": reads a per-position statistic of the channels (a "
                                       "norm's mean), not the channels");
    // The layer norm's Scale folds when it is one factor per input channel of the layer (not
    // after a reshape that flattened the positions into the features, say).
    const std::int64_t in_channels =
        dims == 2 ? (transposed ? w.shape[0] : w.shape[1]) : w.shape[1] * layer.groups;
    // A convolution's channels moved last flatten position by position (Keras' order), which
    // matters only when the layer reads several positions per channel.
    layer.channels_last = dims == 2 && input.channels_last && in_channels != input.channels;
    if (!input.scale.empty() && weights_.at(input.scale)->numel() == in_channels)
      layer.input_scale = input.scale;
    std::int64_t offset = 0;
    const bool concatenated = input.parts.size() > 1;
    for (const Part& part : input.statistic ? std::vector<Part>{} : input.parts) {
      if (concatenated && part.producers.size() > 1)
        throw_input(path_, w.name,
                    label +
                        " reads a concatenation that holds a residual sum: "
                        "not supported");
      using Kind = ModelFile::GraphRead::Kind;
      for (int p : part.producers) {
        const Kind kind = !whole(part)                ? Kind::Split
                          : concatenated              ? Kind::Concat
                          : part.producers.size() > 1 ? Kind::Add
                                                      : Kind::Direct;
        layer.reads.push_back({model_.graph_layers[static_cast<std::size_t>(p)].weight, kind,
                               offset, part.first, part.channels,
                               kind == Kind::Direct ? input.mixed_heads : 0,
                               kind == Kind::Direct ? input.repeats : 1});
      }
      offset += part.channels;
    }
    const int me = static_cast<int>(model_.graph_layers.size());
    model_.graph_layers.push_back(std::move(layer));
    layer_channels_.push_back(out_channels);
    Flow out;
    out.parts = {Part{{me}, out_channels}};
    out.channels = out_channels;
    out.tokens = op != "Conv";
    out.rank = op == "Conv"   ? static_cast<std::int64_t>(dims)
               : op == "Gemm" ? 2
                              : input.rank;  // MatMul by a matrix keeps its input's axes
    if (node.output_size() > 0) {
      flows_[node.output(0)] = out;
      layer_output_[node.output(0)] = me;
    }
  }

  // A token embedding, Gather(E, ids): a layer mapping a one-hot token to E's row, M = E^T
  // (E is stored (vocabulary, width)), reading the network's input.
  void embedding(const onnx::NodeProto& node, const std::string& label) {
    const TensorInfo& w = *weights_.at(node.input(0));
    if (w.shape.size() != 2)
      throw_input(
          path_, w.name,
          label + " gathers from a table of rank " + std::to_string(w.shape.size()) + ", not 2");
    transposed_.push_back(w.name);
    ModelFile::GraphLayer layer;
    layer.weight = w.name;
    const int me = static_cast<int>(model_.graph_layers.size());
    model_.graph_layers.push_back(std::move(layer));
    layer_channels_.push_back(w.shape[1]);
    Flow out;
    out.parts = {Part{{me}, w.shape[1]}};
    out.channels = w.shape[1];
    out.tokens = true;
    const std::int64_t ids_rank = flow_of(node.input(1)).rank;
    out.rank = ids_rank > 0 ? ids_rank + 1 : 0;
    if (node.output_size() > 0) flows_[node.output(0)] = out;
  }

  // A LayerNormalization (or RMSNormalization) over the channels of a token flow keeps them
  // apart (spec section 7); its Scale folds into the layer that reads it next. Over another
  // axis, or with a Scale that is no constant of the channels' size, it ends the flow.
  std::optional<Flow> layer_norm(const onnx::NodeProto& node, const Flow& in,
                                 std::string& why) const {
    const std::int64_t axis = int_attribute(node, "axis").value_or(-1);
    const auto scale = node.input_size() > 1 ? weights_.find(node.input(1)) : weights_.end();
    if (!(in.tokens || in.channels_last) || !channel_axis(in, axis)) {
      why = "a layer norm over other axes than the channels";
      return std::nullopt;
    }
    if (scale == weights_.end() || scale->second->numel() != in.channels) {
      why = "a layer norm whose scale is no constant of the " + std::to_string(in.channels) +
            " channels";
      return std::nullopt;
    }
    Flow out = in;
    out.scale = scale->first;
    return out;
  }

  // A reduction over positions only is a pooling (a global average written as ReduceMean over
  // the height and width): channels kept. Over the channels alone, keeping the axis (an
  // RMSNorm's mean square, a LayerNorm's mean written as operators), it is a per-position
  // statistic of the flow. Anything else ends the flow.
  std::optional<Flow> reduce(const onnx::NodeProto& node, const Flow& in,
                             std::string& why) const {
    std::optional<std::vector<std::int64_t>> axes = ints_attribute(node, "axes");
    if (!axes) axes = int64_values(node, 1, 8);  // an input since opset 18
    const bool keepdims = int_attribute(node, "keepdims").value_or(1) != 0;
    // Dropping the batch axis would move the channels' axis: that is not followed.
    const auto droppable = [&](std::int64_t axis) {
      return position_axis(in, axis) && (keepdims || (axis != 0 && axis != -in.rank));
    };
    if (axes && !axes->empty() && std::all_of(axes->begin(), axes->end(), droppable)) {
      Flow out = in;
      if (!keepdims)
        out.rank = in.rank > static_cast<std::int64_t>(axes->size())
                       ? in.rank - static_cast<std::int64_t>(axes->size())
                       : 0;
      return out;
    }
    if (!channel_statistic_op(node.op_type()) || !axes || axes->size() != 1 ||
        !channel_axis(in, axes->front()) || !keepdims || in.channels <= 0) {
      why = "a reduction that is neither over positions only nor a statistic of the channels "
            "(over them alone, keeping the axis)";
      return std::nullopt;
    }
    Flow out = in;
    out.statistic = true;
    out.scale.clear();
    out.normalized = false;
    return out;
  }

  // What a statistic may do: be shifted, rooted or inverted (one input), and scale or centre
  // the flow it was computed from (x / rms(x), x - mean(x)). Anything else ends the flow.
  static std::optional<Flow> with_statistic(const std::string& op,
                                            const std::vector<const Flow*>& inputs,
                                            std::string& why) {
    if (inputs.size() == 1 &&
        (pass_through_ops().count(op) || elementwise_binary(op) || op == "Pow"))
      return *inputs.front();
    if (inputs.size() == 2 && elementwise_binary(op) && same_flow(*inputs[0], *inputs[1])) {
      const Flow& a = *inputs[0];
      const Flow& b = *inputs[1];
      if (a.statistic && b.statistic) return a;
      // flow (op) statistic, or statistic * flow; statistic / flow is no scale of the flow
      if (!(a.statistic && (op == "Div" || op == "Sub"))) {
        Flow out = a.statistic ? b : a;
        out.scale.clear();
        out.normalized = op == "Mul" || op == "Div";
        return out;
      }
    }
    why =
        "a per-position statistic of the channels (a norm's mean) used otherwise than to "
        "scale or centre its own values";
    return std::nullopt;
  }

  // The constant a Mul multiplies a normalized token flow by, when it is one float initializer
  // factor per channel (an RMSNorm's weight after x / rms(x)); "" otherwise.
  std::string norm_weight_of(const onnx::NodeProto& node, const Flow& in) const {
    if (!in.normalized || !in.tokens || in.head != 0 || in.channels <= 0) return "";
    for (const std::string& operand : node.input()) {
      const auto w = weights_.find(operand);
      if (w != weights_.end() && w->second->numel() == in.channels && !w->second->shape.empty() &&
          w->second->shape.back() == in.channels)
        return operand;
    }
    return "";
  }

  // A gated unit's product (SwiGLU's silu(gate) * up, GeGLU): two token flows from different
  // layers, channel for channel. The Hugging Face Llama layout pairs gate and up with down
  // (add); the graph reads the same.
  static bool gated_unit(const std::vector<const Flow*>& inputs) {
    if (inputs.size() != 2) return false;
    for (const Flow* f : inputs)
      if (!f->tokens || f->head != 0 || f->repeats > 1 || !has_layers(*f)) return false;
    return inputs[0]->channels == inputs[1]->channels;
  }

  // An Expand of a flow split into heads, by a constant shape (batch, heads, repeats, positions,
  // head) after an Unsqueeze: each head repeated for the query heads that share it (a
  // grouped-query attention's repeat_kv). Any other Expand ends the flow.
  std::optional<Flow> repeat_heads(const onnx::NodeProto& node, const Flow& in,
                                   std::string& why) const {
    const auto shape = int64_values(node, 1, 8);
    // The shape is the file's: its products are checked (a fuzzer's 2^63 - 1 heads overflowed).
    std::int64_t width = 0, repeated = 0;
    if (!shape || shape->size() != 5 || (*shape)[4] != in.head || in.repeats != 1 ||
        __builtin_mul_overflow((*shape)[1], in.head, &width) || width != in.channels ||
        (*shape)[2] < 1 || __builtin_mul_overflow(in.channels, (*shape)[2], &repeated)) {
      why = "an expand svr cannot follow (only a grouped-query attention's repeat of its heads, "
            "to (batch, heads, repeats, positions, head))";
      return std::nullopt;
    }
    Flow out = in;
    out.repeats = (*shape)[2];
    out.rank = 5;
    return out;
  }

  // A Reshape of a token flow by a constant shape: a last axis of fewer channels splits them
  // into heads (channel-axis operators then end the flow); the full width merges them back.
  std::optional<Flow> reshape(const onnx::NodeProto& node, const Flow& in) const {
    Flow out = in;
    const auto shape = int64_values(node, 1, 16);
    out.rank = shape ? static_cast<std::int64_t>(shape->size()) : 0;
    if (!in.tokens || in.channels <= 0 || !shape || shape->empty()) return out;
    const std::int64_t last = shape->back();
    if (last == in.channels * in.repeats)  // no overflow: repeat_heads checked it
      out.head = 0;
    else if (last > 0 && last < in.channels && in.channels % last == 0)
      out.head = last;
    return out;
  }

  // A batch norm that reads a layer's output directly folds into that layer (spec section 1);
  // false: it does not (the flow then ends there).
  bool batchnorm(const onnx::NodeProto& node, int index, const std::string& label) {
    if (node.input_size() != 5 || node.output_size() < 1) return false;
    const auto produced = layer_output_.find(node.input(0));
    if (produced == layer_output_.end()) return false;
    const std::string& weight =
        model_.graph_layers[static_cast<std::size_t>(produced->second)].weight;
    if (model_.graph_batchnorms.count(weight)) return false;
    ModelFile::GraphBatchNorm bn;
    bn.node =
        node.name().empty() ? "BatchNormalization node " + std::to_string(index) : node.name();
    for (int k = 1; k < 5; ++k) {
      const std::string& operand = node.input(k);
      const auto bad = unreadable_.find(operand);
      if (bad != unreadable_.end()) throw_input(path_, operand, bad->second);
      if (!weights_.count(operand))
        throw_input(path_, operand,
                    label +
                        " takes it as a parameter, but it is no float initializer (a batch "
                        "norm svr folds needs constant parameters)");
    }
    bn.scale = node.input(1);
    bn.bias = node.input(2);
    bn.mean = node.input(3);
    bn.var = node.input(4);
    // Named like PyTorch's module when its parameters are "P.weight", "P.running_var", ...
    // (torch.onnx.export keeps them): summary.json then says "P" for both formats.
    const std::size_t dot = bn.var.rfind('.');
    if (dot != std::string::npos && dot > 0) {
      const std::string module = bn.var.substr(0, dot + 1);
      if (bn.scale.rfind(module, 0) == 0 && bn.bias.rfind(module, 0) == 0 &&
          bn.mean.rfind(module, 0) == 0)
        bn.node = module.substr(0, dot);
    }
    // A float attribute; the exporter wrote it from a decimal (PyTorch's eps=1e-5, a double):
    // its shortest decimal gives that value back, where widening 1e-5f would not.
    const float epsilon = float_attribute(node, "epsilon").value_or(1e-5f);
    char text[32];
    const std::to_chars_result written = std::to_chars(text, text + sizeof text, epsilon);
    bn.epsilon = std::strtod(std::string(text, written.ptr).c_str(), nullptr);
    if (!(bn.epsilon >= 0.0))
      throw_input(path_, bn.var, label + " has the epsilon " + std::string(text, written.ptr));
    if (node.output_size() > 1)
      throw_input(path_, bn.var, label + " is in training mode (it outputs its statistics)");
    model_.graph_batchnorms[weight] = bn;
    flows_[node.output(0)] = flow_of(node.input(0));
    layer_output_[node.output(0)] = produced->second;  // a second BN does not fold
    return true;
  }

  // NCHW -> NHWC before a Keras model's flatten, and back.
  static std::optional<Flow> transpose(const onnx::NodeProto& node, const Flow& in,
                                       std::string& why) {
    const std::vector<std::int64_t> perm =
        ints_attribute(node, "perm").value_or(std::vector<std::int64_t>{});
    using P = std::vector<std::int64_t>;
    Flow out = in;
    if (!perm.empty()) out.rank = static_cast<std::int64_t>(perm.size());
    // Channels on the last axis stay there (attention's heads moved beside the positions).
    if (in.tokens && !perm.empty() && perm.back() == static_cast<std::int64_t>(perm.size()) - 1)
      return out;
    if (!in.channels_last && (perm == P{0, 2, 3, 1} || perm == P{0, 2, 1})) {
      out.channels_last = true;
      return out;
    }
    if (in.channels_last && (perm == P{0, 3, 1, 2} || perm == P{0, 2, 1})) {
      out.channels_last = false;
      return out;
    }
    why = "a transpose that moves the channels elsewhere";
    return std::nullopt;
  }

  // Whether a part is all of its producers' channels (not a Split's slice of them).
  bool whole(const Part& part) const {
    for (int p : part.producers)
      if (part.first != 0 || part.channels != layer_channels_[static_cast<std::size_t>(p)])
        return false;
    return true;
  }

  // Whether `axis` of a Split, Slice or Concat is surely the flow's channel axis: 1 of a
  // convolution's output, -1 of a MatMul's (whose rank is not known here) or after a transpose to
  // NHWC (also 3).
  static bool channel_axis(const Flow& in, std::int64_t axis) {
    if (in.head != 0 || in.repeats > 1) return false;  // one head's channels, or repeated ones
    const bool last = in.tokens || in.channels_last;
    if (in.rank > 0) {
      if (axis < -in.rank || axis >= in.rank) return false;
      return (axis < 0 ? axis + in.rank : axis) == (last ? in.rank - 1 : 1);
    }
    return last ? axis == -1 || (in.channels_last && axis == 3) : axis == 1;
  }

  // Whether `axis` is surely not the channel axis (the batch or the positions: a ViT's class
  // token concatenated, a token picked), when the rank may not be known: a convolution's value
  // has at least 3 axes (channels on 1), a channels-last one at least 3, a token flow 2.
  static bool position_axis(const Flow& in, std::int64_t axis) {
    if (in.head != 0 || in.repeats > 1) return false;
    if (in.rank > 0) {
      const std::int64_t a = axis < 0 ? axis + in.rank : axis;
      return a >= 0 && a < in.rank && !channel_axis(in, axis);
    }
    if (in.channels_last) return axis == 0 || axis == 1 || axis == -2 || axis == -3;
    if (in.tokens) return axis == 0 || axis == -2;
    return axis == 0 || axis >= 2 || axis == -1;
  }

  // A Gather of a flow by constant indices along the positions (a ViT's class token) keeps its
  // channels; along the channels it ends the flow.
  static std::optional<Flow> gather(const onnx::NodeProto& node, const Flow& in, std::string& why) {
    const std::int64_t axis = int_attribute(node, "axis").value_or(0);
    if (!position_axis(in, axis)) {
      why = "a gather along axis " + std::to_string(axis) + ", which may be the channels";
      return std::nullopt;
    }
    Flow out = in;
    out.rank = 0;  // a scalar index drops the axis
    return out;
  }

  // The values of a small int64 constant (a Split's sizes, a Slice's bounds, a Reshape's
  // shape): an initializer or a Constant node's value. nullopt when the input is absent, or no
  // int64 constant of at most `most` values.
  std::optional<std::vector<std::int64_t>> int64_values(const onnx::NodeProto& node, int input,
                                                        std::int64_t most) const {
    if (node.input_size() <= input || node.input(input).empty()) return std::nullopt;
    const auto held = int64s_.find(node.input(input));
    if (held != int64s_.end())
      return static_cast<std::int64_t>(held->second.size()) <= most
                 ? std::optional<std::vector<std::int64_t>>(held->second)
                 : std::nullopt;
    const TensorInfo* given = model_.find(node.input(input));
    if (given == nullptr || given->dtype != DType::I64 || given->numel() > most)
      return std::nullopt;
    // Read through double: exact up to 2^53, and saturated beyond (INT64_MAX, ONNX's "to the
    // end", is 2^63 as a double, outside int64): every bound is clamped to the channels anyway.
    std::vector<std::int64_t> values;
    for (double v : read_tensor(*given))
      values.push_back(v >= 0x1p62    ? std::numeric_limits<std::int64_t>::max()
                       : v <= -0x1p62 ? std::numeric_limits<std::int64_t>::min()
                                      : static_cast<std::int64_t>(v));
    return values;
  }

  // The parts of `in` covering its channels [start, start + size).
  Flow channel_slice(const Flow& in, std::int64_t start, std::int64_t size) const {
    Flow out = in;
    out.scale.clear();
    out.parts.clear();
    out.channels = size;
    std::int64_t at = 0;  // the first channel of the part
    for (const Part& part : in.parts) {
      const std::int64_t lo = std::max(start, at), hi = std::min(start + size, at + part.channels);
      if (lo < hi) out.parts.push_back(Part{part.producers, hi - lo, part.first + (lo - at)});
      at += part.channels;
    }
    if (!has_layers(out)) out.parts.clear();
    return out;
  }

  // A Slice of consecutive channels (one axis, the channels', step 1), with constant bounds.
  std::optional<Flow> slice(const onnx::NodeProto& node, const Flow& in, std::string& why) const {
    const auto all_axes = int64_values(node, 3, 8);
    if (all_axes && !all_axes->empty() &&
        std::all_of(all_axes->begin(), all_axes->end(),
                    [&](std::int64_t axis) { return position_axis(in, axis); }))
      return in;  // positions picked, every channel kept
    const auto starts = int64_values(node, 1, 1), ends = int64_values(node, 2, 1);
    const auto axes = int64_values(node, 3, 1), steps = int64_values(node, 4, 1);
    if (!starts || !ends || starts->size() != 1 || ends->size() != 1 || !axes ||
        axes->size() != 1 || (steps && (steps->size() != 1 || steps->front() != 1))) {
      why =
          "a slice svr cannot follow (bounds, axes and steps must be int64 initializers of "
          "one axis, step 1)";
      return std::nullopt;
    }
    if (in.head != 0) {
      why = "a slice of each head's channels (a rotary embedding's halves, say)";
      return std::nullopt;
    }
    if (!channel_axis(in, axes->front()) || in.channels <= 0) {
      why = "a slice along axis " + std::to_string(axes->front()) + ", not the channels";
      return std::nullopt;
    }
    // ONNX's rules: negative bounds count from the end; both are clamped to [0, channels].
    const auto clamp = [&](std::int64_t v) {
      if (v < 0) v = v < -in.channels ? 0 : v + in.channels;
      return std::min(v, in.channels);
    };
    const std::int64_t lo = clamp(starts->front()), hi = clamp(ends->front());
    if (lo >= hi) {
      why = "an empty slice of the channels";
      return std::nullopt;
    }
    return channel_slice(in, lo, hi - lo);
  }

  // A Split on the channel axis: each output the slice of the parts it covers; false (and `why`)
  // when it splits another axis or its sizes are not known constants.
  bool split(const onnx::NodeProto& node, const Flow& in, std::string& why) {
    const std::int64_t axis = int_attribute(node, "axis").value_or(0);
    if (position_axis(in, axis)) {  // positions apart, every channel in each output
      for (const std::string& output : node.output())
        if (!output.empty()) flows_[output] = in;
      return true;
    }
    if (!channel_axis(in, axis) || in.channels <= 0) {
      why = "a split along axis " + std::to_string(axis) + ", not the channels";
      return false;
    }
    const auto outputs = static_cast<std::int64_t>(node.output_size());
    std::vector<std::int64_t> sizes =
        ints_attribute(node, "split").value_or(std::vector<std::int64_t>{});
    if (sizes.empty() && node.input_size() > 1 && !node.input(1).empty()) {
      const auto given = int64_values(node, 1, outputs);
      if (!given || static_cast<std::int64_t>(given->size()) != outputs) {
        why = "a split whose sizes are no int64 initializer of one size per output";
        return false;
      }
      sizes = *given;
    }
    if (sizes.empty()) {
      if (in.channels % outputs != 0) {
        why = "an equal split of " + std::to_string(in.channels) + " channels into " +
              std::to_string(outputs) + " outputs";
        return false;
      }
      sizes.assign(static_cast<std::size_t>(outputs), in.channels / outputs);
    }
    std::int64_t total = 0;
    bool valid = static_cast<std::int64_t>(sizes.size()) == outputs;
    for (std::int64_t n : sizes) {  // never trust sizes read from a file
      valid = valid && n >= 0 && n <= in.channels - total;
      if (valid) total += n;
    }
    if (!valid || total != in.channels) {
      why = "a split whose sizes do not add up to its " + std::to_string(in.channels) + " channels";
      return false;
    }
    std::int64_t start = 0;
    for (std::int64_t k = 0; k < outputs; ++k) {
      const std::int64_t size = sizes[static_cast<std::size_t>(k)];
      const std::string& output = node.output(static_cast<int>(k));
      if (!output.empty()) flows_[output] = channel_slice(in, start, size);
      start += size;
    }
    return true;
  }

  // The residual sum of whole values (each one part, or none). A summand no layer wrote (the
  // network's input, an ended flow: a rotary embedding's rotated half) adds no producer, and
  // its layout does not matter.
  std::optional<Flow> add(const std::vector<const Flow*>& inputs, std::string& why) {
    const auto layered =
        std::find_if(inputs.begin(), inputs.end(), [](const Flow* f) { return has_layers(*f); });
    const Flow& reference = layered == inputs.end() ? *inputs.front() : **layered;
    Flow out;
    out.channels = reference.channels;
    out.rank = reference.rank;
    Part sum{{}, out.channels};
    for (const Flow* f : inputs) {
      if (!has_layers(*f)) continue;
      if (f->parts.size() > 1) {
        why = "a sum with a concatenation";
        return std::nullopt;
      }
      if (f->repeats > 1) {
        why = "a sum of repeated heads (a grouped-query attention's V)";
        return std::nullopt;
      }
      if (!whole(f->parts.front())) {
        why = "a sum of split channels";
        return std::nullopt;
      }
      if (f->channels != out.channels) {
        why = "a sum of " + std::to_string(out.channels) + " and " + std::to_string(f->channels) +
              " channels";
        return std::nullopt;
      }
      if ((f->channels_last || f->tokens) != (reference.channels_last || reference.tokens) ||
          f->head != reference.head) {
        why = "a sum of values whose channels lie on different axes";
        return std::nullopt;
      }
      out.tokens = out.tokens || f->tokens;
      if (f->rank != reference.rank) out.rank = 0;
      sum.producers.insert(sum.producers.end(), f->parts.front().producers.begin(),
                           f->parts.front().producers.end());
    }
    std::sort(sum.producers.begin(), sum.producers.end());
    sum.producers.erase(std::unique(sum.producers.begin(), sum.producers.end()),
                        sum.producers.end());
    // Channels last and token flows summed (a ViT's patches and its blocks' outputs): a token
    // flow, no longer one a transpose turns back into a convolution's layout.
    out.channels_last = reference.channels_last && !out.tokens;
    out.tokens = out.tokens || reference.tokens;
    out.head = reference.head;
    if (!sum.producers.empty()) out.parts = {sum};
    return out;
  }

  // Values side by side on the channel axis (1; the last one after a transpose to NHWC). Along
  // the positions (a ViT's class token before its patches) each channel holds the values of
  // every input: read as a sum.
  std::optional<Flow> concat(const onnx::NodeProto& node, const std::vector<const Flow*>& inputs,
                             std::string& why) {
    const auto layered =
        std::find_if(inputs.begin(), inputs.end(), [](const Flow* f) { return has_layers(*f); });
    const std::int64_t position = int_attribute(node, "axis").value_or(1);
    if (layered != inputs.end() && position_axis(**layered, position)) return add(inputs, why);
    if (static_cast<int>(inputs.size()) != node.input_size()) {
      why = "a concatenation with a constant";
      return std::nullopt;
    }
    const std::int64_t axis = int_attribute(node, "axis").value_or(1);
    // Channels on the last axis: after a transpose to NHWC, or a token flow's.
    if (!channel_axis(*inputs.front(), axis)) {
      why = "a concatenation along axis " + std::to_string(axis) + ", not the channels";
      return std::nullopt;
    }
    Flow out;
    out.channels_last = inputs.front()->channels_last;
    out.tokens = inputs.front()->tokens;
    for (const Flow* f : inputs) {
      if (f->channels <= 0 || f->channels_last != out.channels_last || f->tokens != out.tokens) {
        why = "a concatenation of values whose channels svr cannot follow";
        return std::nullopt;
      }
      if (f->parts.empty()) out.parts.push_back(Part{{}, f->channels, 0});
      out.parts.insert(out.parts.end(), f->parts.begin(), f->parts.end());
      out.channels += f->channels;
    }
    if (!has_layers(out)) out.parts.clear();
    return out;
  }

  const Flow& flow_of(const std::string& value) {
    const auto it = flows_.find(value);
    if (it != flows_.end()) return it->second;
    Flow& unknown = flows_[value];
    unknown.ended = "'" + value + "', which no node of the graph produces";
    return unknown;
  }

  const onnx::GraphProto& graph_;
  const std::string& path_;
  const std::map<std::string, const TensorInfo*>& weights_;
  const Unreadable& unreadable_;
  ModelFile& model_;
  std::set<std::string> constants_, used_;
  static constexpr std::int64_t kMostInt64s = 64;
  std::map<std::string, std::vector<std::int64_t>> int64s_;  // small int64 constants by value
  std::map<std::string, Flow> flows_;
  std::map<std::string, int> layer_output_;  // a layer's output value (or its BN's): the layer
  std::vector<std::int64_t> layer_channels_;  // each graph layer's output channels
  std::vector<std::string> transposed_;
};

}  // namespace

bool looks_like_onnx(const unsigned char* head, std::size_t size) {
  return size >= 2 && head[0] == 0x08 && head[1] < 0x80;  // ir_version, a small varint
}

ModelFile open_onnx(const std::string& path) {
  std::uint64_t file_size = 0;
  {
    RandomAccessFile file(path);  // "no such file" etc.
    file_size = file.size();
  }
  if (file_size > static_cast<std::uint64_t>(INT_MAX))
    throw_input(path, "",
                "an ONNX file over 2 GiB is not a valid protobuf message (store the "
                "weights as external data)");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_input(path, "", "cannot open");
  onnx::ModelProto proto;
  std::vector<std::optional<Payload>> payloads;
  {
    google::protobuf::io::FileInputStream stream(fd);
    stream.SetCloseOnDelete(true);
    CodedInputStream in(&stream);
    in.SetTotalBytesLimit(INT_MAX);
    in.SetRecursionLimit(64);
    Stripper stripper(in, path, file_size);
    const std::string stripped = stripper.model();
    if (static_cast<std::uint64_t>(in.CurrentPosition()) != file_size)
      throw_input(path, "",
                  "not a valid ONNX model: no protobuf field can be read at byte " +
                      std::to_string(in.CurrentPosition()) + " of " + std::to_string(file_size));
    if (!proto.ParseFromString(stripped))
      throw_input(path, "", "not a valid ONNX model (protobuf cannot parse it)");
    payloads = stripper.payloads();
  }
  if (!proto.has_graph() || proto.graph().node_size() == 0)
    throw_input(path, "", "not a valid ONNX model: it has no graph");
  if (proto.opset_import_size() == 0)
    throw_input(path, "", "not a valid ONNX model: it imports no operator set (opset_import)");
  const onnx::GraphProto& graph = proto.graph();
  if (graph.sparse_initializer_size() > 0)
    throw_input(path, graph.sparse_initializer(0).values().name(),
                "sparse initializers are not supported");
  if (static_cast<int>(payloads.size()) != graph.initializer_size())
    throw_input(path, "", "not a valid ONNX model: the initializers could not be located");

  ModelFile model;
  model.path = path;
  model.format = "onnx";
  model.files = {path};
  Unreadable unreadable;
  std::set<std::string> names;
  for (int k = 0; k < graph.initializer_size(); ++k) {
    const onnx::TensorProto& t = graph.initializer(k);
    if (!names.insert(t.name()).second)
      throw_input(path, t.name(), "two initializers have this name");
    std::optional<TensorInfo> info = initializer_tensor(t, payloads[static_cast<std::size_t>(k)],
                                                        path, file_size, model.files, unreadable);
    if (info && !dtype_is_float(info->dtype))
      unreadable[info->name] = "its type " + type_name(t.data_type()) +
                               " is not one svr reads as a weight (FLOAT, DOUBLE, FLOAT16, "
                               "BFLOAT16)";
    if (info) model.tensors.push_back(std::move(*info));
  }
  std::map<std::string, const TensorInfo*> floats;
  for (const TensorInfo& t : model.tensors)
    if (dtype_is_float(t.dtype)) floats[t.name] = &t;
  for (const std::string& name : GraphWalk(graph, path, floats, unreadable, model).run())
    // Stored (in, out): the (out, in) view of it, as PyTorch stores a Linear weight.
    for (TensorInfo& t : model.tensors)
      if (t.name == name) transpose_matrix_view(t);
  return model;
}

}  // namespace svr::io

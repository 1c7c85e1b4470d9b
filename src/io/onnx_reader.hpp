#pragma once
// Internal: ONNX models (docs/input-formats.md, "ONNX"). The ModelProto is parsed by protobuf
// (Debian's libprotobuf and libonnx_proto) from a copy of the file without the weights' bytes,
// whose positions in the file are noted on the way (protobuf reports none), so that the
// weights are read later a range at a time like any other format's, and no rank holds them
// all.
#include <string>

#include "svr/io/model_file.hpp"

namespace svr::io {

// Whether the first bytes of a file look like a serialized ModelProto: field 1 (ir_version,
// a varint) first, as every ONNX writer puts it.
bool looks_like_onnx(const unsigned char* head, std::size_t size);

// The initializers of the main graph as tensors (FLOAT, DOUBLE, FLOAT16 and BFLOAT16 weights,
// embedded as raw_data, packed float_data or double_data, or in external data files beside the
// model), a weight operand of MatMul or of Gemm without transB as a transposed view (so every
// weight is (out, in, kernel...) as in PyTorch), and the graph's weight layers in its order with
// what each reads (graph_layers): the channels followed through the operators that keep them
// apart, residual sums, channel concatenations and transposes to channels-last; batch norms that
// read a layer's output (graph_batchnorms); where a flow ended (graph_flow_ends). Throws
// InputError naming the file, and the node or tensor, on anything it cannot read.
ModelFile open_onnx(const std::string& path);

}  // namespace svr::io

#pragma once
// A model on disk (safetensors, sharded safetensors, PyTorch zip or legacy checkpoint, ONNX) as a
// list of validated tensor locations. Opening reads only headers/pickles; read_tensor reads bytes.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "svr/core/tensor.hpp"

namespace svr {

namespace io {
class RandomAccessFile;
}

struct ModelFile {
  std::string path;                 // as the user gave it
  std::string format;  // "safetensors", "safetensors-sharded", "torch-zip", "torch-legacy", "onnx"
  std::vector<TensorInfo> tensors;  // every tensor, in stored order
  bool order_is_state_dict = false; // true for torch checkpoints (their order is the module order)
  // safetensors __metadata__["svr.layers"] (a JSON list of weight names stored as a string),
  // already checked to name existing tensors, each once.
  std::optional<std::vector<std::string>> declared_layers;
  // state_dict key -> global (e.g. "os.system") that produced its non-tensor value; never run.
  std::map<std::string, std::string> refused;
  // ONNX: the BatchNormalization node that reads a weight layer's output directly, by the
  // layer's weight name (its initializers' names and its epsilon), to fold into that layer.
  struct GraphBatchNorm {
    // PyTorch's module name P when the parameters are named P.weight, P.bias, P.running_mean
    // and P.running_var; else the node's name (or "BatchNormalization node K").
    std::string node;
    std::string scale, bias, mean, var;
    double epsilon = 1e-5;
  };
  std::map<std::string, GraphBatchNorm> graph_batchnorms;
  // ONNX: every weight layer of the graph in its (topological) order, with what it reads
  // through operators that keep channels apart; empty reads: it reads the graph's input or a
  // flow that ended (graph_flow_ends says where and why, for --plan).
  struct GraphRead {
    std::string producer;  // a weight layer listed before
    enum class Kind { Direct, Add, Concat, Split } kind = Kind::Direct;
    std::int64_t offset = 0;  // Concat, Split: the producer's first channel in the consumer's input
    // Split: the producer's channels [first, first + count) are read (a Split node's output).
    std::int64_t first = 0, count = 0;
    // Direct: the channels reach the reader through attention's heads of this many channels
    // each (V -> O); 0 otherwise. --attention-heads split reads them head by head.
    std::int64_t head = 0;
    // Each of those heads read by this many query heads (a grouped-query attention's V heads
    // repeated by Expand): 1 otherwise. No single channel map describes it: whole, the pair is
    // left out; split, each query head reads its shared V head.
    std::int64_t repeats = 1;
  };
  struct GraphLayer {
    std::string weight;
    std::int64_t groups = 1;
    bool channels_last = false;  // a linear layer after a transpose to NHWC (Keras' flatten)
    // The Scale of a LayerNormalization whose output the layer reads directly: folded into the
    // layer's columns (a pre-norm transformer's gamma); "" none.
    std::string input_scale;
    std::vector<GraphRead> reads;
  };
  std::vector<GraphLayer> graph_layers;
  std::vector<std::string> graph_flow_ends;  // "node 'x' (Mul): an operator that mixes channels"
  // Files whose bytes make up the model, in hashing order (sharded: index, then the shards in
  // the order the weight_map first names them).
  std::vector<std::string> files;

  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
};

// Dispatches on content: zip magic (torch-zip), pickle protocol byte (torch-legacy),
// "*.index.json" (sharded safetensors), ".onnx" or a ModelProto's first field (onnx, unless
// it reads as a safetensors header), otherwise safetensors. Throws InputError (one line
// naming file, tensor and problem) on anything malformed.
ModelFile open_model(const std::string& path);

// All elements of `t` in logical row-major order converted to double; strided views are
// gathered. Re-checks that the tensor lies inside the file; throws InputError on short reads.
std::vector<double> read_tensor(const TensorInfo& t);

// Elements [first, first + count) of `t` in logical row-major order, converted to double into
// out[0..count): only those bytes are read (contiguous tensors: one pread; strided views: the
// storage position of every element is computed, adjacent ones read together). Throws
// InputError naming the file and tensor when the range is outside the tensor, the tensor
// outside its file, or a read comes back short.
void read_tensor_range(const TensorInfo& t, std::int64_t first, std::int64_t count, double* out);

// read_tensor_range for many ranges of one tensor: the file is opened and checked once.
class TensorRangeReader {
 public:
  explicit TensorRangeReader(const TensorInfo& t);
  ~TensorRangeReader();
  TensorRangeReader(const TensorRangeReader&) = delete;
  TensorRangeReader& operator=(const TensorRangeReader&) = delete;

  const TensorInfo& tensor() const { return t_; }
  std::int64_t numel() const { return numel_; }
  void read(std::int64_t first, std::int64_t count, double* out);

 private:
  TensorInfo t_;
  std::int64_t numel_ = 0;
  std::unique_ptr<io::RandomAccessFile> file_;
  std::vector<unsigned char> raw_;
  std::vector<std::uint64_t> elements_;
  std::vector<std::uint64_t> order_;  // indices into elements_ in storage order
};

}  // namespace svr

#pragma once
// Which tensors of a model are its weight layers, in which order, which batch norm folds into
// which layer, and the pairs: which layer reads from which, with the geometry (c, z) and the
// channel map of each (spec sections 3 and 7). A chain (MLP, VGG) is the case with pairs
// (l, l + 1); a topology file (topology.hpp) describes any directed acyclic graph. Works on
// metadata only: no tensor bytes are read here (layer_matrix.hpp reads them).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "svr/io/model_file.hpp"
#include "svr/network/network_options.hpp"

namespace svr {

enum class LayerKind { Linear, Conv };

// A BatchNorm module folded into the layer it follows. Tensor names; weight/bias are "" when
// the BN has no affine parameters (gamma = 1). Only running_var and weight enter the fold.
struct BatchNormSpec {
  std::string prefix;  // e.g. "features.1"
  std::string weight, bias, running_mean, running_var;
  // The model's own epsilon (an ONNX node's attribute); else --bn-eps.
  std::optional<double> eps;
};

struct LayerSpec {
  std::string name;  // weight tensor name
  LayerKind kind = LayerKind::Linear;
  int spatial_dims = 0;  // conv1d/2d/3d -> 1/2/3, linear -> 0
  std::vector<std::int64_t> shape;  // tensor shape as stored
  std::int64_t out_channels = 0;
  std::int64_t in_channels = 0;  // shape[1]
  std::int64_t kernel_size = 1;  // z = k1*...*kd; 1 for linear
  std::int64_t groups = 1;       // grouped convolution: shape[1] = input channels / groups
  std::optional<BatchNormSpec> bn;  // folded BN (only with BatchNormMode::Fold)
  std::string batchnorm_prefix;     // the BN that follows the layer, folded or not ("": none)
  // A per-input-channel scale directly before the layer (a pre-norm LayerNorm's or RMSNorm's
  // gamma, spec section 7): the tensor's name ("": none), of in_channels values, folded into M's
  // columns, M <- M diag(gamma repeated over positions), unless --batchnorm ignore.
  std::string input_scale;

  std::string kind_name() const;  // "linear", "conv1d", "conv2d", "conv3d"
  // Shape of the matrix M of spec section 1: svr out x (in*z), cosvr (out*z) x in, with in the
  // layer's input channels (shape[1] * groups; a grouped layer's M is block diagonal).
  std::int64_t rows(Method method) const;
  std::int64_t cols(Method method) const;
};

// How the producer's output channels reach the consumer's input (spec section 7): the channels
// S = [first, first + count) of the producer, at consumer input channels pi(a) = offset +
// (a - first), or permutation[a - first] for a permutation.
enum class MapKind { Direct, Add, Concat, Split, Permute };
std::string to_string(MapKind kind);  // "direct", "add", "concat", "split", "permute"

struct ChannelMap {
  MapKind kind = MapKind::Direct;
  std::int64_t first = 0;
  std::int64_t count = 0;
  std::int64_t offset = 0;
  std::vector<std::int64_t> permutation;  // Permute only: count entries

  std::int64_t target(std::int64_t a) const {  // pi(a), a in S
    return kind == MapKind::Permute ? permutation[static_cast<std::size_t>(a - first)]
                                    : offset + (a - first);
  }
};

// Geometry of the pair (producer from, consumer to): c = c_B, the consumer's input channels
// (the null's N = c z and the intensity's c); the u side (the producer) carries z_u positions
// and the v side (the consumer) z_v; svr: z_u = 1; cosvr: z_v = 1 except conv -> linear with a
// flatten, where both sides carry positions (simulated null). E sums over the map.count
// channels of S (spec section 7); for a chain pair map is direct and map.count = c.
struct PairSpec {
  int from = 0, to = 0;
  std::int64_t c = 0, z_u = 1, z_v = 1;
  ChannelMap map;
  FlattenOrder flatten = FlattenOrder::ChannelMajor;
  std::int64_t producer_channels = 0;  // c_A, the producer's output channels
  std::int64_t producer_groups = 1;    // the producer's groups (a grouped convolution)
  std::int64_t consumer_groups = 1;    // the consumer's groups: c / consumer_groups per group
  // Set by the planner (finish_pair): E is the chain formula on the whole factors (every
  // producer channel read at the same consumer channel, positions channel-major): no row is
  // selected or moved. And the consumer channel b's channel a - first of S, or -1.
  bool identity = true;
  std::vector<std::int64_t> source_of_target;  // empty when identity

  // Whether S is all of the producer's channels (then ||u_S|| = 1 and the null applies to E).
  bool reads_all_channels() const { return map.count == producer_channels; }
};

// Fills pair.identity and pair.source_of_target from the map, c and the flatten order.
void finish_pair(PairSpec& pair);

// The null law of a pair's edges (spec sections 4 and 7): the statistic is Beta(z/2,
// (c z - z)/2) under the null, for these c and z. The statistic is E, or with `divide`
// E / norm2(h, i), norm2(h, i) the squared norm of producer neuron i over the channels it sends
// to consumer group h (the consumer neuron's group; h = 0 for an ungrouped consumer). `norms`:
// norm2 is needed (to divide, or to tell the untestable edges, norm2 = 0). Ungrouped consumer:
// c = c_B, z its positions, divide when only some producer channels are read. Grouped consumer
// with c_g = c_B / groups >= 2 channels per group: c = c_g, divide. Depthwise consumer (c_g =
// 1): the producer-side null u_i[a]^2 ~ Beta(1/2, (c_u - 1)/2), c = c_u the producer's channels
// per group, z = 1, no division. cosvr: the chain law (c, z_u), no norms.
struct PairNull {
  std::int64_t c = 0, z = 1;
  bool divide = false;
  bool norms = false;
  std::int64_t groups = 1;  // consumer groups norm2 is summed by
};
PairNull pair_null(const PairSpec& pair, Method method);

// The consumer group (0 .. consumer_groups - 1) of each row of U' (u_row_of's numbering, z_u = 1):
// the group of the consumer channel the row's producer channel reaches.
std::vector<int> u_row_groups(const PairSpec& pair);

// The rows of U (producer) and of V (consumer) that take part in E of `pair`, renumbered into
// the layout of edge_weights(U', V', pair.map.count, z_u, z_v): row a z_u + p of U' for channel
// first + a of S, row a z_v + p of V' for the consumer channel pi(first + a); -1: not used. The
// identity when pair.identity. Graph maps other than the identity are svr-only (z_u = 1).
std::int64_t u_row_of(const PairSpec& pair, std::int64_t row);
std::int64_t v_row_of(const PairSpec& pair, std::int64_t row);

struct NetworkPlan {
  std::vector<LayerSpec> layers;  // in a topological order: every pair has from < to
  // By consumer, then in the order of the consumer's reads; a chain's pairs[l] is (l, l + 1).
  std::vector<PairSpec> pairs;
  // BatchNorm prefixes found in the model that fold into no selected layer (e.g. a BN before
  // the first layer, or after a layer left out by --layers); the summary should mention them.
  std::vector<std::string> unfolded_batchnorms;
  // ONNX: where a flow from the layers ended and why ("node 'x' (Mul): an operator that mixes
  // channels"), so that --plan shows what the graph's pairs leave out.
  std::vector<std::string> flow_ends;
  // A recognised transformer: its matrices that are none of the layers and the pairs it cannot
  // make ("'model.layers.0.self_attn.v_proj.weight' -> ...: grouped-query attention ...").
  std::vector<std::string> left_out;
  // The architecture family whose topology svr recognised from the names and shapes (e.g.
  // "torchvision ResNet"); "" for a chain, a topology file or --layers.
  std::string family;
  // Where the layers and pairs come from: "topology" (--topology), "layers" (--layers),
  // "metadata" (svr.layers of the model file), "onnx" (an ONNX graph), "family"
  // (recognised) or "names" (a chain found from the names and shapes).
  std::string source = "names";
};

// Builds the plan from options.topology (a graph, topology.hpp), else options.layers, else the
// model's declared order (svr.layers), else the topology of a recognised architecture family
// (torchvision ResNet/ResNeXt/Wide-ResNet, DenseNet, MobileNetV2/V3, EfficientNet, Inception-v3:
// a graph, from the names and shapes), else the state_dict order, else numeric-aware name order
// with the top-level modules permuted until the dimensions chain (exactly one permutation
// must). Throws InputError (one line naming the file, the tensors and the problem) for every
// unsupported or malformed network.
NetworkPlan plan_network(const ModelFile& model, const NetworkOptions& options);

// Hugging Face layouts store some layers in another orientation or fused: GPT-2's Conv1D
// weights are (in, out), every token embedding (vocabulary, width), and GPT-2's c_attn holds Q,
// K and V side by side. Replaces those tensors by their (out, in) views and adds the views
// "<c_attn>.q.weight", ".k.weight" and ".v.weight" (strided views: no byte is read), when the
// model has the names of such a family. Call after open_model, before plan_network.
void add_layout_views(ModelFile& model);

// Describes one weight tensor as a layer; throws InputError if it cannot be one.
LayerSpec describe_layer(const ModelFile& model, const TensorInfo& tensor);

// Geometry of a consecutive pair; throws InputError naming both layers and their shapes when
// `from` does not feed `to` (including grouped/depthwise convolutions).
PairSpec pair_geometry(const ModelFile& model, const LayerSpec& from, const LayerSpec& to,
                       Method method);

// Numeric-aware name order: digit runs compare as numbers ("features.2" < "features.10").
bool natural_less(const std::string& a, const std::string& b);

}  // namespace svr

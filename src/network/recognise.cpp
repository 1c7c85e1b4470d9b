// The topology of known architecture families (torchvision's ResNet, ResNeXt, Wide-ResNet,
// DenseNet, MobileNetV2/V3, EfficientNet and Inception-v3) from a state_dict's names and shapes
// alone, with the rules scripts/export_topology.py applies to a traced model (spec section 7):
// the same layers, in the same order, with the same reads. A family is recognised only when
// every name its structure needs is there; otherwise svr goes on as for a chain.
#include "recognise.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace svr::detail {
namespace {

// What flows between layers: the channels of a tensor, as parts laid side by side (a Concat),
// each the output of one layer or the sum of several (an Add). No part: the flow has ended
// (a product with a gate), or it is the network's input.
struct Part {
  std::vector<int> producers;  // layer indices; more than one: the summands of an Add
  std::int64_t channels = 0;
};
struct Value {
  std::vector<Part> parts;
  std::int64_t channels = 0;
};

// Builds the layer list while the family's structure is walked in the model's forward order.
class Builder {
 public:
  explicit Builder(const ModelFile& model) : model_(model) {}

  bool has(const std::string& name) const { return model_.find(name) != nullptr; }
  bool has_layer(const std::string& prefix) const { return has(prefix + ".weight"); }

  // Weight layer `prefix`.weight reading `input`, folding the batch norm `bn` when the model
  // has it; its output.
  Value layer(const std::string& prefix, const Value& input, const std::string& bn = "",
              bool flatten = false) {
    const std::string name = prefix + ".weight";
    const TensorInfo* t = model_.find(name);
    if (t == nullptr) throw NotThisFamily{"'" + name + "' is missing"};
    if (t->shape.size() < 2 || t->shape.size() > 5)
      throw NotThisFamily{"'" + name + "' has " + std::to_string(t->shape.size()) + " dimensions"};
    TopologyLayer layer;
    layer.name = name;
    layer.kind =
        t->shape.size() == 2 ? "linear" : "conv" + std::to_string(t->shape.size() - 2) + "d";
    const std::int64_t in = t->shape[1];
    // Groups from the channels that reach the layer (unknown for the network's input: 0).
    if (layer.kind != "linear" && input.channels > in && input.channels % in == 0)
      layer.groups = input.channels / in;
    if (!bn.empty() && has(bn + ".running_var")) layer.batchnorm = bn;
    if (flatten && layer.kind == "linear") layer.flatten = FlattenOrder::ChannelMajor;
    layer.reads = reads_of(input);
    const int index = static_cast<int>(layers_.size());
    out_channels_.push_back(t->shape[0]);
    layers_.push_back(std::move(layer));
    return Value{{Part{{index}, t->shape[0]}}, t->shape[0]};
  }

  // The network's input, whose channels the weights do not say (the first layer's in).
  static Value input() { return Value{{}, 0}; }
  static Value ended(const Value& v) { return Value{{}, v.channels}; }

  static Value concat(const std::vector<Value>& values) {
    Value out;
    for (const Value& v : values) {
      out.parts.insert(out.parts.end(), v.parts.begin(), v.parts.end());
      out.channels += v.channels;
    }
    return out;
  }

  // The residual sum of two whole tensors (each one part, or none: a summand with no layer).
  static Value add(const Value& a, const Value& b) {
    if (a.parts.size() > 1 || b.parts.size() > 1)
      throw NotThisFamily{"a residual sum adds a concatenation"};
    if (a.channels != b.channels)
      throw NotThisFamily{"a residual sum adds " + std::to_string(a.channels) + " channels to " +
                          std::to_string(b.channels)};
    Part sum{{}, a.channels};
    for (const Value* v : {&a, &b})
      for (const Part& p : v->parts)
        sum.producers.insert(sum.producers.end(), p.producers.begin(), p.producers.end());
    std::sort(sum.producers.begin(), sum.producers.end());
    sum.producers.erase(std::unique(sum.producers.begin(), sum.producers.end()),
                        sum.producers.end());
    return sum.producers.empty() ? Value{{}, a.channels} : Value{{sum}, a.channels};
  }

  std::vector<TopologyLayer> take() { return std::move(layers_); }

  // Why the model is not of the family whose structure was being walked.
  struct NotThisFamily {
    std::string reason;
  };

 private:
  std::vector<TopologyRead> reads_of(const Value& input) const {
    std::vector<TopologyRead> reads;
    if (input.parts.size() == 1) {
      const Part& part = input.parts.front();
      for (int p : part.producers)
        reads.push_back({layers_[static_cast<std::size_t>(p)].name,
                         part.producers.size() == 1 ? MapKind::Direct : MapKind::Add,
                         {},
                         {},
                         {}});
      return reads;
    }
    std::int64_t offset = 0;
    for (const Part& part : input.parts) {
      if (part.producers.size() != 1) throw NotThisFamily{"a concatenation holds a residual sum"};
      reads.push_back({layers_[static_cast<std::size_t>(part.producers.front())].name,
                       MapKind::Concat,
                       {},
                       offset,
                       {}});
      offset += part.channels;
    }
    return reads;
  }

  const ModelFile& model_;
  std::vector<TopologyLayer> layers_;
  std::vector<std::int64_t> out_channels_;
};

std::string at(const std::string& prefix, int k) { return prefix + std::to_string(k); }

// torchvision ResNet, ResNeXt, Wide-ResNet: basic or bottleneck blocks; a block adds its input,
// or its downsample convolution, to its last convolution.
void resnet(Builder& b) {
  Value x = b.layer("conv1", Builder::input(), "bn1");
  for (int stage = 1; b.has_layer(at("layer", stage) + ".0.conv1"); ++stage) {
    for (int block = 0; b.has_layer(at("layer", stage) + "." + std::to_string(block) + ".conv1");
         ++block) {
      const std::string p = at("layer", stage) + "." + std::to_string(block) + ".";
      Value h = b.layer(p + "conv1", x, p + "bn1");
      h = b.layer(p + "conv2", h, p + "bn2");
      if (b.has_layer(p + "conv3")) h = b.layer(p + "conv3", h, p + "bn3");
      const Value shortcut =
          b.has_layer(p + "downsample.0") ? b.layer(p + "downsample.0", x, p + "downsample.1") : x;
      x = Builder::add(h, shortcut);
    }
  }
  b.layer("fc", x, "", true);
}

// torchvision DenseNet: each dense layer reads the concatenation of its block's input and of
// every earlier layer's output; a transition convolution reads the whole block.
void densenet(Builder& b) {
  Value x = b.layer("features.conv0", Builder::input(), "features.norm0");
  for (int block = 1; b.has_layer(at("features.denseblock", block) + ".denselayer1.conv1");
       ++block) {
    std::vector<Value> features = {x};
    for (int l = 1;; ++l) {
      const std::string p = at("features.denseblock", block) + at(".denselayer", l) + ".";
      if (!b.has_layer(p + "conv1")) break;
      const Value h = b.layer(p + "conv1", Builder::concat(features), p + "norm2");
      features.push_back(b.layer(p + "conv2", h));
    }
    x = Builder::concat(features);
    const std::string transition = at("features.transition", block) + ".conv";
    if (b.has_layer(transition)) x = b.layer(transition, x);
  }
  b.layer("classifier", x, "", true);
}

// The sub-modules block.0, block.1, ... of a MobileNetV3 or EfficientNet block: convolutions
// with their batch norm (Conv2dNormActivation), and squeeze-excitation, whose gate ends the flow.
Value inverted_block(Builder& b, const std::string& p, const Value& input) {
  Value h = input;
  for (int k = 0;; ++k) {
    const std::string sub = p + std::to_string(k);
    if (b.has_layer(sub + ".fc1")) {
      const Value s = b.layer(sub + ".fc1", h);
      b.layer(sub + ".fc2", s);
      h = Builder::ended(h);
    } else if (b.has_layer(sub + ".0")) {
      h = b.layer(sub + ".0", h, sub + ".1");
    } else {
      break;
    }
  }
  return h;
}

// torchvision MobileNetV2: inverted residual blocks, residual when a block keeps its channels.
void mobilenet_v2(Builder& b) {
  Value x = b.layer("features.0.0", Builder::input(), "features.0.1");
  for (int k = 1;
       b.has_layer(at("features.", k) + ".conv.0.0") || b.has_layer(at("features.", k) + ".0");
       ++k) {
    const std::string p = at("features.", k) + ".";
    if (!b.has_layer(p + "conv.0.0")) {
      x = b.layer(p + "0", x, p + "1");  // the last 1x1 convolution
      continue;
    }
    Value h = b.layer(p + "conv.0.0", x, p + "conv.0.1");
    if (b.has_layer(p + "conv.1.0")) {  // expansion, depthwise, projection
      h = b.layer(p + "conv.1.0", h, p + "conv.1.1");
      h = b.layer(p + "conv.2", h, p + "conv.3");
    } else {  // depthwise, projection
      h = b.layer(p + "conv.1", h, p + "conv.2");
    }
    x = h.channels == x.channels ? Builder::add(h, x) : h;
  }
  b.layer("classifier.1", x, "", true);
}

// torchvision MobileNetV3 small (11 blocks) and large (15): their blocks' strides, which the
// weights do not show; a block is residual when its stride is 1 and it keeps its channels.
void mobilenet_v3(Builder& b) {
  static const std::map<int, std::vector<int>> strides = {
      {11, {2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1}}, {15, {1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1}}};
  int blocks = 0;
  while (b.has_layer(at("features.", blocks + 1) + ".block.0.0") ||
         b.has_layer(at("features.", blocks + 1) + ".block.0.fc1"))
    ++blocks;
  const auto stride = strides.find(blocks);
  if (stride == strides.end())
    throw Builder::NotThisFamily{std::to_string(blocks) +
                                 " blocks (small has 11, large 15; their strides are known)"};
  Value x = b.layer("features.0.0", Builder::input(), "features.0.1");
  for (int k = 1; k <= blocks; ++k) {
    const Value h = inverted_block(b, at("features.", k) + ".block.", x);
    x = stride->second[static_cast<std::size_t>(k - 1)] == 1 && h.channels == x.channels
            ? Builder::add(h, x)
            : h;
  }
  const std::string last = at("features.", blocks + 1);
  x = b.layer(last + ".0", x, last + ".1");
  const Value h = b.layer("classifier.0", x, "", true);
  b.layer("classifier.3", h);
}

// torchvision EfficientNet: stages features.1 .. of MBConv blocks, residual when a block keeps
// its channels (the first block of a stage changes them, or strides).
void efficientnet(Builder& b) {
  Value x = b.layer("features.0.0", Builder::input(), "features.0.1");
  int stage = 1;
  for (; b.has_layer(at("features.", stage) + ".0.block.0.0") ||
         b.has_layer(at("features.", stage) + ".0.block.0.fc1");
       ++stage) {
    for (int k = 0; b.has_layer(at("features.", stage) + "." + std::to_string(k) + ".block.0.0");
         ++k) {
      const std::string p = at("features.", stage) + "." + std::to_string(k) + ".block.";
      const Value h = inverted_block(b, p, x);
      x = k > 0 && h.channels == x.channels ? Builder::add(h, x) : h;
    }
  }
  const std::string last = at("features.", stage);
  x = b.layer(last + ".0", x, last + ".1");
  b.layer("classifier.1", x, "", true);
}

// torchvision Inception-v3 (without the auxiliary classifier): Inception modules A to E, each
// the concatenation of its branches.
void inception_v3(Builder& b) {
  auto conv = [&](const std::string& name, const Value& in) {
    return b.layer(name + ".conv", in, name + ".bn");
  };
  auto chain = [&](const std::string& m, const std::string& branch, int n, const Value& in) {
    Value h = in;
    for (int k = 1; k <= n; ++k) h = conv(m + "." + branch + "_" + std::to_string(k), h);
    return h;
  };
  Value x = Builder::input();
  for (const char* name :
       {"Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"})
    x = conv(name, x);
  for (const char* m : {"Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                        "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"}) {
    const std::string p = m;
    if (b.has_layer(p + ".branch5x5_1.conv")) {  // A
      const Value a = conv(p + ".branch1x1", x);
      const Value c5 = chain(p, "branch5x5", 2, x);
      const Value c3 = chain(p, "branch3x3dbl", 3, x);
      x = Builder::concat({a, c5, c3, conv(p + ".branch_pool", x)});
    } else if (b.has_layer(p + ".branch3x3.conv")) {  // B: the pool keeps the input
      const Value a = conv(p + ".branch3x3", x);
      x = Builder::concat({a, chain(p, "branch3x3dbl", 3, x), x});
    } else if (b.has_layer(p + ".branch7x7_1.conv")) {  // C
      const Value a = conv(p + ".branch1x1", x);
      const Value c7 = chain(p, "branch7x7", 3, x);
      const Value d7 = chain(p, "branch7x7dbl", 5, x);
      x = Builder::concat({a, c7, d7, conv(p + ".branch_pool", x)});
    } else if (b.has_layer(p + ".branch7x7x3_1.conv")) {  // D: the pool keeps the input
      const Value a = chain(p, "branch3x3", 2, x);
      x = Builder::concat({a, chain(p, "branch7x7x3", 4, x), x});
    } else if (b.has_layer(p + ".branch3x3_2a.conv")) {  // E
      const Value a = conv(p + ".branch1x1", x);
      const Value t = conv(p + ".branch3x3_1", x);
      const Value c3 =
          Builder::concat({conv(p + ".branch3x3_2a", t), conv(p + ".branch3x3_2b", t)});
      const Value u = chain(p, "branch3x3dbl", 2, x);
      const Value d3 =
          Builder::concat({conv(p + ".branch3x3dbl_3a", u), conv(p + ".branch3x3dbl_3b", u)});
      x = Builder::concat({a, c3, d3, conv(p + ".branch_pool", x)});
    } else {
      throw Builder::NotThisFamily{"module '" + p + "' is of no known Inception block"};
    }
  }
  b.layer("fc", x, "", true);
}

struct Family {
  const char* name;
  std::vector<const char*> markers;  // tensors a model of the family has
  std::function<void(Builder&)> build;
};

const std::vector<Family>& families() {
  static const std::vector<Family> all = {
      {"torchvision ResNet", {"conv1.weight", "layer1.0.conv1.weight", "fc.weight"}, resnet},
      {"torchvision DenseNet",
       {"features.conv0.weight", "features.denseblock1.denselayer1.conv1.weight",
        "classifier.weight"},
       densenet},
      {"torchvision MobileNetV2",
       {"features.0.0.weight", "features.1.conv.0.0.weight", "classifier.1.weight"},
       mobilenet_v2},
      {"torchvision MobileNetV3",
       {"features.0.0.weight", "features.1.block.0.0.weight", "classifier.0.weight",
        "classifier.3.weight"},
       mobilenet_v3},
      {"torchvision EfficientNet",
       {"features.0.0.weight", "features.1.0.block.0.0.weight", "classifier.1.weight"},
       efficientnet},
      {"torchvision Inception-v3",
       {"Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch1x1.conv.weight", "fc.weight"},
       inception_v3},
  };
  return all;
}

}  // namespace

Recognition recognise_family(const ModelFile& model) {
  Recognition result;
  for (const Family& family : families()) {
    bool marked = true;
    for (const char* name : family.markers) marked = marked && model.find(name) != nullptr;
    if (!marked) continue;
    Builder builder(model);
    std::string reason;
    try {
      family.build(builder);
    } catch (const Builder::NotThisFamily& miss) {
      reason = miss.reason;
    }
    std::vector<TopologyLayer> layers = builder.take();
    if (reason.empty()) {
      // Every weight-like tensor must be one of its layers, or the model is something else.
      std::set<std::string> named;
      for (const TopologyLayer& layer : layers) named.insert(layer.name);
      for (const TensorInfo& t : model.tensors) {
        const bool weight = t.shape.size() >= 2 && t.name.size() > 7 &&
                            t.name.compare(t.name.size() - 7, 7, ".weight") == 0;
        if (weight && !named.count(t.name)) {
          reason = "'" + t.name + "' is none of its layers";
          break;
        }
      }
    }
    if (reason.empty()) {
      result.topology = RecognisedTopology{family.name, std::move(layers)};
      return result;
    }
    if (result.near_miss.empty())
      result.near_miss = "it has the names of a " + std::string(family.name) + " but " + reason;
  }
  return result;
}

}  // namespace svr::detail

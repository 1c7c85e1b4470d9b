// plan_from_topology: a topology file checked against its schema (by hand, rule for rule with
// docs/topology.schema.json), then against the model's tensors and the channel rules of spec
// section 7, into the NetworkPlan every rank derives alike.
#include "svr/network/topology.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "plan_helpers.hpp"
#include "raw_topology.hpp"
#include "svr/core/error.hpp"
#include "svr/io/strict_json.hpp"

namespace svr {
namespace {

using Json = nlohmann::ordered_json;

using detail::TopologyLayer;
using detail::TopologyRead;
using RawRead = TopologyRead;
using RawLayer = TopologyLayer;
using Problems = detail::TopologyProblems;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(input_message(path, "", "cannot read the topology file"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---------------------------------------------------------------------------------------------
// The schema (docs/topology.schema.json), checked by hand so that every message is one line.

void only_keys(const Json& object, std::initializer_list<const char*> allowed,
               const std::function<void(const std::string&)>& fail) {
  for (const auto& item : object.items()) {
    bool known = false;
    for (const char* key : allowed) known = known || item.key() == key;
    if (!known) fail("unknown field '" + item.key() + "'");
  }
}

std::int64_t count_value(const Json& value, const std::string& what,
                         const std::function<void(const std::string&)>& fail) {
  if (!value.is_number_integer() || (value.is_number_integer() && value.get<std::int64_t>() < 0))
    fail("'" + what + "' must be an integer >= 0");
  return value.get<std::int64_t>();
}

RawRead parse_read(const Json& j, const std::string& where,
                   const std::function<void(const std::string&)>& fail_layer) {
  auto fail = [&](const std::string& problem) { fail_layer(where + ": " + problem); };
  if (!j.is_object()) fail("must be an object with 'layer' and 'map'");
  only_keys(j, {"layer", "map", "source", "offset", "permutation"}, fail);
  RawRead read;
  if (!j.contains("layer") || !j["layer"].is_string() || j["layer"].get<std::string>().empty())
    fail("'layer' must name a layer of the file");
  read.layer = j["layer"].get<std::string>();
  static const std::map<std::string, MapKind> kinds = {{"direct", MapKind::Direct},
                                                       {"add", MapKind::Add},
                                                       {"concat", MapKind::Concat},
                                                       {"split", MapKind::Split},
                                                       {"permute", MapKind::Permute}};
  const auto kind = j.contains("map") && j["map"].is_string()
                        ? kinds.find(j["map"].get<std::string>())
                        : kinds.end();
  if (kind == kinds.end())
    fail("'map' must be one of direct, add, concat, split, permute" +
         (j.contains("map") ? ", not " + j["map"].dump() : std::string()));
  read.kind = kind->second;
  if (j.contains("source")) {
    const Json& s = j["source"];
    if (!s.is_array() || s.size() != 2) fail("'source' must be [first channel, count]");
    read.source = std::array<std::int64_t, 2>{count_value(s[0], "source", fail),
                                              count_value(s[1], "source", fail)};
  }
  if (j.contains("offset")) read.offset = count_value(j["offset"], "offset", fail);
  if (j.contains("permutation")) {
    if (!j["permutation"].is_array()) fail("'permutation' must be a list of channels");
    std::vector<std::int64_t> permutation;
    for (const Json& v : j["permutation"])
      permutation.push_back(count_value(v, "permutation", fail));
    read.permutation = std::move(permutation);
  }
  const bool plain = read.kind == MapKind::Direct || read.kind == MapKind::Add;
  if (plain && (read.source || read.offset || read.permutation))
    fail("map " + to_string(read.kind) +
         " reads all channels as they are: no source, offset "
         "or permutation");
  if (read.kind == MapKind::Split && !read.source) fail("map split needs 'source'");
  if (read.kind == MapKind::Concat && !read.offset) fail("map concat needs 'offset'");
  if (read.kind == MapKind::Permute && !read.permutation) fail("map permute needs 'permutation'");
  if (read.kind != MapKind::Permute && read.permutation)
    fail("'permutation' belongs to map permute");
  return read;
}

RawLayer parse_layer(const Json& j, std::size_t index, const Problems& problems) {
  const std::string position = "layers[" + std::to_string(index) + "]";
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() ||
      j["name"].get<std::string>().empty())
    problems.file(position + " must be an object with a non-empty 'name'");
  RawLayer layer;
  layer.name = j["name"].get<std::string>();
  auto fail = [&](const std::string& problem) { problems.layer(layer.name, problem); };
  only_keys(j,
            {"name", "kind", "groups", "batchnorm", "input_scale", "flatten_order", "reads_from"},
            fail);
  static const std::set<std::string> kinds = {"linear", "conv1d", "conv2d", "conv3d"};
  if (!j.contains("kind") || !j["kind"].is_string() || !kinds.count(j["kind"].get<std::string>()))
    fail("'kind' must be one of linear, conv1d, conv2d, conv3d" +
         (j.contains("kind") ? ", not " + j["kind"].dump() : std::string()));
  layer.kind = j["kind"].get<std::string>();
  if (j.contains("groups")) {
    layer.groups = count_value(j["groups"], "groups", fail);
    if (layer.groups < 1) fail("'groups' must be at least 1");
  }
  if (j.contains("batchnorm") && !j["batchnorm"].is_null()) {
    if (!j["batchnorm"].is_string() || j["batchnorm"].get<std::string>().empty())
      fail("'batchnorm' must be a module prefix or null");
    layer.batchnorm = j["batchnorm"].get<std::string>();
  }
  if (j.contains("input_scale") && !j["input_scale"].is_null()) {
    if (!j["input_scale"].is_string() || j["input_scale"].get<std::string>().empty())
      fail("'input_scale' must be a tensor name or null");
    layer.input_scale = j["input_scale"].get<std::string>();
  }
  if (j.contains("flatten_order")) {
    const Json& order = j["flatten_order"];
    if (order == "chw")
      layer.flatten = FlattenOrder::ChannelMajor;
    else if (order == "hwc")
      layer.flatten = FlattenOrder::ChannelsLast;
    else
      fail("'flatten_order' must be chw or hwc, not " + order.dump());
  }
  if (j.contains("reads_from")) {
    if (!j["reads_from"].is_array()) fail("'reads_from' must be a list");
    for (std::size_t k = 0; k < j["reads_from"].size(); ++k)
      layer.reads.push_back(
          parse_read(j["reads_from"][k], "reads_from[" + std::to_string(k) + "]", fail));
  }
  return layer;
}

std::vector<RawLayer> parse_file(const Json& j, const Problems& problems) {
  if (!j.is_object()) problems.file("a topology file is a JSON object");
  only_keys(j, {"format", "schema_version", "model", "layers"},
            [&](const std::string& problem) { problems.file(problem); });
  if (!j.contains("format") || j["format"] != "svr-topology")
    problems.file("'format' must be \"svr-topology\" (docs/input-formats.md, Topology files)");
  if (!j.contains("schema_version") || j["schema_version"] != 1)
    problems.file("'schema_version' must be 1");
  if (j.contains("model") && !j["model"].is_string()) problems.file("'model' must be a string");
  if (!j.contains("layers") || !j["layers"].is_array() || j["layers"].size() < 2)
    problems.file("'layers' must list at least two layers");
  std::vector<RawLayer> layers;
  for (std::size_t k = 0; k < j["layers"].size(); ++k)
    layers.push_back(parse_layer(j["layers"][k], k, problems));
  return layers;
}

// ---------------------------------------------------------------------------------------------
// The layers against the model's tensors.

LayerSpec describe_listed_layer(const ModelFile& model, const RawLayer& raw,
                                const NetworkOptions& options, const Problems& problems) {
  const auto refused = model.refused.find(raw.name);
  if (refused != model.refused.end())
    problems.layer(raw.name, "was built by refused pickle global '" + refused->second + "' in " +
                                 model.path + " (never run)");
  const TensorInfo* tensor = model.find(raw.name);
  if (tensor == nullptr) problems.layer(raw.name, "is not a tensor of " + model.path);
  LayerSpec layer = describe_layer(model, *tensor);
  const std::size_t dims =
      raw.kind == "linear" ? 2 : static_cast<std::size_t>(raw.kind[4] - '0') + 2;
  if (tensor->shape.size() != dims)
    problems.layer(raw.name, "kind " + raw.kind + " does not match the tensor's shape " +
                                 shape_string(tensor->shape));
  layer.groups = raw.groups;
  if (raw.groups > 1) {
    if (layer.kind == LayerKind::Linear) problems.layer(raw.name, "a linear layer has no groups");
    if (layer.out_channels % raw.groups != 0)
      problems.layer(raw.name, "groups " + std::to_string(raw.groups) + " do not divide its " +
                                   std::to_string(layer.out_channels) + " output channels");
    if (options.read.method != Method::Svr)
      problems.layer(raw.name, "grouped convolution (groups " + std::to_string(raw.groups) +
                                   "): method cosvr is not supported for it; use --method svr");
  }
  return layer;
}

// The batch norm the file names must exist in the model (also with --batchnorm ignore); with
// `fold` it is checked and folded as after a chain's layer.
void listed_batchnorm(const ModelFile& model, const RawLayer& raw, LayerSpec& layer, bool fold,
                      const Problems& problems) {
  const std::string& bn = *raw.batchnorm;
  if (!model.find(bn + ".running_var") && !model.refused.count(bn + ".running_var"))
    problems.layer(raw.name, "batch norm '" + bn + "' is not in " + model.path + " (no " + bn +
                                 ".running_var)");
  if (fold) layer.bn = detail::batchnorm_after(model, bn, layer, /*strict=*/true);
}

// The input scale the file names: a tensor of the model with one value per input channel of an
// ungrouped layer (its values are checked when the layer is read).
void listed_input_scale(const ModelFile& model, const RawLayer& raw, LayerSpec& layer,
                        const Problems& problems) {
  const std::string& name = *raw.input_scale;
  const TensorInfo* scale = model.find(name);
  if (scale == nullptr)
    problems.layer(raw.name, "input scale '" + name + "' is not in " + model.path);
  if (layer.groups > 1) problems.layer(raw.name, "a grouped convolution takes no input scale");
  if (scale->shape.size() != 1 || scale->shape[0] != layer.in_channels)
    problems.layer(raw.name, "input scale '" + name + "' " + shape_string(scale->shape) +
                                 " does not have the layer's " + std::to_string(layer.in_channels) +
                                 " input channels");
  layer.input_scale = name;
}

// ---------------------------------------------------------------------------------------------
// The reads of one layer: its pairs, with channel maps and geometry.

struct Read {
  int producer = 0;
  RawRead raw;
  std::int64_t first = 0, count = 0;  // S
};

// The producer of each read: an earlier layer of the file.
std::vector<Read> resolve_reads(const std::vector<RawLayer>& raws, std::size_t consumer,
                                const std::map<std::string, std::size_t>& index_of,
                                const std::vector<LayerSpec>& layers, const Problems& problems) {
  const RawLayer& raw = raws[consumer];
  std::vector<Read> reads;
  for (const RawRead& r : raw.reads) {
    const auto found = index_of.find(r.layer);
    if (found == index_of.end())
      problems.layer(raw.name, "reads '" + r.layer + "', which is not a layer of the file");
    if (found->second >= consumer)
      problems.layer(raw.name, "reads '" + r.layer +
                                   "', which is not listed before it (layers "
                                   "must come in a topological order; reads must not form a "
                                   "cycle)");
    Read read{static_cast<int>(found->second), r, 0, 0};
    const std::int64_t channels = layers[found->second].out_channels;
    read.first = r.source ? (*r.source)[0] : 0;
    read.count = r.source ? (*r.source)[1] : channels;
    if (read.count < 1 || read.first + read.count > channels)
      problems.layer(raw.name, "reads channels " + std::to_string(read.first) + ".." +
                                   std::to_string(read.first + read.count - 1) + " of '" + r.layer +
                                   "', which has " + std::to_string(channels) + " output channels");
    // Checked here, before the overlap and flatten checks index the permutation.
    if (r.permutation && static_cast<std::int64_t>(r.permutation->size()) != read.count)
      problems.layer(raw.name, "the permutation of '" + r.layer + "' has " +
                                   std::to_string(r.permutation->size()) + " entries for the " +
                                   std::to_string(read.count) + " channels read");
    reads.push_back(std::move(read));
  }
  return reads;
}

// The consumer input channels a read reaches (direct and add: the producer's channels as they
// are, summed with the other summands, so they never overlap).
std::vector<std::int64_t> targets_of(const Read& r) {
  std::vector<std::int64_t> out;
  if (r.raw.kind == MapKind::Direct || r.raw.kind == MapKind::Add) return out;
  for (std::int64_t a = 0; a < r.count; ++a)
    out.push_back(r.raw.kind == MapKind::Permute ? (*r.raw.permutation)[static_cast<std::size_t>(a)]
                                                 : r.raw.offset.value_or(0) + a);
  return out;
}

// No input channel of the consumer read twice by its concat, split and permute reads.
void check_overlaps(const LayerSpec& consumer, const std::vector<Read>& reads,
                    const std::vector<RawLayer>& raws, const Problems& problems) {
  std::map<std::int64_t, std::size_t> reader;
  for (std::size_t k = 0; k < reads.size(); ++k)
    for (std::int64_t b : targets_of(reads[k])) {
      const auto [it, fresh] = reader.emplace(b, k);
      if (!fresh)
        problems.layer(
            consumer.name,
            "overlapping reads: input channel " + std::to_string(b) + " is read from both '" +
                raws[static_cast<std::size_t>(reads[it->second].producer)].name + "' and '" +
                raws[static_cast<std::size_t>(reads[k].producer)].name + "'");
    }
}

// The consumer's input channels c_B and positions per channel z, from its weight and its reads.
std::pair<std::int64_t, std::int64_t> consumer_geometry(const LayerSpec& consumer,
                                                        const std::vector<Read>& reads,
                                                        const std::vector<LayerSpec>& layers,
                                                        const Problems& problems) {
  if (consumer.kind == LayerKind::Conv)
    return {consumer.in_channels * consumer.groups, consumer.kernel_size};
  bool conv = false, linear = false;
  std::int64_t extent = 0;
  for (const Read& r : reads) {
    const bool producer_conv = layers[static_cast<std::size_t>(r.producer)].kind == LayerKind::Conv;
    conv = conv || producer_conv;
    linear = linear || !producer_conv;
    const RawRead& raw = r.raw;
    if (raw.kind == MapKind::Permute) {
      for (std::int64_t b : *raw.permutation) extent = std::max(extent, b + 1);
    } else {
      extent = std::max(extent, raw.offset.value_or(0) + r.count);
    }
  }
  // Convolution outputs read channel for channel (z = 1: a ViT's patch embedding read by a token's
  // linear layer, beside the blocks' outputs) need no flatten.
  if (conv && linear && extent != consumer.in_channels)
    problems.layer(consumer.name,
                   "reads both linear and convolution layers: a flatten needs "
                   "convolution outputs only");
  if (!conv) return {consumer.in_channels, 1};
  if (extent < 1 || consumer.in_channels % extent != 0)
    problems.layer(consumer.name, "a flatten of " + std::to_string(extent) +
                                      " channels does not divide its " +
                                      std::to_string(consumer.in_channels) + " input features");
  return {extent, consumer.in_channels / extent};
}

// Every input channel of the consumer read exactly once, or wholly by every summand of an Add.
void check_coverage(const LayerSpec& consumer, std::int64_t c, const std::vector<Read>& reads,
                    const std::vector<RawLayer>& raws, const Problems& problems) {
  const std::string& name = consumer.name;
  auto producer = [&](const Read& r) {
    return "'" + raws[static_cast<std::size_t>(r.producer)].name + "'";
  };
  std::size_t plain = 0, direct = 0;
  std::set<int> producers;
  for (const Read& r : reads) {
    plain += r.raw.kind == MapKind::Direct || r.raw.kind == MapKind::Add;
    direct += r.raw.kind == MapKind::Direct;
  }
  if (plain > 0) {
    if (plain != reads.size())
      problems.layer(name, "mixes direct or add reads with concat, split or permute reads");
    if (direct > 0 && reads.size() > 1)
      problems.layer(name,
                     "reads several layers, one of them with map direct: a residual sum "
                     "is read with map add, a concatenation with map concat");
    if (direct == 0 && reads.size() < 2)
      problems.layer(name,
                     "reads one layer with map add: a residual sum has two or more "
                     "summands (one layer alone is read with map direct)");
    for (const Read& r : reads)
      if (!producers.insert(r.producer).second)
        problems.layer(name, "adds " + producer(r) + " twice");
    for (const Read& r : reads)
      if (r.count != c)
        problems.layer(name, "channel counts do not match: " + producer(r) + " has " +
                                 std::to_string(r.count) + " output channels, " + name + " reads " +
                                 std::to_string(c));
    return;
  }
  std::vector<int> reader(static_cast<std::size_t>(c), -1);
  for (std::size_t k = 0; k < reads.size(); ++k) {
    const Read& r = reads[k];
    const RawRead& raw = r.raw;
    for (std::int64_t a = 0; a < r.count; ++a) {
      const std::int64_t b = raw.kind == MapKind::Permute
                                 ? (*raw.permutation)[static_cast<std::size_t>(a)]
                                 : raw.offset.value_or(0) + a;
      if (b >= c)
        problems.layer(name, "channel counts do not match: " + producer(r) +
                                 " reaches input "
                                 "channel " +
                                 std::to_string(b) + " of its " + std::to_string(c));
      int& seen = reader[static_cast<std::size_t>(b)];
      if (seen >= 0)
        problems.layer(
            name, "overlapping reads: input channel " + std::to_string(b) + " is read from both " +
                      producer(reads[static_cast<std::size_t>(seen)]) + " and " + producer(r));
      seen = static_cast<int>(k);
    }
  }
  const auto gap = std::find(reader.begin(), reader.end(), -1);
  if (gap != reader.end())
    problems.layer(name, "channel counts do not match: input channel " +
                             std::to_string(gap - reader.begin()) + " of its " + std::to_string(c) +
                             " is read from no layer");
}

std::vector<PairSpec> pairs_of_layer(std::size_t consumer, const std::vector<RawLayer>& raws,
                                     const std::map<std::string, std::size_t>& index_of,
                                     const std::vector<LayerSpec>& layers,
                                     const NetworkOptions& options, const Problems& problems) {
  const LayerSpec& to = layers[consumer];
  const RawLayer& raw = raws[consumer];
  const std::vector<Read> reads = resolve_reads(raws, consumer, index_of, layers, problems);
  if (reads.empty()) return {};
  check_overlaps(to, reads, raws, problems);
  const auto [c, z] = consumer_geometry(to, reads, layers, problems);
  check_coverage(to, c, reads, raws, problems);
  const Method method = options.read.method;
  std::vector<PairSpec> pairs;
  for (const Read& r : reads) {
    const LayerSpec& from = layers[static_cast<std::size_t>(r.producer)];
    const bool flatten = from.kind == LayerKind::Conv && to.kind == LayerKind::Linear;
    PairSpec pair;
    pair.from = r.producer;
    pair.to = static_cast<int>(consumer);
    pair.c = c;
    pair.producer_channels = from.out_channels;
    pair.producer_groups = from.groups;
    pair.consumer_groups = to.groups;
    pair.map = ChannelMap{r.raw.kind, r.first, r.count, r.raw.offset.value_or(0),
                          r.raw.permutation.value_or(std::vector<std::int64_t>{})};
    if (flatten)
      pair.flatten =
          options.flatten_order.value_or(raw.flatten.value_or(FlattenOrder::ChannelMajor));
    if (method == Method::Svr) {
      pair.z_u = 1;
      pair.z_v = z;
    } else {
      pair.z_u = from.kernel_size;
      pair.z_v = flatten ? z : 1;
    }
    finish_pair(pair);
    if (method == Method::Cosvr && !pair.identity)
      problems.layer(to.name, "reads '" + from.name + "' with map " + to_string(pair.map.kind) +
                                  (flatten ? " and flatten order " + to_string(pair.flatten) : "") +
                                  ": method cosvr supports only direct and add reads "
                                  "(channel-major flatten); use --method svr");
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

}  // namespace

namespace detail {

NetworkPlan plan_topology(const ModelFile& model, const std::vector<TopologyLayer>& raws,
                          const NetworkOptions& options, const TopologyProblems& problems) {
  NetworkPlan plan;
  std::map<std::string, std::size_t> index_of;
  for (std::size_t k = 0; k < raws.size(); ++k) {
    if (!index_of.emplace(raws[k].name, k).second) problems.layer(raws[k].name, "is listed twice");
    plan.layers.push_back(describe_listed_layer(model, raws[k], options, problems));
  }
  std::set<std::string> folded;
  for (std::size_t k = 0; k < raws.size(); ++k)
    if (raws[k].batchnorm) {
      const bool fold = options.read.batchnorm == BatchNormMode::Fold;
      listed_batchnorm(model, raws[k], plan.layers[k], fold, problems);
      plan.layers[k].batchnorm_prefix = *raws[k].batchnorm;
      if (fold) folded.insert(*raws[k].batchnorm);
    }
  for (std::size_t k = 0; k < raws.size(); ++k)
    if (raws[k].input_scale) listed_input_scale(model, raws[k], plan.layers[k], problems);
  for (std::size_t k = 0; k < raws.size(); ++k)
    for (PairSpec& pair : pairs_of_layer(k, raws, index_of, plan.layers, options, problems))
      plan.pairs.push_back(std::move(pair));
  if (plan.pairs.empty())
    problems.file("no layer reads from another: the SVR needs at least one pair");
  for (const std::string& bn : batchnorm_prefixes(model))
    if (!folded.count(bn)) plan.unfolded_batchnorms.push_back(bn);
  return plan;
}

}  // namespace detail

NetworkPlan plan_from_topology(const ModelFile& model, const NetworkOptions& options) {
  const Problems problems(options.topology);
  const Json j =
      io::parse_strict_json(read_text(options.topology), options.topology, "topology file");
  NetworkPlan plan = detail::plan_topology(model, parse_file(j, problems), options, problems);
  plan.source = "topology";
  return plan;
}

nlohmann::ordered_json topology_json(const NetworkPlan& plan, const std::string& model) {
  Json layers = Json::array();
  for (std::size_t k = 0; k < plan.layers.size(); ++k) {
    const LayerSpec& spec = plan.layers[k];
    Json layer;
    layer["name"] = spec.name;
    layer["kind"] = spec.kind_name();
    if (spec.groups > 1) layer["groups"] = spec.groups;
    if (!spec.batchnorm_prefix.empty()) layer["batchnorm"] = spec.batchnorm_prefix;
    if (!spec.input_scale.empty()) layer["input_scale"] = spec.input_scale;
    Json reads = Json::array();
    for (const PairSpec& pair : plan.pairs) {
      if (pair.to != static_cast<int>(k)) continue;
      const LayerSpec& from = plan.layers[static_cast<std::size_t>(pair.from)];
      if (from.kind == LayerKind::Conv && spec.kind == LayerKind::Linear)
        layer["flatten_order"] = to_string(pair.flatten);
      Json read;
      read["layer"] = from.name;
      read["map"] = to_string(pair.map.kind);
      const bool all = pair.map.first == 0 && pair.map.count == pair.producer_channels;
      switch (pair.map.kind) {
        case MapKind::Direct:
        case MapKind::Add:
          break;
        case MapKind::Concat:
          if (!all) read["source"] = {pair.map.first, pair.map.count};
          read["offset"] = pair.map.offset;
          break;
        case MapKind::Split:
          read["source"] = {pair.map.first, pair.map.count};
          read["offset"] = pair.map.offset;
          break;
        case MapKind::Permute:
          if (!all) read["source"] = {pair.map.first, pair.map.count};
          read["permutation"] = pair.map.permutation;
          break;
      }
      reads.push_back(std::move(read));
    }
    if (!reads.empty()) layer["reads_from"] = std::move(reads);
    layers.push_back(std::move(layer));
  }
  Json j;
  j["format"] = "svr-topology";
  j["schema_version"] = 1;
  j["model"] = model;
  j["layers"] = std::move(layers);
  return j;
}

}  // namespace svr

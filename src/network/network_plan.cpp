// plan_network: layer discovery, ordering, pair geometry and batch-norm association.
#include "svr/network/network_plan.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <string_view>

#include "plan_helpers.hpp"
#include "raw_topology.hpp"
#include "recognise.hpp"
#include "svr/core/error.hpp"
#include "svr/network/topology.hpp"

namespace svr {
namespace detail {

std::string layer_label(const LayerSpec& layer) {
  return "'" + layer.name + "' " + shape_string(layer.shape);
}

// Resolves a name given by --layers or by the svr.layers metadata ("features.0" is accepted
// for "features.0.weight").
const TensorInfo& resolve_layer_name(const ModelFile& model, const std::string& name,
                                     const std::string& source) {
  for (const std::string& key : {name, name + ".weight"}) {
    const auto refused = model.refused.find(key);
    if (refused != model.refused.end())
      throw_input(model.path, key,
                  "was built by refused pickle global '" + refused->second +
                      "' (never run); it cannot be used as a layer");
    if (const TensorInfo* t = model.find(key)) return *t;
  }
  throw_input(model.path, "", source + " names '" + name + "' which is not in " + model.path);
}

// The batch norm `bn` that follows `layer`, checked: a refused entry is an error; a size that
// does not match the layer's output channels is an error when `strict`, else no fold (nullopt).
std::optional<BatchNormSpec> batchnorm_after(const ModelFile& model, const std::string& bn,
                                             const LayerSpec& layer, bool strict) {
  const std::string mean = bn + ".running_mean", var = bn + ".running_var";
  for (const std::string& key : {mean, var, bn + ".weight"}) {
    const auto refused = model.refused.find(key);
    if (refused != model.refused.end())
      throw_input(model.path, key,
                  "was built by refused pickle global '" + refused->second +
                      "' (never run); batch norm '" + bn + "' cannot be folded into layer " +
                      layer_label(layer) + " (use --batchnorm ignore)");
  }
  const std::int64_t n = layer.out_channels;
  for (const std::string& key : {var, mean, bn + ".weight", bn + ".bias"}) {
    const TensorInfo* t = model.find(key);
    if (!t) continue;
    if (t->numel() == n && dtype_is_float(t->dtype)) continue;
    if (!strict) return std::nullopt;
    throw_input(model.path, key,
                "batch norm '" + bn + "' has size " + std::to_string(t->numel()) + " " +
                    shape_string(t->shape) + " (" + dtype_name(t->dtype) +
                    ") but follows layer " + layer_label(layer) + " with " + std::to_string(n) +
                    " output channels (--batchnorm ignore skips folding)");
  }
  BatchNormSpec spec;
  spec.prefix = bn;
  spec.running_mean = mean;
  spec.running_var = var;
  if (model.find(bn + ".weight")) spec.weight = bn + ".weight";
  if (model.find(bn + ".bias")) spec.bias = bn + ".bias";
  return spec;
}

// Prefixes P with P.running_mean and P.running_var (present, or refused by the unpickler).
std::set<std::string> batchnorm_prefixes(const ModelFile& model) {
  std::set<std::string> means, vars;
  auto note = [&](const std::string& name) {
    if (name.size() > 13 && name.compare(name.size() - 13, 13, ".running_mean") == 0)
      means.insert(name.substr(0, name.size() - 13));
    if (name.size() > 12 && name.compare(name.size() - 12, 12, ".running_var") == 0)
      vars.insert(name.substr(0, name.size() - 12));
  };
  for (const TensorInfo& t : model.tensors) note(t.name);
  for (const auto& [key, global] : model.refused) note(key);
  std::set<std::string> both;
  std::set_intersection(means.begin(), means.end(), vars.begin(), vars.end(),
                        std::inserter(both, both.end()));
  return both;
}

}  // namespace detail

using detail::batchnorm_after;
using detail::batchnorm_prefixes;
using detail::layer_label;
using detail::resolve_layer_name;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "features.0.weight" -> "features.0"; "weight" -> "".
std::string module_prefix(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(0, dot);
}

std::string first_component(const std::string& name) { return name.substr(0, name.find('.')); }

std::string last_component(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

std::string trailing_digits(const std::string& s) {
  std::size_t k = s.size();
  while (k > 0 && std::isdigit(static_cast<unsigned char>(s[k - 1]))) --k;
  return s.substr(k);
}

// The top-level module a layer belongs to for ordering. Digit runs of the first name component
// are erased so that LeNet-style siblings (conv1, conv2 / fc1, fc2) form one module ordered by
// their numbers, and a bare nn.Sequential ("0.weight", "3.weight") is a single module.
std::string module_group(const std::string& name) {
  std::string group;
  for (char ch : first_component(name))
    if (!std::isdigit(static_cast<unsigned char>(ch))) group += ch;
    else if (group.empty() || group.back() != '#') group += '#';
  return group;
}

// torchvision ResNet (layerN.M.convK, downsample) and the common "shortcut" naming.
bool looks_residual(const std::string& name) {
  static const std::regex pattern(R"((^|\.)(layer\d+\.\d+\.|(downsample|shortcut)(\.|$)))");
  return std::regex_search(name, pattern);
}

// What a user whose automatic chain broke can do.
const char* const not_a_chain =
    "if the network is not a chain (residual, concatenating or branching), describe it with "
    "--topology FILE (scripts/export_topology.py writes one), or pass --layers to select a chain";

// `near_miss`: why the model is not of the family whose names it has (recognise.hpp), or empty.
[[noreturn]] void throw_residual(const std::string& file, const std::string& tensor,
                                 const std::string& near_miss) {
  throw_input(file, tensor,
              "looks like a residual network of no family svr recognises from its names" +
                  (near_miss.empty() ? std::string() : " (" + near_miss + ")") + ": "
              "describe it in a topology file (scripts/export_topology.py writes one for any "
              "PyTorch module; docs/input-formats.md) and pass --topology FILE, or pass --layers "
              "to select a chain");
}

std::string join(const std::vector<std::string>& items, std::size_t max_items = 24) {
  std::string out;
  for (std::size_t k = 0; k < items.size() && k < max_items; ++k) out += (k ? ", " : "") + items[k];
  if (items.size() > max_items) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

struct PairCheck {
  bool ok = false;
  PairSpec pair;
  std::string problem;  // one line naming both layers when !ok
};

PairCheck check_pair(const LayerSpec& from, const LayerSpec& to, Method method) {
  PairCheck check;
  const std::int64_t c = from.out_channels;
  const std::int64_t in = to.in_channels;
  const std::string head =
      "layer " + layer_label(from) + " does not feed layer " + layer_label(to) + ": ";
  const bool flatten = from.kind == LayerKind::Conv && to.kind == LayerKind::Linear;
  if (to.kind == LayerKind::Conv && in < c && c % in == 0) {
    check.problem = "layer " + layer_label(to) + " after layer " + layer_label(from) +
                    ": grouped or depthwise convolution (groups = " + std::to_string(c / in) +
                    ") is not supported yet";
    return check;
  }
  if (flatten) {
    if (in % c != 0) {
      check.problem = head + "'" + from.name + "' has " + std::to_string(c) +
                      " output channels, which do not divide the " + std::to_string(in) +
                      " input features of '" + to.name +
                      "' (a flatten needs in_features = channels x spatial size)";
      return check;
    }
  } else if (in != c) {
    check.problem = head + "'" + from.name + "' has " + std::to_string(c) +
                    " output channels, '" + to.name + "' expects " + std::to_string(in) +
                    " inputs";
    return check;
  }
  check.ok = true;
  check.pair.c = c;
  if (method == Method::Svr) {
    check.pair.z_u = 1;
    check.pair.z_v = to.kind == LayerKind::Conv ? to.kernel_size : in / c;
  } else {
    check.pair.z_u = from.kernel_size;
    check.pair.z_v = flatten ? in / c : 1;
  }
  return check;
}

std::vector<LayerSpec> named_layers(const ModelFile& model, const std::vector<std::string>& names,
                                    const std::string& source) {
  std::vector<LayerSpec> layers;
  std::set<std::string> seen;
  for (const std::string& name : names) {
    const TensorInfo& t = resolve_layer_name(model, name, source);
    if (!seen.insert(t.name).second)
      throw_input(model.path, t.name, source + " names this layer twice");
    layers.push_back(describe_layer(model, t));
  }
  return layers;
}

bool is_candidate(const TensorInfo& t) {
  return dtype_is_float(t.dtype) && t.shape.size() >= 2 && t.shape.size() <= 5 &&
         (t.name == "weight" || ends_with(t.name, ".weight"));
}

// Order (4): numeric-aware inside each module group, groups permuted until the chain closes.
std::vector<LayerSpec> order_by_names(const ModelFile& model, std::vector<LayerSpec> candidates,
                                      Method method) {
  std::map<std::string, std::vector<LayerSpec>> by_group;
  for (LayerSpec& layer : candidates) by_group[module_group(layer.name)].push_back(std::move(layer));
  std::vector<std::string> names;
  std::vector<std::vector<LayerSpec>> groups;
  for (auto& [group, layers] : by_group) {
    std::sort(layers.begin(), layers.end(),
              [](const LayerSpec& a, const LayerSpec& b) { return natural_less(a.name, b.name); });
    // Inside a group the order is fixed: a break here cannot be repaired by permuting groups.
    for (std::size_t k = 0; k + 1 < layers.size(); ++k) {
      const PairCheck check = check_pair(layers[k], layers[k + 1], method);
      if (!check.ok)
        throw_input(model.path, "", check.problem + "; " + not_a_chain);
    }
    names.push_back(group.empty() ? "(top level)" : first_component(layers.front().name));
    groups.push_back(std::move(layers));
  }
  std::sort(names.begin(), names.end(), natural_less);
  // Keep groups in natural order of their first layer's top component for messages and search.
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    return natural_less(a.front().name, b.front().name);
  });
  const std::size_t n = groups.size();
  std::vector<std::vector<bool>> link(n, std::vector<bool>(n, false));
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = 0; b < n; ++b)
      link[a][b] = a != b && check_pair(groups[a].back(), groups[b].front(), method).ok;

  // Depth-first search over group orders, pruned by the allowed links; two complete orders
  // suffice to call the order ambiguous, and a visit budget bounds pathological cases.
  struct Search {
    std::vector<std::vector<std::size_t>> found;
    bool exhausted = false;
  };
  auto search_orders = [&](const std::vector<std::vector<bool>>& allowed) {
    Search result;
    std::vector<std::size_t> path;
    std::vector<bool> used(n, false);
    long budget = 2'000'000;
    std::function<void()> visit = [&]() {
      if (result.found.size() >= 2 || result.exhausted) return;
      if (--budget < 0) {
        result.exhausted = true;
        return;
      }
      if (path.size() == n) {
        result.found.push_back(path);
        return;
      }
      for (std::size_t g = 0; g < n; ++g) {
        if (used[g] || (!path.empty() && !allowed[path.back()][g])) continue;
        used[g] = true;
        path.push_back(g);
        visit();
        path.pop_back();
        used[g] = false;
      }
    };
    visit();
    return result;
  };
  // A module ending in a linear layer feeding a module starting with a convolution would need
  // an unflatten; when orders without such a step exist they win (VGG with 3 classes on RGB
  // input: classifier -> features chains by accident, features -> classifier is the network).
  std::vector<std::vector<bool>> plain = link;
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = 0; b < n; ++b)
      if (groups[a].back().kind == LayerKind::Linear && groups[b].front().kind == LayerKind::Conv)
        plain[a][b] = false;
  Search result = search_orders(plain);
  if (result.found.empty() && !result.exhausted) result = search_orders(link);
  const auto& found = result.found;
  const bool exhausted = result.exhausted;

  auto order_names = [&](const std::vector<std::size_t>& order) {
    std::vector<std::string> out;
    for (std::size_t g : order) out.push_back(first_component(groups[g].front().name));
    return join(out);
  };
  std::vector<std::string> candidate_names;
  for (const auto& group : groups)
    for (const LayerSpec& layer : group) candidate_names.push_back(layer.name);
  const std::string ask =
      "describe a network that is not a chain with --topology FILE, or pass --layers with the "
      "weight names in chain order (candidates: " +
      join(candidate_names) + ")";
  if (exhausted || found.size() > 1) {
    std::string problem = "the layer order is ambiguous: ";
    if (found.size() > 1)
      problem += "more than one order of the top-level modules chains (" +
                 order_names(found[0]) + " and " + order_names(found[1]) + "); ";
    else
      problem += "too many orders of the top-level modules to try; ";
    throw_input(model.path, "", problem + ask);
  }
  if (found.empty()) {
    // Report the first break of the natural order, the one a reader expects.
    std::string detail;
    for (std::size_t g = 0; g + 1 < n && detail.empty(); ++g)
      if (!link[g][g + 1]) detail = check_pair(groups[g].back(), groups[g + 1].front(), method).problem;
    throw_input(model.path, "",
                detail + "; no order of the top-level modules (" + join(names) + ") chains; " + ask);
  }
  std::vector<LayerSpec> ordered;
  for (std::size_t g : found.front())
    for (LayerSpec& layer : groups[g]) ordered.push_back(std::move(layer));
  return ordered;
}

std::vector<LayerSpec> discover_layers(const ModelFile& model, Method method,
                                       const std::string& near_miss) {
  std::vector<LayerSpec> candidates;
  for (const TensorInfo& t : model.tensors)
    if (is_candidate(t)) candidates.push_back(describe_layer(model, t));
  const std::set<std::string> bns = batchnorm_prefixes(model);
  for (const auto& [key, global] : model.refused)
    if (ends_with(key, ".weight") && !bns.count(module_prefix(key)))
      throw_input(model.path, key,
                  "was built by refused pickle global '" + global +
                      "' (never run); pass --layers to select layers that do not need it");
  for (const LayerSpec& layer : candidates)
    if (looks_residual(layer.name)) throw_residual(model.path, layer.name, near_miss);
  if (candidates.empty()) {
    bool any_multi_dim = false;
    for (const TensorInfo& t : model.tensors) any_multi_dim |= t.shape.size() >= 2;
    if (model.tensors.empty()) throw_input(model.path, "", "no layer found: the model has no tensors");
    if (!any_multi_dim) throw_input(model.path, "", "no layer found: every tensor is 1-D");
    throw_input(model.path, "",
                "no layer found: no floating-point tensor named '*.weight' has 2 to 5 "
                "dimensions; name the layers with --layers");
  }
  if (model.order_is_state_dict || candidates.size() == 1) return candidates;
  return order_by_names(model, std::move(candidates), method);
}

// A module of the model in stored (state_dict) or numeric-aware order: a weight layer or a BN.
struct Module {
  std::string prefix;
  bool is_bn = false;
  int chain_index = -1;  // index in the plan when this module is a selected layer
  std::size_t position = 0;
};

// Fills plan.layers[k].bn; spec: a BN folds into the layer whose module it directly follows.
void associate_batchnorms(const ModelFile& model, NetworkPlan& plan) {
  const std::set<std::string> bns = batchnorm_prefixes(model);
  if (bns.empty()) return;

  std::map<std::string, Module> modules;
  for (const std::string& p : bns) modules[p] = Module{p, true, -1, 0};
  for (const TensorInfo& t : model.tensors)
    if (is_candidate(t) && !bns.count(module_prefix(t.name)))
      modules[module_prefix(t.name)].prefix = module_prefix(t.name);
  for (std::size_t k = 0; k < plan.layers.size(); ++k) {
    Module& m = modules[module_prefix(plan.layers[k].name)];
    m.prefix = module_prefix(plan.layers[k].name);
    if (!m.is_bn) m.chain_index = static_cast<int>(k);
  }
  std::vector<Module> sequence;
  if (model.order_is_state_dict) {
    std::map<std::string, std::size_t> first_seen;
    for (std::size_t k = 0; k < model.tensors.size(); ++k)
      first_seen.emplace(module_prefix(model.tensors[k].name), k);
    for (auto& [prefix, m] : modules) {
      const auto it = first_seen.find(prefix);
      if (it == first_seen.end()) continue;  // only refused entries: position unknown
      m.position = it->second;
      sequence.push_back(m);
    }
    std::sort(sequence.begin(), sequence.end(),
              [](const Module& a, const Module& b) { return a.position < b.position; });
  } else {
    for (auto& [prefix, m] : modules) sequence.push_back(m);
    std::sort(sequence.begin(), sequence.end(),
              [](const Module& a, const Module& b) { return natural_less(a.prefix, b.prefix); });
  }

  auto attach = [&](const std::string& bn, int k, bool strict) -> bool {
    LayerSpec& layer = plan.layers[static_cast<std::size_t>(k)];
    std::optional<BatchNormSpec> spec = batchnorm_after(model, bn, layer, strict);
    if (!spec) return false;
    layer.bn = std::move(spec);
    layer.batchnorm_prefix = bn;
    return true;
  };

  std::set<std::string> folded;
  // Rule 1: adjacency (state_dict order, or numeric order inside one parent module).
  for (std::size_t k = 1; k < sequence.size(); ++k) {
    const Module& prev = sequence[k - 1];
    const Module& cur = sequence[k];
    if (!cur.is_bn || prev.is_bn || prev.chain_index < 0) continue;
    if (!model.order_is_state_dict && module_prefix(prev.prefix) != module_prefix(cur.prefix))
      continue;
    if (plan.layers[static_cast<std::size_t>(prev.chain_index)].bn) continue;
    if (attach(cur.prefix, prev.chain_index, true)) folded.insert(cur.prefix);
  }
  // Rule 2 (no stored order): named siblings, conv1 <-> bn1, or the only layer and the only BN
  // of a parent module. Heuristic, so a size mismatch leaves the BN unfolded instead of failing.
  if (!model.order_is_state_dict) {
    std::map<std::string, int> layers_in_parent, bns_in_parent;
    for (const auto& [prefix, m] : modules)
      (m.is_bn ? bns_in_parent : layers_in_parent)[module_prefix(prefix)]++;
    for (const std::string& bn : bns) {
      if (folded.count(bn)) continue;
      const std::string parent = module_prefix(bn);
      const std::string digits = trailing_digits(last_component(bn));
      int match = -1, matches = 0;
      for (std::size_t k = 0; k < plan.layers.size(); ++k) {
        const std::string prefix = module_prefix(plan.layers[k].name);
        if (plan.layers[k].bn || module_prefix(prefix) != parent) continue;
        const bool sibling = digits.empty()
                                 ? layers_in_parent[parent] == 1 && bns_in_parent[parent] == 1
                                 : trailing_digits(last_component(prefix)) == digits;
        if (sibling) {
          match = static_cast<int>(k);
          ++matches;
        }
      }
      if (matches == 1 && attach(bn, match, false)) folded.insert(bn);
    }
  }
  for (const std::string& bn : bns)
    if (!folded.count(bn)) plan.unfolded_batchnorms.push_back(bn);
}

}  // namespace

std::string to_string(MapKind kind) {
  switch (kind) {
    case MapKind::Direct:
      return "direct";
    case MapKind::Add:
      return "add";
    case MapKind::Concat:
      return "concat";
    case MapKind::Split:
      return "split";
    case MapKind::Permute:
      return "permute";
  }
  return "?";
}

std::string to_string(FlattenOrder order) {
  return order == FlattenOrder::ChannelMajor ? "chw" : "hwc";
}

void finish_pair(PairSpec& pair) {
  const ChannelMap& map = pair.map;
  bool same_channels = pair.producer_channels == pair.c && map.count == pair.c && map.first == 0;
  for (std::int64_t a = 0; same_channels && a < map.count; ++a)
    same_channels = map.target(a) == a;
  pair.identity = same_channels && pair.flatten == FlattenOrder::ChannelMajor;
  pair.source_of_target.clear();
  if (pair.identity) return;
  pair.source_of_target.assign(static_cast<std::size_t>(pair.c), -1);
  for (std::int64_t a = map.first; a < map.first + map.count; ++a)
    pair.source_of_target[static_cast<std::size_t>(map.target(a))] = a - map.first;
}

PairNull pair_null(const PairSpec& pair, Method method) {
  PairNull null;
  if (method == Method::Cosvr) {
    null.c = pair.c;
    null.z = pair.z_u;
    return null;
  }
  const std::int64_t per_group = pair.c / std::max<std::int64_t>(1, pair.consumer_groups);
  null.groups = pair.consumer_groups;
  if (pair.consumer_groups <= 1) {
    null.c = pair.c;
    null.z = pair.z_v;
    null.divide = null.norms = !pair.reads_all_channels();
  } else if (per_group >= 2) {
    null.c = per_group;
    null.z = pair.z_v;
    null.divide = null.norms = true;
  } else {
    null.c = pair.producer_channels / std::max<std::int64_t>(1, pair.producer_groups);
    null.z = 1;
    null.norms = true;
  }
  return null;
}

std::vector<int> u_row_groups(const PairSpec& pair) {
  const std::int64_t per_group = pair.c / std::max<std::int64_t>(1, pair.consumer_groups);
  std::vector<int> groups(static_cast<std::size_t>(pair.map.count), 0);
  for (std::int64_t a = 0; a < pair.map.count; ++a)
    groups[static_cast<std::size_t>(a)] =
        static_cast<int>(pair.map.target(pair.map.first + a) / std::max<std::int64_t>(1, per_group));
  return groups;
}

std::int64_t u_row_of(const PairSpec& pair, std::int64_t row) {
  if (pair.identity) return row;
  const std::int64_t a = row - pair.map.first;  // svr: a row of U is a producer channel
  return a >= 0 && a < pair.map.count ? a : -1;
}

std::int64_t v_row_of(const PairSpec& pair, std::int64_t row) {
  if (pair.identity) return row;
  const std::int64_t z = pair.z_v;
  const bool channel_major = pair.flatten == FlattenOrder::ChannelMajor;
  const std::int64_t b = channel_major ? row / z : row % pair.c;
  const std::int64_t p = channel_major ? row % z : row / pair.c;
  const std::int64_t a = pair.source_of_target[static_cast<std::size_t>(b)];
  return a < 0 ? -1 : a * z + p;
}

bool natural_less(const std::string& a, const std::string& b) {
  auto digit = [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t i_end = i, j_end = j;
      while (i_end < a.size() && digit(a[i_end])) ++i_end;
      while (j_end < b.size() && digit(b[j_end])) ++j_end;
      std::size_t i_nz = i, j_nz = j;  // skip leading zeros
      while (i_nz + 1 < i_end && a[i_nz] == '0') ++i_nz;
      while (j_nz + 1 < j_end && b[j_nz] == '0') ++j_nz;
      const std::string_view na(a.data() + i_nz, i_end - i_nz), nb(b.data() + j_nz, j_end - j_nz);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = i_end;
      j = j_end;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  if (i == a.size() && j == b.size()) return a < b;  // equal up to leading zeros
  return i == a.size();
}

std::string LayerSpec::kind_name() const {
  if (kind == LayerKind::Linear) return "linear";
  return "conv" + std::to_string(spatial_dims) + "d";
}

std::int64_t LayerSpec::rows(Method method) const {
  return method == Method::Svr ? out_channels : out_channels * kernel_size;
}

std::int64_t LayerSpec::cols(Method method) const {
  return method == Method::Svr ? in_channels * groups * kernel_size : in_channels * groups;
}

LayerSpec describe_layer(const ModelFile& model, const TensorInfo& tensor) {
  if (!dtype_is_float(tensor.dtype))
    throw_input(model.path, tensor.name,
                "is " + dtype_name(tensor.dtype) +
                    ", not a floating-point tensor: integer and bool tensors are never layers");
  const std::size_t dims = tensor.shape.size();
  if (dims < 2 || dims > 5)
    throw_input(model.path, tensor.name,
                "has shape " + shape_string(tensor.shape) +
                    ": a layer weight has 2 (linear) to 5 (conv3d) dimensions");
  for (std::int64_t d : tensor.shape)
    if (d <= 0)
      throw_input(model.path, tensor.name, "has an empty shape " + shape_string(tensor.shape));
  LayerSpec layer;
  layer.name = tensor.name;
  layer.shape = tensor.shape;
  layer.kind = dims == 2 ? LayerKind::Linear : LayerKind::Conv;
  layer.spatial_dims = static_cast<int>(dims) - 2;
  layer.out_channels = tensor.shape[0];
  layer.in_channels = tensor.shape[1];
  layer.kernel_size = 1;
  for (std::size_t k = 2; k < dims; ++k) layer.kernel_size *= tensor.shape[k];
  return layer;
}

PairSpec pair_geometry(const ModelFile& model, const LayerSpec& from, const LayerSpec& to,
                       Method method) {
  const PairCheck check = check_pair(from, to, method);
  if (!check.ok) throw_input(model.path, "", check.problem);
  return check.pair;
}

namespace {

// An ONNX graph's batch norms on the layers they follow (ModelFile::graph_batchnorms), folded
// unless --batchnorm ignore; a folded one is no longer among the plan's unfolded batch norms.
void attach_graph_batchnorms(const ModelFile& model, const NetworkOptions& options,
                             NetworkPlan& plan) {
  std::set<std::string> folded;
  for (LayerSpec& layer : plan.layers) {
    const auto it = model.graph_batchnorms.find(layer.name);
    if (it == model.graph_batchnorms.end()) continue;
    const ModelFile::GraphBatchNorm& bn = it->second;
    layer.batchnorm_prefix = bn.node;
    if (options.read.batchnorm == BatchNormMode::Fold) {
      layer.bn = BatchNormSpec{bn.node, bn.scale, bn.bias, bn.mean, bn.var, bn.epsilon};
      folded.insert(bn.node);
    }
  }
  plan.unfolded_batchnorms.erase(
      std::remove_if(plan.unfolded_batchnorms.begin(), plan.unfolded_batchnorms.end(),
                     [&](const std::string& bn) { return folded.count(bn) > 0; }),
      plan.unfolded_batchnorms.end());
}

// The plan of a family's topology that svr recognised from the names (a torchvision family, a
// Hugging Face transformer), with the topology file's checks.
NetworkPlan plan_recognised(const ModelFile& model, const detail::RecognisedTopology& recognised,
                            const NetworkOptions& options) {
  NetworkPlan graph = detail::plan_topology(
      model, recognised.layers, options,
      detail::TopologyProblems(model.path + " (recognised as " + recognised.family + ")"));
  graph.family = recognised.family;
  graph.source = "family";
  return graph;
}

// The layers of an ONNX graph, whose reads the reader followed from node to node, planned as a
// topology file's (the same checks and channel maps); its batch norms fold as the graph says.
NetworkPlan plan_onnx_graph(const ModelFile& model, const NetworkOptions& options) {
  std::vector<detail::TopologyLayer> raws;
  std::vector<std::string> left_out;
  for (const ModelFile::GraphLayer& layer : model.graph_layers) {
    const TensorInfo* t = model.find(layer.weight);
    detail::TopologyLayer raw;
    raw.name = layer.weight;
    raw.kind = t != nullptr && t->shape.size() > 2
                   ? "conv" + std::to_string(t->shape.size() - 2) + "d"
                   : "linear";
    raw.groups = layer.groups;
    if (layer.channels_last) raw.flatten = FlattenOrder::ChannelsLast;
    if (!layer.input_scale.empty()) raw.input_scale = layer.input_scale;
    for (const ModelFile::GraphRead& read : layer.reads) {
      // V -> O through attention, head by head: O's query heads, each V head read by `repeats`
      // of them (a grouped-query attention).
      const bool direct = read.kind == ModelFile::GraphRead::Kind::Direct;
      const std::int64_t heads =
          read.head > 0 && t != nullptr && t->shape.size() == 2 && t->shape[1] % read.head == 0
              ? t->shape[1] / read.head
              : 0;
      if (direct && heads > 0 && heads % read.repeats == 0 &&
          (options.split_heads || read.repeats > 1)) {
        if (!options.split_heads) {
          left_out.push_back("'" + read.producer + "' -> '" + layer.weight +
                             "': grouped-query attention (each V head read by " +
                             std::to_string(read.repeats) +
                             " query heads): the V -> O pair is left out (--attention-heads "
                             "split reads it head by head)");
          continue;
        }
        for (detail::TopologyRead& r :
             detail::per_head_reads(read.producer, heads, heads / read.repeats, read.head))
          raw.reads.push_back(std::move(r));
        continue;
      }
      if (direct && read.repeats > 1) {
        left_out.push_back("'" + read.producer + "' -> '" + layer.weight +
                           "': repeated heads svr cannot line up with the reader's inputs");
        continue;
      }
      detail::TopologyRead r;
      r.layer = read.producer;
      using Kind = ModelFile::GraphRead::Kind;
      r.kind = read.kind == Kind::Add      ? MapKind::Add
               : read.kind == Kind::Concat ? MapKind::Concat
               : read.kind == Kind::Split  ? MapKind::Split
                                           : MapKind::Direct;
      if (read.kind == Kind::Concat || read.kind == Kind::Split) r.offset = read.offset;
      if (read.kind == Kind::Split) r.source = std::array<std::int64_t, 2>{read.first, read.count};
      raw.reads.push_back(std::move(r));
    }
    raws.push_back(std::move(raw));
  }
  NetworkPlan plan = detail::plan_topology(model, raws, options,
                                           detail::TopologyProblems(model.path + " (its graph)"));
  plan.source = "onnx";
  plan.flow_ends = model.graph_flow_ends;
  plan.left_out = std::move(left_out);
  attach_graph_batchnorms(model, options, plan);
  return plan;
}

}  // namespace

NetworkPlan plan_network(const ModelFile& model, const NetworkOptions& options) {
  if (!options.topology.empty()) return plan_from_topology(model, options);
  if (options.layers.empty() && model.format == "onnx") return plan_onnx_graph(model, options);
  NetworkPlan plan;
  std::string near_miss;  // why an automatic plan is not of the family whose names it has
  if (!options.layers.empty()) {
    plan.layers = named_layers(model, options.layers, "--layers");
    plan.source = "layers";
  } else if (model.declared_layers) {
    plan.layers = named_layers(model, *model.declared_layers, "svr.layers metadata");
    plan.source = "metadata";
  } else {
    std::vector<std::string> left_out;
    if (auto transformer = detail::recognise_transformer(model, options.residual_reach,
                                                         options.split_heads, left_out)) {
      NetworkPlan graph = plan_recognised(model, *transformer, options);
      graph.left_out = std::move(left_out);
      return graph;
    }
    detail::Recognition recognised = detail::recognise_family(model);
    if (recognised.topology) return plan_recognised(model, *recognised.topology, options);
    near_miss = std::move(recognised.near_miss);
    plan.layers = discover_layers(model, options.read.method, near_miss);
  }

  if (plan.layers.size() < 2)
    throw_input(model.path, plan.layers.empty() ? "" : plan.layers.front().name,
                "the SVR needs at least two chained layers" +
                    (plan.layers.empty() ? std::string(", none was selected")
                                         : ", found only this one " +
                                               shape_string(plan.layers.front().shape)));

  for (std::size_t k = 0; k + 1 < plan.layers.size(); ++k) {
    const PairCheck check = check_pair(plan.layers[k], plan.layers[k + 1], options.read.method);
    if (!check.ok) {
      // A chain broken at a ResNet-looking name is a residual network, whatever the order.
      for (const LayerSpec& layer : {plan.layers[k], plan.layers[k + 1]})
        if (looks_residual(layer.name)) throw_residual(model.path, layer.name, near_miss);
      const bool automatic = options.layers.empty() && !model.declared_layers;
      throw_input(model.path, "",
                  check.problem + (near_miss.empty() ? "" : "; " + near_miss) +
                      (automatic ? std::string("; ") + not_a_chain : std::string()));
    }
    PairSpec pair = check.pair;
    pair.from = static_cast<int>(k);
    pair.to = static_cast<int>(k + 1);
    pair.producer_channels = plan.layers[k].out_channels;
    pair.map.count = pair.c;
    finish_pair(pair);
    plan.pairs.push_back(std::move(pair));
  }
  if (model.format == "onnx") {
    attach_graph_batchnorms(model, options, plan);  // --layers: the graph says which BN folds
  } else if (options.read.batchnorm == BatchNormMode::Fold) {
    associate_batchnorms(model, plan);
  }
  return plan;
}

}  // namespace svr

// graph.graphml: every spectral neuron as a node, the significant edges, typed attributes
// declared with <key> so that networkx.read_graphml restores ints, floats and booleans.
#include <cmath>

#include "result_checks.hpp"
#include "svr/output/format.hpp"
#include "svr/output/graphml.hpp"
#include "svr/output/text_file.hpp"

namespace svr {

namespace {

struct Key {
  const char* id;
  const char* domain;  // "node", "edge" or "graph"
  const char* name;
  const char* type;  // GraphML attr.type
};

constexpr Key kKeys[] = {
    {"g_model", "graph", "model", "string"},
    {"g_network", "graph", "network", "string"},
    {"g_network_source", "graph", "network_source", "string"},
    {"g_family", "graph", "family", "string"},
    {"n_layer", "node", "layer", "int"},
    {"n_layer_name", "node", "layer_name", "string"},
    {"n_layer_kind", "node", "layer_kind", "string"},
    {"n_layer_groups", "node", "layer_groups", "int"},
    {"n_neuron", "node", "neuron", "int"},
    {"n_sigma", "node", "sigma", "double"},
    {"n_sigma_rel", "node", "sigma_rel", "double"},
    {"n_cluster", "node", "cluster", "int"},
    {"n_near_kernel", "node", "near_kernel", "boolean"},
    {"n_intensity", "node", "intensity", "double"},
    {"n_group", "node", "group", "int"},
    {"e_pair", "edge", "pair", "int"},
    {"e_from_layer", "edge", "from_layer", "int"},
    {"e_to_layer", "edge", "to_layer", "int"},
    {"e_map", "edge", "map", "string"},
    {"e_e", "edge", "e", "double"},
    {"e_ce", "edge", "ce", "double"},
    {"e_p", "edge", "p", "double"},
    {"e_log10_p", "edge", "log10_p", "double"},
    {"e_q", "edge", "q", "double"},
    {"e_significant", "edge", "significant", "boolean"},
};

void add_data(std::string& out, const char* key, const std::string& text) {
  out += "<data key=\"";
  out += key;
  out += "\">";
  out += text;
  out += "</data>";
}

// xs:double spells infinities INF / -INF; NaN is left out (a missing attribute) rather than
// written as a value.
void add_double(std::string& out, const char* key, double x) {
  if (std::isnan(x)) return;
  if (std::isinf(x)) return add_data(out, key, x > 0 ? "INF" : "-INF");
  add_data(out, key, output::format_double(x));
}

void add_bool(std::string& out, const char* key, bool b) {
  add_data(out, key, b ? "true" : "false");
}

}  // namespace

void write_graphml(const std::string& path, const SvrResult& r) {
  output::check_nodes(r, path);
  output::check_edges(r, path);
  output::TextFile file(path);
  file.write(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
      "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n");
  for (const Key& key : kKeys) {
    file.write(std::string("  <key id=\"") + key.id + "\" for=\"" + key.domain + "\" attr.name=\"" +
               key.name + "\" attr.type=\"" + key.type + "\"/>\n");
  }
  file.write("  <graph id=\"svr\" edgedefault=\"directed\">\n    ");
  std::string line;
  add_data(line, "g_model", output::xml_escape(r.model_name));
  add_data(line, "g_network", r.network.graph ? "graph" : "chain");
  if (!r.network.source.empty()) add_data(line, "g_network_source", r.network.source);
  if (!r.network.family.empty()) {
    add_data(line, "g_family", output::xml_escape(r.network.family));
  }
  file.write(line + "\n");

  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    const LayerResult& layer = r.layers[l];
    const double top = layer.largest_singular_value();
    const std::string layer_name = output::xml_escape(layer.name);
    const std::string layer_kind = output::xml_escape(layer.kind);
    const std::string layer_groups = std::to_string(layer.groups);
    for (Eigen::Index i = 0; i < layer.sigma.size(); ++i) {
      const std::int64_t id = output::neuron_id(layer, i);
      line = "    <node id=\"" + output::node_id(l, id) + "\">";
      add_data(line, "n_layer", std::to_string(l));
      add_data(line, "n_layer_name", layer_name);
      add_data(line, "n_layer_kind", layer_kind);
      add_data(line, "n_layer_groups", layer_groups);
      add_data(line, "n_neuron", std::to_string(id));
      add_double(line, "n_sigma", layer.sigma[i]);
      add_double(line, "n_sigma_rel", output::sigma_rel(layer.sigma[i], top));
      add_data(line, "n_cluster", std::to_string(layer.cluster[i]));
      add_bool(line, "n_near_kernel", layer.near_kernel[i]);
      add_double(line, "n_intensity", layer.intensity[i]);
      // as in nodes.csv: the neuron's block of a grouped layer, 0 for an ungrouped one
      add_data(line, "n_group",
               layer.group.empty() ? "0" : std::to_string(layer.group[static_cast<std::size_t>(i)]));
      line += "</node>\n";
      file.write(line);
    }
  }

  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    const bool testable = pair.null_kind != NullKind::Untestable;
    const std::string from_layer = std::to_string(pair.from_layer);
    const std::string to_layer = std::to_string(pair.to_layer);
    const std::string map = output::xml_escape(pair.map);
    const LayerResult& from = r.layers[static_cast<std::size_t>(pair.from_layer)];
    const LayerResult& to = r.layers[static_cast<std::size_t>(pair.to_layer)];
    for (const EdgeRecord& edge : pair.edges) {
      if (!edge.significant) continue;
      line = "    <edge source=\"" +
             output::node_id(pair.from_layer, from.first_neuron + edge.from_neuron) +
             "\" target=\"" + output::node_id(pair.to_layer, to.first_neuron + edge.to_neuron) +
             "\">";
      add_data(line, "e_pair", std::to_string(k));
      add_data(line, "e_from_layer", from_layer);
      add_data(line, "e_to_layer", to_layer);
      add_data(line, "e_map", map);
      add_double(line, "e_e", edge.e);
      add_double(line, "e_ce", static_cast<double>(pair.c) * edge.e);
      if (testable) {
        add_double(line, "e_p", std::pow(10.0, edge.log10_p));
        add_double(line, "e_log10_p", edge.log10_p);
        add_double(line, "e_q", std::pow(10.0, edge.log10_q));
      }
      add_bool(line, "e_significant", true);
      line += "</edge>\n";
      file.write(line);
    }
  }
  file.write("  </graph>\n</graphml>\n");
  file.close();
}

}  // namespace svr

// nodes.csv: one row per kept spectral neuron of every layer.
#include "result_checks.hpp"
#include "svr/output/format.hpp"
#include "svr/output/nodes_csv.hpp"
#include "svr/output/text_file.hpp"

namespace svr {

void write_nodes_csv(const std::string& path, const SvrResult& r) {
  output::check_nodes(r, path);
  output::TextFile file(path);
  file.write("layer,layer_name,neuron,sigma,sigma_rel,cluster,near_kernel,intensity,group\n");
  std::string row;
  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    const LayerResult& layer = r.layers[l];
    const double top = layer.largest_singular_value();
    std::string prefix = std::to_string(l) + ",";
    output::append_csv_field(prefix, layer.name);
    prefix += ',';
    for (Eigen::Index i = 0; i < layer.sigma.size(); ++i) {
      row = prefix;
      row += std::to_string(output::neuron_id(layer, i));
      row += ',';
      output::append_csv_number(row, layer.sigma[i]);
      row += ',';
      output::append_csv_number(row, output::sigma_rel(layer.sigma[i], top));
      row += ',';
      row += std::to_string(layer.cluster[i]);
      row += layer.near_kernel[i] ? ",1," : ",0,";
      output::append_csv_number(row, layer.intensity[i]);
      row += ',';
      row += layer.group.empty() ? "0" : std::to_string(layer.group[static_cast<std::size_t>(i)]);
      row += '\n';
      file.write(row);
    }
  }
  file.close();
}

}  // namespace svr

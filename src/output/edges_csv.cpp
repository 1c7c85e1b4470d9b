// edges.csv: the edges the pipeline chose to report (significant ones, or all with --all-edges).
#include <cmath>

#include "result_checks.hpp"
#include "svr/output/edges_csv.hpp"
#include "svr/output/format.hpp"
#include "svr/output/text_file.hpp"

namespace svr {

void write_edges_csv(const std::string& path, const SvrResult& r) {
  output::check_edges(r, path);
  output::TextFile file(path);
  file.write(
      "pair,from_layer,from_neuron,to_layer,to_neuron,e,ce,p,log10_p,q,significant,map\n");
  std::string row;
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    const bool pair_testable = pair.null_kind != NullKind::Untestable;
    const std::string suffix = "," + pair.map + "\n";
    const std::string prefix = std::to_string(k) + "," + std::to_string(pair.from_layer) + ",";
    const std::string to_layer = "," + std::to_string(pair.to_layer) + ",";
    const LayerResult& from = r.layers[static_cast<std::size_t>(pair.from_layer)];
    const LayerResult& to = r.layers[static_cast<std::size_t>(pair.to_layer)];
    for (const EdgeRecord& edge : pair.edges) {
      row = prefix;
      row += std::to_string(from.first_neuron + edge.from_neuron);
      row += to_layer;
      row += std::to_string(to.first_neuron + edge.to_neuron);
      row += ',';
      output::append_csv_number(row, edge.e);
      row += ',';
      output::append_csv_number(row, static_cast<double>(pair.c) * edge.e);
      row += ',';
      if (pair_testable && edge.testable) {
        // p and q may underflow to 0 below about 1e-308; log10_p keeps the exact magnitude.
        output::append_csv_number(row, std::pow(10.0, edge.log10_p));
        row += ',';
        output::append_csv_number(row, edge.log10_p);
        row += ',';
        output::append_csv_number(row, std::pow(10.0, edge.log10_q));
      } else {
        row += ",,";
      }
      row += edge.significant ? ",1" : ",0";
      row += suffix;
      file.write(row);
    }
  }
  file.close();
}

}  // namespace svr

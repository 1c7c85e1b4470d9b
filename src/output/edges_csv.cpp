// edges.csv: the edges the pipeline chose to report (significant ones, or all with --all-edges).
#include "svr/output/edges_csv.hpp"

#include <cmath>

#include "result_checks.hpp"
#include "svr/output/format.hpp"
#include "svr/output/text_file.hpp"

namespace svr {

std::string edges_csv_header() {
  return "pair,from_layer,from_neuron,to_layer,to_neuron,e,ce,p,log10_p,q,significant,map\n";
}

void check_edges_of(const std::string& path, const SvrResult& r, std::size_t k,
                    const std::vector<EdgeRecord>& edges) {
  output::check_pair_edges(r, k, edges, path);
}

void edges_csv_rows(const SvrResult& r, std::size_t k, const std::vector<EdgeRecord>& edges,
                    std::size_t piece_bytes, const std::function<void(const std::string&)>& emit) {
  const PairResult& pair = r.pairs[k];
  const bool pair_testable = pair.null_kind != NullKind::Untestable;
  const std::string suffix = "," + pair.map + "\n";
  const std::string prefix = std::to_string(k) + "," + std::to_string(pair.from_layer) + ",";
  const std::string to_layer = "," + std::to_string(pair.to_layer) + ",";
  const LayerResult& from = r.layers[static_cast<std::size_t>(pair.from_layer)];
  const LayerResult& to = r.layers[static_cast<std::size_t>(pair.to_layer)];
  std::string piece;
  for (const EdgeRecord& edge : edges) {
    piece += prefix;
    piece += std::to_string(from.first_neuron + edge.from_neuron);
    piece += to_layer;
    piece += std::to_string(to.first_neuron + edge.to_neuron);
    piece += ',';
    output::append_csv_number(piece, edge.e);
    piece += ',';
    output::append_csv_number(piece, static_cast<double>(pair.c) * edge.e);
    piece += ',';
    if (pair_testable && edge.testable) {
      // p and q may underflow to 0 below about 1e-308; log10_p keeps the exact magnitude.
      output::append_csv_number(piece, std::pow(10.0, edge.log10_p));
      piece += ',';
      output::append_csv_number(piece, edge.log10_p);
      piece += ',';
      output::append_csv_number(piece, std::pow(10.0, edge.log10_q));
    } else {
      piece += ",,";
    }
    piece += edge.significant ? ",1" : ",0";
    piece += suffix;
    if (piece.size() >= piece_bytes) {
      emit(piece);
      piece.clear();
    }
  }
  if (!piece.empty()) emit(piece);
}

void write_edges_csv(const std::string& path, const SvrResult& r) {
  output::check_edges(r, path);
  output::TextFile file(path);
  file.write(edges_csv_header());
  for (std::size_t k = 0; k < r.pairs.size(); ++k)
    edges_csv_rows(r, k, r.pairs[k].edges, std::size_t{1} << 16,
                   [&](const std::string& piece) { file.write(piece); });
  file.close();
}

}  // namespace svr

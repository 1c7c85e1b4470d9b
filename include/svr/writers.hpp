#pragma once
// Writers of the files of OUTDIR; docs/output-formats.md describes every file, column and
// field. Each writer writes `path` directly (OutputDirectory provides the atomicity) and throws
// OutputError naming `path` on any I/O error, or when `r` is inconsistent (a vector whose size
// does not match its layer's singular values, an edge naming a neuron that does not exist).
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "svr/options.hpp"
#include "svr/results.hpp"

namespace svr {

// layer,layer_name,neuron,sigma,sigma_rel,cluster,near_kernel,intensity: one row per kept
// spectral neuron.
void write_nodes_csv(const std::string& path, const SvrResult& r);

// pair,from_layer,from_neuron,to_layer,to_neuron,e,ce,p,log10_p,q,significant: the edges in
// r.pairs[*].edges (already filtered by the pipeline); untestable pairs leave p, log10_p, q empty.
void write_edges_csv(const std::string& path, const SvrResult& r);

// GraphML readable by networkx.read_graphml: every node, only significant edges.
void write_graphml(const std::string& path, const SvrResult& r);

// summary.json (schema_version 1): model, options, layers, pairs, path metrics, chains, run.
void write_summary_json(const std::string& path, const SvrResult& r, const Options& o);
// The "options" object of summary.json for these options, as compact JSON text.
std::string options_json_text(const Options& o);

// safetensors with "<layer name>.U" (rows x r), ".S" (r), ".V" (cols x r) per layer; u_i is
// signed so that its largest-magnitude entry is positive and v_i flipped with it, so that
// U diag(S) V^T is still M. Needs the singular vectors (the pipeline must keep them).
void write_spectra(const std::string& path, const SvrResult& r, const Options& o);

// safetensors with "pair<l>.E" (r(l+1) x r(l)) per pair; metadata names layers, c and z.
void write_adjacency(const std::string& path, const SvrResult& r, const Options& o);

// Where write_adjacency puts everything, from the layer names, the kept singular values and the
// pairs' from_layer, c and z alone (no E): every rank can compute it, so each pair's owner can
// write its E into the shared file itself (the pipeline, docs/algorithms.md).
struct AdjacencyLayout {
  std::string head;                      // the file's first bytes: 8-byte length, JSON header
  std::vector<std::uint64_t> offsets;    // file offset of pair k's E (row-major F64)
  std::vector<std::int64_t> rows, cols;  // E of pair k is rows[k] x cols[k]
  std::uint64_t file_size = 0;
};
AdjacencyLayout adjacency_layout(const SvrResult& r, const Options& o);

// E as stored in the file: row-major doubles (little-endian hosts: already in file order).
std::vector<double> adjacency_data(const Eigen::MatrixXd& E);

}  // namespace svr

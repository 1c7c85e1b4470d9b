#pragma once
// OUTDIR/adjacency.safetensors (--save-adjacency; docs/output-formats.md): the file as a whole
// from one rank, or its layout, so that every pair's owner can write its own E into it.
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "svr/core/matrix_convention.hpp"
#include "svr/core/results.hpp"

namespace svr {

// safetensors with "pair<l>.E" (r(l+1) x r(l)) per pair; metadata names layers, c and z.
// Throws OutputError naming `path`.
void write_adjacency(const std::string& path, const SvrResult& r, Method method);

// Where write_adjacency puts everything, from the layer names, the kept singular values and the
// pairs' from_layer, c and z alone (no E): every rank can compute it, so each pair's owner can
// write its E into the shared file itself (the pipeline, docs/algorithms.md).
struct AdjacencyLayout {
  std::string head;                      // the file's first bytes: 8-byte length, JSON header
  std::vector<std::uint64_t> offsets;    // file offset of pair k's E (row-major F64)
  std::vector<std::int64_t> rows, cols;  // E of pair k is rows[k] x cols[k]
  std::uint64_t file_size = 0;
};
AdjacencyLayout adjacency_layout(const SvrResult& r, Method method);

// E as stored in the file: row-major doubles (little-endian hosts: already in file order).
std::vector<double> adjacency_data(const Eigen::MatrixXd& E);

}  // namespace svr

#pragma once
// OUTDIR/spectra.safetensors (--save-spectra; docs/output-formats.md): the whole file from one
// rank, or its layout and sign convention, so that each layer's owner (a rank, or every rank of
// a ScaLAPACK team) writes its own factors into it (the pipeline, phase_output.cpp).
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "svr/core/matrix_convention.hpp"
#include "svr/core/results.hpp"
#include "svr/io/safetensors_writer.hpp"

namespace svr {

// safetensors with "<layer name>.U" (rows x r), ".S" (r), ".V" (cols x r) per layer; u_i is
// signed so that its largest-magnitude entry is positive and v_i flipped with it, so that
// U diag(S) V^T is still M. Needs the singular vectors in r.layers. Throws OutputError naming
// `path`.
void write_spectra(const std::string& path, const SvrResult& r, Method method);

// Where write_spectra puts everything, from the layer names, shapes and kept singular values
// alone: offsets[3 l], [3 l + 1], [3 l + 2] are layer l's U, S and V.
SafetensorsLayout spectra_layout(const SvrResult& r, Method method);

// +1 or -1 per column of u: the sign that makes the column's largest-magnitude entry (the first
// one on a tie) positive. SVD signs are arbitrary; this makes the file reproducible across
// LAPACK builds and rank counts.
std::vector<double> canonical_signs(const Eigen::MatrixXd& u);

// The first sign.size() columns of m, column i times sign[i], row-major: as stored in the file.
std::vector<double> signed_row_major(const Eigen::MatrixXd& m, const std::vector<double>& sign);

}  // namespace svr

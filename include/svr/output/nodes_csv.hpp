#pragma once
// OUTDIR/nodes.csv (docs/output-formats.md). Like every writer of output/, it writes `path`
// directly (OutputDirectory provides the atomicity) and throws OutputError naming `path` on any
// I/O error, or when `r` is inconsistent (a vector whose size does not match its layer's
// singular values).
#include <string>

#include "svr/core/results.hpp"

namespace svr {

// layer,layer_name,neuron,sigma,sigma_rel,cluster,near_kernel,intensity: one row per kept
// spectral neuron.
void write_nodes_csv(const std::string& path, const SvrResult& r);

}  // namespace svr

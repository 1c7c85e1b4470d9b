#pragma once
// OUTDIR/edges.csv (docs/output-formats.md). Throws OutputError naming `path` on an I/O error or
// an edge naming a neuron that does not exist.
#include <string>

#include "svr/core/results.hpp"

namespace svr {

// pair,from_layer,from_neuron,to_layer,to_neuron,e,ce,p,log10_p,q,significant: the edges in
// r.pairs[*].edges (already filtered by the pipeline); untestable pairs leave p, log10_p, q empty.
void write_edges_csv(const std::string& path, const SvrResult& r);

}  // namespace svr

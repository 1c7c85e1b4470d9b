#pragma once
// OUTDIR/edges.csv (docs/output-formats.md). Throws OutputError naming `path` on an I/O error or
// an edge naming a neuron that does not exist.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "svr/core/results.hpp"

namespace svr {

// pair,from_layer,from_neuron,to_layer,to_neuron,e,ce,p,log10_p,q,significant: the edges in
// r.pairs[*].edges (already filtered by the pipeline); untestable pairs leave p, log10_p, q empty.
void write_edges_csv(const std::string& path, const SvrResult& r);

// The file's first line, with its newline.
std::string edges_csv_header();

// The rows of pair k for `edges` (r.pairs[k].edges, or on the pair's owner every edge of the
// pair with --all-edges), in pieces of about `piece_bytes` bytes each handed to `emit`, in
// order; the bytes are exactly those write_edges_csv writes for the pair. Needs r.pairs[k]'s
// layers, map, c and null law, and the layers' first neuron and kept values; the pair and its
// edges must have passed check_edges_of first.
void edges_csv_rows(const SvrResult& r, std::size_t k, const std::vector<EdgeRecord>& edges,
                    std::size_t piece_bytes, const std::function<void(const std::string&)>& emit);

// Throws OutputError naming `path` when pair k does not join two layers of r, or one of `edges`
// names a neuron it does not have (an internal error: the same check as write_edges_csv's).
void check_edges_of(const std::string& path, const SvrResult& r, std::size_t k,
                    const std::vector<EdgeRecord>& edges);

}  // namespace svr

#pragma once
// OUTDIR/graph.graphml (docs/output-formats.md). Throws OutputError naming `path`.
#include <string>

#include "svr/core/results.hpp"

namespace svr {

// GraphML readable by networkx.read_graphml: every node, only significant edges.
void write_graphml(const std::string& path, const SvrResult& r);

}  // namespace svr

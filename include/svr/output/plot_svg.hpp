#pragma once
// OUTDIR/svr.svg: the picture of an SVR as in the paper's figures. One column per layer
// (x = layer, y = singular value on a log10 or linear axis), spectral neurons as dots shaded by
// intensity (near-kernel ones hollow), the significant edges as lines shaded by -log10 p (at
// most PlotOptions::max_edges per pair, the strongest; drawn weakest first so the strongest lie
// on top), the dominant chains highlighted, layer names on the x axis (thinned when the columns
// are narrow), a legend beside the plot and a title with model, correction and level.
// docs/plots.md describes the picture; the output is a pure function of its inputs (same bytes).
//
// Elements carry classes so that tools and tests can count them: every spectral neuron is one
// <circle class="node ..."> (class "node nk" when near-kernel), every drawn edge one
// <line class="edge">, every chain one <polyline class="chain">, every x tick label one
// <text class="xlabel">.
#include <string>

#include "svr/core/results.hpp"
#include "svr/output/plot_options.hpp"

namespace svr {

// The SVG document. standalone = true: an XML file (declaration, xmlns); false: an <svg>
// element for inlining into HTML (no declaration, no namespace URL).
std::string render_svr_svg(const SvrResult& r, const PlotOptions& o, bool standalone = true);

// Writes render_svr_svg(r, o) to `path`; throws OutputError naming `path` on I/O errors or an
// inconsistent `r` (as the other writers of svr/writers.hpp).
void write_svr_svg(const std::string& path, const SvrResult& r, const PlotOptions& o);

}  // namespace svr

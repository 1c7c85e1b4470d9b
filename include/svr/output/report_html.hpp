#pragma once
// OUTDIR/report.html: one self-contained page (inline CSS, JS and SVG; no external resource of
// any kind) for a person who never read the paper: a plain-language explanation, the SVR plot,
// the per-layer and per-pair tables (the numbers of summary.json), the dominant chains and a
// heatmap of E per pair (canvas; pairs larger than 256 x 256 reduced by block maxima). Once its
// script has drawn everything it sets document.body.dataset.ready = "1" (used by the render test).
#include <string>

#include "svr/core/results.hpp"
#include "svr/output/plot_options.hpp"

namespace svr {

// E reduced to at most 256 x 256 block maxima for the heatmap of its pair.
EdgeHeatmap edge_heatmap(const Eigen::MatrixXd& E);

std::string render_report_html(const SvrResult& r, const PlotOptions& o);

// Writes render_report_html(r, o) to `path`; throws OutputError naming `path` on I/O errors or
// an inconsistent `r`.
void write_report_html(const std::string& path, const SvrResult& r, const PlotOptions& o);

}  // namespace svr

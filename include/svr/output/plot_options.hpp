#pragma once
// How svr.svg and report.html are drawn (plot_svg.hpp, report_html.hpp), and the settings of
// the run that their titles and captions name.
#include "svr/core/matrix_convention.hpp"
#include "svr/stats/significance.hpp"

namespace svr {

struct PlotOptions {
  bool log_scale = true;  // y axis: log10 of s (false: linear)
  int max_edges = 100;    // strongest significant edges drawn per pair (edges.csv has them all)
  // What the labels say of the run: the command line copies them from the network's, the
  // measures' and the statistics' options.
  Method method = Method::Svr;
  BatchNormMode batchnorm = BatchNormMode::Fold;
  double near_kernel_tau = 1e-2;
  SignificanceOptions significance;
};

}  // namespace svr

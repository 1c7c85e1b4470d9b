#pragma once
// Helpers shared by the SVG plot, the HTML report and svr aggregate's trend plots.
#include <cstdint>
#include <string>
#include <vector>

#include "svr/core/results.hpp"
#include "svr/stats/significance.hpp"

namespace svr::output {

// Pixel coordinate with at most 2 decimals, no trailing zeros, never "-0": "12.5", "3".
std::string px(double x);
// Number for people: `digits` significant digits (%g style), "inf", "-inf", "nan" spelled out.
std::string short_number(double x, int digits = 4);

// "Benjamini-Hochberg, α = 0.05" and the like; with --sigma the chi-square rule.
std::string correction_label(const SignificanceOptions& o);

// Layer name as shown on axes: the weight tensor name without a trailing ".weight".
std::string layer_label(const std::string& name);

// 10^log10_x as "1.7e-700" (works far below the smallest double); log10_x = -inf gives "0".
std::string power_of_ten(double log10_x);

// Whether some pair joins two layers that are not neighbours in layer order: a network that is a
// graph (spec section 7, layers in topological order). The plots draw such pairs as arcs.
bool has_skip_pairs(const SvrResult& r);

// Strength of a significant edge for shading and ordering: -log10 p, or +inf when p underflowed
// to log10 p = -inf (never NaN).
double edge_strength(const EdgeRecord& edge);

// The significant edges of a pair that the plot draws: the `cap` strongest (smallest log10 p;
// ties by larger E, then by indices), returned strongest first. `total` gets the number of
// significant edges of the pair.
std::vector<const EdgeRecord*> plot_edges(const PairResult& pair, int cap, std::int64_t& total);

}  // namespace svr::output

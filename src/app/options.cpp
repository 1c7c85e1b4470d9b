#include "svr/app/options.hpp"

#include <cmath>

namespace svr {
namespace {

using Json = nlohmann::ordered_json;

// JSON has no inf or NaN: a non-finite double is written as null (docs/output-formats.md).
Json number(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

}  // namespace

nlohmann::ordered_json options_record(const Options& o) {
  const SignificanceOptions& s = o.significance;
  Json j;
  j["model_path"] = o.model_path;
  j["outdir"] = o.outdir;
  j["layers"] = o.network.layers;
  if (!o.network.topology.empty()) j["topology"] = o.network.topology;
  if (o.network.flatten_order) j["flatten_order"] = to_string(*o.network.flatten_order);
  j["method"] = to_string(o.network.read.method);
  j["batchnorm"] = to_string(o.network.read.batchnorm);
  j["bn_eps"] = number(o.network.read.bn_eps);
  j["residual_reach"] = o.network.residual_reach < 0 ? Json("all") : Json(o.network.residual_reach);
  j["attention_heads"] = o.network.split_heads ? "split" : "whole";
  j["alpha"] = number(s.alpha);
  j["correction"] = to_string(s.correction);
  j["fdr_scope"] = to_string(s.fdr_scope);
  j["sigma"] = s.sigma ? number(*s.sigma) : Json(nullptr);
  j["reference"] = o.reference;
  j["max_rank"] = o.max_rank ? Json(*o.max_rank) : Json(nullptr);
  j["min_rank"] = o.min_rank ? Json(*o.min_rank) : Json(nullptr);
  j["svd_tolerance"] = number(o.svd_tolerance);
  j["svd_max_cost"] = number(o.svd_max_cost);
  j["full_svd"] = o.full_svd;
  j["precision"] = to_string(o.precision);
  j["truncated_svd"] = o.truncated_engine == TruncatedEngine::Slepc     ? "slepc"
                       : o.truncated_engine == TruncatedEngine::Builtin ? "builtin"
                                                                        : "auto";
  j["near_kernel_tau"] = number(o.measures.near_kernel_tau);
  j["path_threshold"] = number(o.measures.path_threshold);
  j["top_chains"] = o.measures.top_chains;
  j["all_edges"] = s.all_edges;
  j["save_spectra"] = o.save_spectra;
  j["save_adjacency"] = o.save_adjacency;
  j["force"] = o.force;
  j["quiet"] = o.quiet;
  j["simulation_draws"] = s.simulation_draws;
  j["seed"] = s.seed;
  return j;
}

}  // namespace svr

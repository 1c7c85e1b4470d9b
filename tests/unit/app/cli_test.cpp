#include "svr/app/cli.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "svr/core/error.hpp"
#include "svr_test/temp_dir.hpp"

namespace svr {
namespace {

CommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "svr");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

std::string error_of(std::vector<const char*> args) {
  try {
    parse(std::move(args));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(CommandLine, DefaultsFollowTheSpec) {
  const Options o = parse({"model.safetensors", "-o", "out"}).options;
  EXPECT_EQ(o.model_path, "model.safetensors");
  EXPECT_EQ(o.outdir, "out");
  EXPECT_EQ(o.network.read.method, Method::Svr);
  EXPECT_EQ(o.network.read.batchnorm, BatchNormMode::Fold);
  EXPECT_DOUBLE_EQ(o.network.read.bn_eps, 1e-5);
  EXPECT_DOUBLE_EQ(o.significance.alpha, 0.05);
  EXPECT_EQ(o.significance.correction, Correction::BH);
  EXPECT_EQ(o.significance.fdr_scope, FdrScope::Network);
  EXPECT_FALSE(o.significance.sigma.has_value());
  EXPECT_FALSE(o.max_rank.has_value());
  EXPECT_DOUBLE_EQ(o.measures.near_kernel_tau, 1e-2);
  EXPECT_DOUBLE_EQ(o.svd_tolerance, 1e-10);
  EXPECT_DOUBLE_EQ(o.svd_max_cost, 1.0);
  EXPECT_FALSE(o.full_svd);
  EXPECT_EQ(o.precision, svr::SvdPrecision::Double);
  EXPECT_EQ(o.truncated_engine, svr::TruncatedEngine::Auto);
  EXPECT_EQ(parse({"m", "-o", "o", "--truncated-svd", "builtin"}).options.truncated_engine,
            svr::TruncatedEngine::Builtin);
  EXPECT_FALSE(o.significance.all_edges || o.save_spectra || o.save_adjacency || o.force || o.quiet);
}

TEST(CommandLine, ParsesEveryOption) {
  const Options o = parse({"m.pth", "--output", "o", "--method", "cosvr", "--batchnorm", "ignore",
                           "--bn-eps", "1e-3", "--alpha", "0.01", "--correction", "holm",
                           "--fdr-scope", "pair", "--max-rank", "7", "--near-kernel-tau", "0.1",
                           "--all-edges", "--save-spectra", "--save-adjacency", "--force",
                           "--quiet", "--layers", "a.weight, b.weight,c.weight", "--top-chains",
                           "3", "--path-threshold", "0.5", "--svd-tolerance", "1e-12",
                           "--svd-max-cost", "4.5", "--full-svd", "--precision", "single"})
                        .options;
  EXPECT_EQ(o.network.read.method, Method::Cosvr);
  EXPECT_EQ(o.network.read.batchnorm, BatchNormMode::Ignore);
  EXPECT_DOUBLE_EQ(o.network.read.bn_eps, 1e-3);
  EXPECT_DOUBLE_EQ(o.significance.alpha, 0.01);
  EXPECT_EQ(o.significance.correction, Correction::Holm);
  EXPECT_EQ(o.significance.fdr_scope, FdrScope::Pair);
  EXPECT_EQ(o.max_rank, 7);
  EXPECT_DOUBLE_EQ(o.measures.near_kernel_tau, 0.1);
  EXPECT_TRUE(o.significance.all_edges && o.save_spectra && o.save_adjacency && o.force && o.quiet);
  EXPECT_EQ(o.network.layers, (std::vector<std::string>{"a.weight", "b.weight", "c.weight"}));
  EXPECT_EQ(o.measures.top_chains, 3);
  EXPECT_DOUBLE_EQ(o.measures.path_threshold, 0.5);
  EXPECT_DOUBLE_EQ(o.svd_tolerance, 1e-12);
  EXPECT_DOUBLE_EQ(o.svd_max_cost, 4.5);
  EXPECT_TRUE(o.full_svd);
  EXPECT_EQ(o.precision, svr::SvdPrecision::Single);
  EXPECT_FALSE(o.min_rank.has_value());
}

TEST(CommandLine, MinRankAndWhatItExcludes) {
  EXPECT_EQ(parse({"m", "-o", "o", "--min-rank", "12"}).options.min_rank, 12);
  EXPECT_FALSE(parse({"m", "-o", "o", "--min-rank", "12"}).options.max_rank.has_value());
  EXPECT_EQ(error_of({"m", "-o", "o", "--min-rank", "0"}), "command line: --min-rank must be >= 1");
  EXPECT_EQ(error_of({"m", "-o", "o", "--min-rank", "4", "--max-rank", "8"}),
            "command line: --min-rank and --max-rank exclude each other (the bottom or the top K "
            "spectral neurons: run svr twice for both)");
  EXPECT_EQ(error_of({"m", "-o", "o", "--min-rank", "4", "--reference"}),
            "command line: --reference keeps the top 128 spectral neurons (the public "
            "implementation's preset); drop --min-rank");
}

TEST(CommandLine, LayersFromFile) {
  test::TempDir dir;
  const std::string path = dir / "svr_layers.txt";
  std::ofstream(path) << "# chain\nfeatures.0.weight\nfeatures.3.weight, classifier.0.weight\n";
  const std::string arg = "@" + path;
  const Options o = parse({"m", "-o", "o", "--layers", arg.c_str()}).options;
  EXPECT_EQ(o.network.layers, (std::vector<std::string>{"features.0.weight", "features.3.weight",
                                                "classifier.0.weight"}));
  std::remove(path.c_str());
  EXPECT_NE(error_of({"m", "-o", "o", "--layers", arg.c_str()}).find(path), std::string::npos);
}

TEST(CommandLine, ReferencePresetAndSigma) {
  const Options r = parse({"m", "-o", "o", "--reference"}).options;
  EXPECT_EQ(r.network.read.batchnorm, BatchNormMode::Ignore);
  EXPECT_EQ(r.max_rank, 128);
  EXPECT_EQ(r.significance.sigma, 3.0);
  EXPECT_EQ(r.significance.correction, Correction::None);
  const Options s = parse({"m", "-o", "o", "--sigma", "2"}).options;
  EXPECT_EQ(s.significance.correction, Correction::None);
  EXPECT_EQ(parse({"m", "-o", "o", "--reference", "--max-rank", "64"}).options.max_rank, 64);
  EXPECT_NE(error_of({"m", "-o", "o", "--sigma", "2", "--correction", "bh"}).find("--sigma"),
            std::string::npos);
  EXPECT_NE(error_of({"m", "-o", "o", "--reference", "--batchnorm", "fold"}).find("--reference"),
            std::string::npos);
  // The reference preset is the double-precision computation.
  EXPECT_EQ(error_of({"m", "-o", "o", "--reference", "--precision", "single"}),
            "command line: --reference computes in double precision; drop --precision single");
  EXPECT_EQ(parse({"m", "-o", "o", "--reference", "--precision", "double"}).options.precision,
            svr::SvdPrecision::Double);
}

TEST(CommandLine, RejectsBadValuesWithOneLine) {
  for (const auto& args : std::vector<std::vector<const char*>>{
           {"m"},
           {"-o", "o"},
           {"m", "-o", "o", "--method", "pca"},
           {"m", "-o", "o", "--correction", "fdr"},
           {"m", "-o", "o", "--alpha", "1.5"},
           {"m", "-o", "o", "--alpha", "zero"},
           {"m", "-o", "o", "--max-rank", "0"},
           {"m", "-o", "o", "--min-rank", "-2"},
           {"m", "-o", "o", "--svd-tolerance", "0"},
           {"m", "-o", "o", "--svd-tolerance", "1"},
           {"m", "-o", "o", "--svd-tolerance", "nan"},
           {"m", "-o", "o", "--svd-max-cost", "0"},
           {"m", "-o", "o", "--svd-max-cost", "nan"},
           {"m", "-o", "o", "--precision", "half"},
           {"m", "-o", "o", "--sigma", "-1"},
           {"m", "-o", "o", "--no-such-option"},
           {"m", "-o", "o", "--layers", ","},
           {"m", "-o", "o", "--scalapack-min-dim", "0"},
           {"m", "-o", "o", "--block-size", "0"},
           {"m", "--plan", "--block-size", "-3"},
           {"m", "-o", "o", "--max-grids", "-1"},
           {"m", "-o", "o", "--memory-per-rank", "-5"},
           {"m", "-o", "o", "--memory-per-rank", "inf"},
           {"m", "-o", "o", "--memory-per-rank", "lots"},
           {"m", "-o", "o", "--min-local-elements", "-1"},
           {"m", "-o", "o", "--split-min-dim", "-1"},
           {"m", "-o", "o", "--truncated-svd", "arpack"},
           {"m", "-o", "o", "--truncated-svd", "slepc", "--precision", "single"}}) {
    const std::string message = error_of(args);
    EXPECT_NE(message.find("command line"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(CommandLine, HelpListsEveryOption) {
  const CommandLine help = parse({"--help"});
  EXPECT_EQ(help.action, CommandLine::Action::Help);
  for (const char* name :
       {"--layers", "--method", "--batchnorm", "--bn-eps", "--alpha", "--correction",
        "--fdr-scope", "--sigma", "--reference", "--max-rank", "--near-kernel-tau", "--all-edges",
        "--save-spectra", "--save-adjacency", "--force", "--quiet", "--output", "--version",
        "--scalapack-min-dim", "--block-size", "--max-grids", "--memory-per-rank", "--min-local-elements",
        "--split-min-dim", "--plan", "--svd-tolerance", "--svd-max-cost", "--full-svd",
        "--truncated-svd"})
    EXPECT_NE(help.text.find(name), std::string::npos) << name;
  EXPECT_EQ(parse({"--version"}).action, CommandLine::Action::Version);
}

TEST(CommandLine, ExecutionOptions) {
  const Options d = parse({"m", "-o", "o"}).options;
  EXPECT_EQ(d.execution.scalapack_min_dim, 8192);
  EXPECT_EQ(d.execution.block_size, 64);
  EXPECT_EQ(d.execution.max_grids, 0);
  EXPECT_EQ(d.execution.memory_per_rank_mb, 0.0);
  EXPECT_EQ(d.execution.min_local_elements, 1048576.0);
  EXPECT_EQ(d.execution.split_min_dim, 1024);
  EXPECT_FALSE(d.plan);
  const Options o = parse({"m", "-o", "o", "--scalapack-min-dim", "1", "--block-size", "3",
                           "--max-grids", "2", "--memory-per-rank", "1500.5",
                           "--split-min-dim", "0"})
                        .options;
  EXPECT_EQ(o.execution.split_min_dim, 0);
  EXPECT_EQ(o.execution.scalapack_min_dim, 1);
  EXPECT_EQ(o.execution.block_size, 3);
  EXPECT_EQ(o.execution.max_grids, 2);
  EXPECT_DOUBLE_EQ(o.execution.memory_per_rank_mb, 1500.5);
  // --plan computes nothing, so it needs no OUTDIR.
  const Options p = parse({"m", "--plan"}).options;
  EXPECT_TRUE(p.plan);
  EXPECT_TRUE(p.outdir.empty());
}

TEST(CommandLine, EveryModuleGetsTheSameSharedSettings) {
  // The settings several modules need are copied into each module's struct once, after the
  // presets: nothing may disagree.
  for (const auto& args : std::vector<std::vector<const char*>>{
           {"m", "-o", "o"},
           {"m", "-o", "o", "--method", "cosvr", "--near-kernel-tau", "0.2"},
           {"m", "-o", "o", "--reference"},
           {"m", "-o", "o", "--sigma", "2.5", "--alpha", "0.1", "--fdr-scope", "pair"}}) {
    const Options o = parse(args).options;
    EXPECT_EQ(o.significance.method, o.network.read.method);
    EXPECT_EQ(o.plotting.method, o.network.read.method);
    EXPECT_EQ(o.plotting.batchnorm, o.network.read.batchnorm);
    EXPECT_EQ(o.plotting.near_kernel_tau, o.measures.near_kernel_tau);
    EXPECT_EQ(o.plotting.significance.correction, o.significance.correction);
    EXPECT_EQ(o.plotting.significance.sigma, o.significance.sigma);
    EXPECT_EQ(o.plotting.significance.alpha, o.significance.alpha);
    EXPECT_EQ(o.plotting.significance.fdr_scope, o.significance.fdr_scope);
  }
  const Options c = parse({"m", "-o", "o", "--method", "cosvr", "--plot-scale", "linear",
                           "--plot-max-edges", "5", "--no-plot"})
                        .options;
  EXPECT_EQ(c.method(), Method::Cosvr);
  EXPECT_FALSE(c.plotting.log_scale);
  EXPECT_EQ(c.plotting.max_edges, 5);
  EXPECT_FALSE(c.plot);
}

TEST(OptionsRecord, HoldsEveryResultDecidingOptionInItsOrder) {
  // summary.json's "options" object; --skip-complete compares it.
  const Options o = parse({"models/tiny_cnn.safetensors", "-o", "out", "--layers",
                           "a.weight,b.weight", "--method", "cosvr", "--sigma", "3",
                           "--max-rank", "128"})
                        .options;
  const nlohmann::ordered_json opt = options_record(o);
  std::vector<std::string> keys;
  for (const auto& item : opt.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"model_path",     "outdir",           "layers",
                                            "method",         "batchnorm",        "bn_eps",
                                            "residual_reach", "attention_heads",  "alpha",
                                            "correction",     "fdr_scope",        "sigma",
                                            "reference",      "max_rank",         "min_rank",
                                            "svd_tolerance",  "svd_max_cost",     "full_svd",
                                            "precision",      "truncated_svd",    "near_kernel_tau",
                                            "path_threshold", "top_chains",       "all_edges",
                                            "save_spectra",   "save_adjacency",   "force",
                                            "quiet",          "simulation_draws", "seed"}));
  EXPECT_EQ(opt["model_path"], "models/tiny_cnn.safetensors");
  EXPECT_EQ(opt["outdir"], "out");
  EXPECT_EQ(opt["layers"], nlohmann::ordered_json({"a.weight", "b.weight"}));
  EXPECT_EQ(opt["method"], "cosvr");
  EXPECT_EQ(opt["batchnorm"], "fold");
  EXPECT_EQ(opt["bn_eps"].get<double>(), 1e-5);
  EXPECT_EQ(opt["residual_reach"], 1);
  EXPECT_EQ(opt["attention_heads"], "whole");
  EXPECT_EQ(opt["alpha"].get<double>(), 0.05);
  EXPECT_EQ(opt["correction"], "none");  // implied by --sigma
  EXPECT_EQ(opt["fdr_scope"], "network");
  EXPECT_EQ(opt["sigma"].get<double>(), 3.0);
  EXPECT_EQ(opt["max_rank"], 128);
  EXPECT_EQ(opt["near_kernel_tau"].get<double>(), 1e-2);
  EXPECT_EQ(opt["top_chains"], 10);
  EXPECT_EQ(opt["all_edges"], false);
  EXPECT_EQ(opt["simulation_draws"], 1000000);
  EXPECT_EQ(opt["seed"].get<std::uint64_t>(), 20230216u);
  const nlohmann::ordered_json transformer = options_record(
      parse({"m", "-o", "o", "--residual-reach", "all", "--attention-heads", "split"}).options);
  EXPECT_EQ(transformer["residual_reach"], "all");
  EXPECT_EQ(transformer["attention_heads"], "split");
  const nlohmann::ordered_json defaults = options_record(parse({"m", "-o", "o"}).options);
  EXPECT_TRUE(defaults["sigma"].is_null());
  EXPECT_TRUE(defaults["max_rank"].is_null());
  EXPECT_TRUE(defaults["min_rank"].is_null());
  EXPECT_EQ(options_record(parse({"m", "-o", "o", "--min-rank", "9"}).options)["min_rank"], 9);
  // JSON has no NaN: a non-finite value is recorded as null.
  Options odd = o;
  odd.measures.path_threshold = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(options_record(odd)["path_threshold"].is_null());
}

TEST(CommandLine, QuotesTheCommandLine) {
  const char* argv[] = {"svr", "my model.pth", "-o", "it's"};
  EXPECT_EQ(quoted_command_line(4, argv), "svr 'my model.pth' -o 'it'\\''s'");
}

}  // namespace
}  // namespace svr

#include "svr/app/cli.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
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
  EXPECT_EQ(o.method, Method::Svr);
  EXPECT_EQ(o.batchnorm, BatchNormMode::Fold);
  EXPECT_DOUBLE_EQ(o.bn_eps, 1e-5);
  EXPECT_DOUBLE_EQ(o.alpha, 0.05);
  EXPECT_EQ(o.correction, Correction::BH);
  EXPECT_EQ(o.fdr_scope, FdrScope::Network);
  EXPECT_FALSE(o.sigma.has_value());
  EXPECT_FALSE(o.max_rank.has_value());
  EXPECT_DOUBLE_EQ(o.near_kernel_tau, 1e-2);
  EXPECT_FALSE(o.all_edges || o.save_spectra || o.save_adjacency || o.force || o.quiet);
}

TEST(CommandLine, ParsesEveryOption) {
  const Options o = parse({"m.pth", "--output", "o", "--method", "cosvr", "--batchnorm", "ignore",
                           "--bn-eps", "1e-3", "--alpha", "0.01", "--correction", "holm",
                           "--fdr-scope", "pair", "--max-rank", "7", "--near-kernel-tau", "0.1",
                           "--all-edges", "--save-spectra", "--save-adjacency", "--force",
                           "--quiet", "--layers", "a.weight, b.weight,c.weight", "--top-chains",
                           "3", "--path-threshold", "0.5"})
                        .options;
  EXPECT_EQ(o.method, Method::Cosvr);
  EXPECT_EQ(o.batchnorm, BatchNormMode::Ignore);
  EXPECT_DOUBLE_EQ(o.bn_eps, 1e-3);
  EXPECT_DOUBLE_EQ(o.alpha, 0.01);
  EXPECT_EQ(o.correction, Correction::Holm);
  EXPECT_EQ(o.fdr_scope, FdrScope::Pair);
  EXPECT_EQ(o.max_rank, 7);
  EXPECT_DOUBLE_EQ(o.near_kernel_tau, 0.1);
  EXPECT_TRUE(o.all_edges && o.save_spectra && o.save_adjacency && o.force && o.quiet);
  EXPECT_EQ(o.layers, (std::vector<std::string>{"a.weight", "b.weight", "c.weight"}));
  EXPECT_EQ(o.top_chains, 3);
  EXPECT_DOUBLE_EQ(o.path_threshold, 0.5);
}

TEST(CommandLine, LayersFromFile) {
  test::TempDir dir;
  const std::string path = dir / "svr_layers.txt";
  std::ofstream(path) << "# chain\nfeatures.0.weight\nfeatures.3.weight, classifier.0.weight\n";
  const std::string arg = "@" + path;
  const Options o = parse({"m", "-o", "o", "--layers", arg.c_str()}).options;
  EXPECT_EQ(o.layers, (std::vector<std::string>{"features.0.weight", "features.3.weight",
                                                "classifier.0.weight"}));
  std::remove(path.c_str());
  EXPECT_NE(error_of({"m", "-o", "o", "--layers", arg.c_str()}).find(path), std::string::npos);
}

TEST(CommandLine, ReferencePresetAndSigma) {
  const Options r = parse({"m", "-o", "o", "--reference"}).options;
  EXPECT_EQ(r.batchnorm, BatchNormMode::Ignore);
  EXPECT_EQ(r.max_rank, 128);
  EXPECT_EQ(r.sigma, 3.0);
  EXPECT_EQ(r.correction, Correction::None);
  const Options s = parse({"m", "-o", "o", "--sigma", "2"}).options;
  EXPECT_EQ(s.correction, Correction::None);
  EXPECT_EQ(parse({"m", "-o", "o", "--reference", "--max-rank", "64"}).options.max_rank, 64);
  EXPECT_NE(error_of({"m", "-o", "o", "--sigma", "2", "--correction", "bh"}).find("--sigma"),
            std::string::npos);
  EXPECT_NE(error_of({"m", "-o", "o", "--reference", "--batchnorm", "fold"}).find("--reference"),
            std::string::npos);
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
           {"m", "-o", "o", "--min-local-elements", "-1"}}) {
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
        "--plan"})
    EXPECT_NE(help.text.find(name), std::string::npos) << name;
  EXPECT_EQ(parse({"--version"}).action, CommandLine::Action::Version);
}

TEST(CommandLine, ExecutionOptions) {
  const Options d = parse({"m", "-o", "o"}).options;
  EXPECT_EQ(d.scalapack_min_dim, 8192);
  EXPECT_EQ(d.block_size, 64);
  EXPECT_EQ(d.max_grids, 0);
  EXPECT_EQ(d.memory_per_rank_mb, 0.0);
  EXPECT_EQ(d.min_local_elements, 1048576.0);
  EXPECT_FALSE(d.plan);
  const Options o = parse({"m", "-o", "o", "--scalapack-min-dim", "1", "--block-size", "3",
                           "--max-grids", "2", "--memory-per-rank", "1500.5"})
                        .options;
  EXPECT_EQ(o.scalapack_min_dim, 1);
  EXPECT_EQ(o.block_size, 3);
  EXPECT_EQ(o.max_grids, 2);
  EXPECT_DOUBLE_EQ(o.memory_per_rank_mb, 1500.5);
  // --plan computes nothing, so it needs no OUTDIR.
  const Options p = parse({"m", "--plan"}).options;
  EXPECT_TRUE(p.plan);
  EXPECT_TRUE(p.outdir.empty());
}

TEST(CommandLine, QuotesTheCommandLine) {
  const char* argv[] = {"svr", "my model.pth", "-o", "it's"};
  EXPECT_EQ(quoted_command_line(4, argv), "svr 'my model.pth' -o 'it'\\''s'");
}

}  // namespace
}  // namespace svr

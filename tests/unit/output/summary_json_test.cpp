// summary.json parsed back with nlohmann::json.
#include <nlohmann/json.hpp>

#include "svr/output/summary_json.hpp"
#include "test_support.hpp"

namespace svr {
namespace {

using Json = nlohmann::ordered_json;

// The options object as the command line records it (app/options.hpp options_record; its own
// test checks what it holds): the writer copies it as given.
Json record() { return Json{{"model_path", "models/tiny_cnn.safetensors"}, {"alpha", 0.05}}; }

Json write_and_parse(const SvrResult& r, std::string* text_out = nullptr,
                     Method method = Method::Svr) {
  test::TempDir dir;
  write_summary_json(dir / "summary.json", r, record(), method);
  const std::string text = test::read_file(dir / "summary.json");
  if (text_out != nullptr) *text_out = text;
  return Json::parse(text);
}

TEST(SummaryJson, TopLevelAndOptions) {
  std::string text;
  const Json j = write_and_parse(test::sample_result(), &text, Method::Cosvr);
  EXPECT_FALSE(test::contains_nan(text));
  EXPECT_EQ(text.back(), '\n');
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"schema_version", "model", "method", "network",
                                            "options", "layers", "tested_family", "pairs",
                                            "path_metric", "top_chains", "run"}));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["model"], "tiny_cnn.safetensors");
  EXPECT_EQ(j["method"], "cosvr");
  EXPECT_EQ(j["options"], record());  // as given, in its order
  EXPECT_EQ(write_and_parse(test::sample_result())["method"], "svr");
}

TEST(SummaryJson, NetworkSource) {
  SvrResult r = test::sample_result();
  r.network.source = "names";
  EXPECT_EQ(write_and_parse(r)["network"], Json({{"kind", "chain"}, {"source", "names"}}));
  r.network = NetworkSource{"family", "torchvision ResNet", "", true};
  EXPECT_EQ(write_and_parse(r)["network"],
            Json({{"kind", "graph"}, {"source", "family"}, {"family", "torchvision ResNet"}}));
  r.network = NetworkSource{"topology", "", "net.topology.json", true};
  EXPECT_EQ(write_and_parse(r)["network"],
            Json({{"kind", "graph"}, {"source", "topology"}, {"topology", "net.topology.json"}}));
}

TEST(SummaryJson, Layers) {
  const SvrResult r = test::sample_result();
  const Json layers = write_and_parse(r)["layers"];
  ASSERT_EQ(layers.size(), 3u);
  const Json& a = layers[0];
  EXPECT_EQ(a["index"], 0);
  EXPECT_EQ(a["name"], test::kCommaName);
  EXPECT_EQ(a["kind"], "conv2d");
  EXPECT_EQ(a["tensor_shape"], Json({3, 2, 2, 2}));
  EXPECT_EQ(a["matrix_shape"], Json({3, 8}));
  EXPECT_EQ(a["rank"], 3);
  EXPECT_EQ(a["kept"], 3);
  EXPECT_EQ(a["s_max"].get<double>(), 3.0);
  EXPECT_EQ(a["s_min"].get<double>(), 0.01);
  EXPECT_EQ(a["near_kernel_count"], 1);
  EXPECT_EQ(a["folded_bn"], "features.1");
  EXPECT_EQ(layers[1]["name"], test::kQuoteName);
  EXPECT_TRUE(layers[1]["folded_bn"].is_null());
  EXPECT_EQ(layers[1]["s_min"].get<double>(), 1e-300);
  EXPECT_EQ(layers[2]["s_max"].get<double>(), 0.0);
  EXPECT_EQ(layers[2]["near_kernel_count"], 2);
  // How the SVD was computed: a full SVD has no residual and no fallback.
  EXPECT_EQ(a["svd"], Json({{"method", nullptr},
                            {"precision", "double"},
                            {"iterations", 0},
                            {"residual", nullptr},
                            {"fallback", nullptr},
                            {"fallback_cost", false}}));
}

TEST(SummaryJson, SvdRecordAndTestedFamily) {
  SvrResult r = test::sample_result();
  r.layers[0].svd = {"lapack-krylov", 7, 3.5e-13, "", false};
  r.layers[1].svd = {"lapack-full", 0, std::nullopt, "the matrix is zero", false};
  r.layers[2].svd = {"lapack-full", 0, std::nullopt, "K = 9 is too large a part", true, "single"};
  const Json j = write_and_parse(r);
  EXPECT_EQ(j["layers"][0]["svd"], Json({{"method", "lapack-krylov"},
                                         {"precision", "double"},
                                         {"iterations", 7},
                                         {"residual", 3.5e-13},
                                         {"fallback", nullptr},
                                         {"fallback_cost", false}}));
  EXPECT_EQ(j["layers"][1]["svd"], Json({{"method", "lapack-full"},
                                         {"precision", "double"},
                                         {"iterations", 0},
                                         {"residual", nullptr},
                                         {"fallback", "the matrix is zero"},
                                         {"fallback_cost", false}}));
  EXPECT_EQ(j["layers"][2]["svd"]["fallback"], "K = 9 is too large a part");
  EXPECT_EQ(j["layers"][2]["svd"]["fallback_cost"], true);
  EXPECT_EQ(j["layers"][2]["svd"]["precision"], "single");
  // Every layer kept all its triplets in the sample; keeping fewer (--max-rank) says so.
  EXPECT_EQ(j["tested_family"], "every testable edge between the layers' spectral neurons");
  r.layers[0].full_rank = 5;
  EXPECT_EQ(write_and_parse(r)["tested_family"],
            "every testable edge between the kept spectral neurons (1 of 3 layers kept only "
            "their top singular triplets, --max-rank)");
}

TEST(SummaryJson, PairsAndNullLaws) {
  SvrResult r = test::sample_result();
  const Json pairs = write_and_parse(r)["pairs"];
  ASSERT_EQ(pairs.size(), 2u);
  const Json& p = pairs[0];
  EXPECT_EQ(p["index"], 0);
  EXPECT_EQ(p["from_layer"], 0);
  EXPECT_EQ(p["to_layer"], 1);
  EXPECT_EQ(p["from_name"], test::kCommaName);
  EXPECT_EQ(p["to_name"], test::kQuoteName);
  EXPECT_EQ(p["c"], 3);
  EXPECT_EQ(p["z"], 1);
  EXPECT_EQ(p["z_u"], 1);
  EXPECT_EQ(p["z_v"], 1);
  EXPECT_EQ(p["null"], Json({{"kind", "beta"}, {"a", 0.5}, {"b", 1.0}}));
  EXPECT_EQ(p["edges_tested"], 9);
  EXPECT_EQ(p["significant"], 2);
  EXPECT_EQ(p["edges_reported"], 3);
  EXPECT_EQ(p["internal_dims"], Json({{"to", 2}, {"from", 1}}));
  EXPECT_EQ(p["entropy"].get<double>(), 1.25);
  EXPECT_EQ(p["entropy_normalized"].get<double>(), 1.25 / std::log(9.0));
  EXPECT_EQ(pairs[1]["null"], Json({{"kind", "untestable"}}));

  r.pairs[0].null_kind = NullKind::Simulated;
  r.pairs[0].simulation_draws = 1000000;
  r.pairs[1].null_kind = NullKind::ChiSquare;
  r.pairs[1].e_threshold = 0.75;
  const Json other = write_and_parse(r)["pairs"];
  EXPECT_EQ(other[0]["null"], Json({{"kind", "simulated"}, {"draws", 1000000}}));
  EXPECT_EQ(other[1]["null"], Json({{"kind", "chi2"}, {"e_threshold", 0.75}}));
}

TEST(SummaryJson, MetricsChainsRunAndNonFiniteAsNull) {
  std::string text;
  const Json j = write_and_parse(test::sample_result(), &text);
  EXPECT_TRUE(j["path_metric"]["log10_weighted"].is_null());  // -inf
  EXPECT_EQ(j["path_metric"]["log10_unweighted"].get<double>(), 1.2345);
  EXPECT_EQ(text.find("inf"), std::string::npos);
  ASSERT_EQ(j["top_chains"].size(), 1u);
  EXPECT_EQ(j["top_chains"][0], Json({{"start_layer", 0},
                                      {"end_layer", 2},
                                      {"length", 3},
                                      {"layers", {0, 1, 2}},
                                      {"neurons", {0, 0, 1}},
                                      {"weakest_log10_p", -700.0}}));
  const Json& run = j["run"];
  EXPECT_EQ(run["version"], "0.1.0");
  EXPECT_EQ(run["command_line"], "svr tiny_cnn.safetensors -o \"out dir\"");
  EXPECT_EQ(run["input_sha256"], std::string(64, 'a'));
  EXPECT_EQ(run["input_format"], "safetensors");
  EXPECT_EQ(run["ranks"], 2);
  // Repeated phases are summed, in first-seen order.
  EXPECT_EQ(run["seconds_per_phase"], Json({{"read", 0.5}, {"svd", 2.0}, {"edges", 0.25}}));
  EXPECT_EQ(run["peak_memory_mb"].get<double>(), 12.5);
  EXPECT_FALSE(run.contains("execution"));  // no plan recorded in the sample
  // The build record, one key per BuildInfo field.
  SvrResult built = test::sample_result();
  built.run.build = {"0.1.0",          "0123456789ab",    "GNU 12.2.0",
                     "Release",        "Open MPI v4.1.4", "OpenBLAS (/b.so)",
                     "3.11.0 (/l.so)", "/s.so",           "SLEPc 3.18.2, PETSc 3.18.5 (/p.so)"};
  EXPECT_EQ(write_and_parse(built, &text)["run"]["build"],
            Json({{"version", "0.1.0"},
                  {"git_commit", "0123456789ab"},
                  {"compiler", "GNU 12.2.0"},
                  {"build_type", "Release"},
                  {"mpi", "Open MPI v4.1.4"},
                  {"blas", "OpenBLAS (/b.so)"},
                  {"lapack", "3.11.0 (/l.so)"},
                  {"scalapack", "/s.so"},
                  {"slepc", "SLEPc 3.18.2, PETSc 3.18.5 (/p.so)"}}));

  SvrResult planned = test::sample_result();
  planned.run.memory_budget_mb = 1536.0;
  planned.run.placements = {{"lapack", 1, 0, 0, -1}, {"scalapack", 2, 1, 2, 0}};
  const Json p = write_and_parse(planned, &text)["run"]["execution"];
  EXPECT_EQ(p["memory_budget_mb"].get<double>(), 1536.0);
  ASSERT_EQ(p["layers"].size(), 2u);
  EXPECT_EQ(p["layers"][0], Json({{"engine", "lapack"}, {"rank", 1}}));
  EXPECT_EQ(p["layers"][1],
            Json({{"engine", "scalapack"}, {"rank", 2}, {"team", 0}, {"grid", {1, 2}}}));

  SvrResult nan_result = test::sample_result();
  nan_result.pairs[0].entropy = std::nan("");
  nan_result.run.phases.push_back({"edges", std::nan("")});
  const Json k = write_and_parse(nan_result, &text);
  EXPECT_TRUE(k["pairs"][0]["entropy"].is_null());
  EXPECT_TRUE(k["run"]["seconds_per_phase"]["edges"].is_null());
  EXPECT_FALSE(test::contains_nan(text));
}

TEST(SummaryJson, InvalidUtf8InANameDoesNotAbortTheRun) {
  SvrResult r = test::sample_result();
  r.layers[0].name = "bad\xFF.weight";
  const Json j = write_and_parse(r);
  EXPECT_EQ(j["layers"][0]["name"], "bad\xEF\xBF\xBD.weight");
}

}  // namespace
}  // namespace svr

// `svr aggregate` end to end in-process: tables cell by cell, skipped runs, errors that leave no
// table behind, usage errors.
#include <functional>

#include "aggregate_test_support.hpp"

namespace svr {
namespace {

const std::vector<std::string> kPairColumns = {"run_index",
                                               "run_dir",
                                               "model",
                                               "input_sha256",
                                               "pair",
                                               "from_layer",
                                               "to_layer",
                                               "from_name",
                                               "to_name",
                                               "c",
                                               "z",
                                               "null_kind",
                                               "edges_tested",
                                               "significant",
                                               "fraction_significant",
                                               "edges_reported",
                                               "internal_dim_from",
                                               "internal_dim_to",
                                               "entropy",
                                               "entropy_normalized"};

const std::vector<std::string> kModelColumns = {"run_index",
                                                "run_dir",
                                                "model",
                                                "input_sha256",
                                                "input_format",
                                                "method",
                                                "correction",
                                                "fdr_scope",
                                                "alpha",
                                                "sigma",
                                                "layers",
                                                "pairs",
                                                "spectral_neurons",
                                                "rank_total",
                                                "near_kernel",
                                                "edges_tested",
                                                "significant",
                                                "fraction_significant",
                                                "log10_path_weighted",
                                                "log10_path_unweighted",
                                                "chains",
                                                "longest_chain",
                                                "mpi_ranks",
                                                "wall_seconds",
                                                "seconds_read",
                                                "seconds_checksum",
                                                "seconds_svd",
                                                "seconds_edges",
                                                "seconds_significance",
                                                "peak_memory_mb",
                                                "version"};

// Three runs of a sweep: 2-b has four layers, 10-c a null weighted path metric.
void make_sweep(const std::string& root) {
  test::ModelSpec a;
  a.model = "ckpt_step100.safetensors";
  a.sha256 = std::string(64, 'a');
  test::write_run(root + "/0-a", a);
  test::ModelSpec b;
  b.model = "ckpt_step200.safetensors";
  b.layers = {"fc1.weight", "fc2.weight", "fc3.weight", "fc4.weight"};
  b.significant = {3, 0, 7};
  b.entropy_normalized = {0.25, 0.5, 0.125};
  test::write_run(root + "/2-b", b);
  test::ModelSpec c;
  c.model = "ckpt_step300.safetensors";
  c.significant = {1, 12};
  c.log10_weighted = -std::numeric_limits<double>::infinity();
  test::write_run(root + "/10-c", c);
}

TEST(AggregateCli, PairsTableCells) {
  test::TempDir dir;
  make_sweep(dir / "out");
  const auto result = test::aggregate({dir / "out", "-o", dir / "sweep.csv"});
  ASSERT_EQ(result.code, 0) << result.err;
  const test::Table t(test::read_file(dir / "sweep.csv"));
  EXPECT_EQ(t.header, kPairColumns);
  ASSERT_EQ(t.rows.size(), 2u + 3u + 2u);
  // Order: run 0, then 2, then 10 (numeric, not "10" < "2"); pairs in chain order.
  std::vector<std::string> order;
  for (std::size_t k = 0; k < t.rows.size(); ++k)
    order.push_back(t.at(k, "run_index") + "/" + t.at(k, "pair"));
  EXPECT_EQ(order, (std::vector<std::string>{"0/0", "0/1", "2/0", "2/1", "2/2", "10/0", "10/1"}));

  const std::vector<std::string> first = {"0",
                                          dir / "out/0-a",
                                          "ckpt_step100.safetensors",
                                          std::string(64, 'a'),
                                          "0",
                                          "0",
                                          "1",
                                          "fc1.weight",
                                          "fc2.weight",
                                          "4",
                                          "1",
                                          "beta",
                                          "12",
                                          "2",
                                          "0.16666666666666666",
                                          "1",
                                          "2",
                                          "1",
                                          "1",
                                          "0.5"};
  EXPECT_EQ(t.rows[0], first);
  EXPECT_EQ(t.at(1, "edges_tested"), "20");  // 4 x 5 neurons
  EXPECT_EQ(t.at(1, "significant"), "5");
  EXPECT_EQ(t.at(1, "fraction_significant"), "0.25");
  EXPECT_EQ(t.at(1, "entropy_normalized"), "0.75");
  EXPECT_EQ(t.at(4, "to_name"), "fc4.weight");
  EXPECT_EQ(t.at(4, "edges_tested"), "30");
  EXPECT_EQ(t.at(4, "entropy"), "0.25");
  EXPECT_EQ(t.at(6, "significant"), "12");
  EXPECT_EQ(test::to_double(t.at(6, "fraction_significant")), 12.0 / 20.0);
  EXPECT_NE(result.err.find("3 runs, 7 pair rows"), std::string::npos) << result.err;
}

TEST(AggregateCli, ModelsTableCells) {
  test::TempDir dir;
  make_sweep(dir / "out");
  ASSERT_EQ(test::aggregate({dir / "out", "-o", dir / "sweep.csv", "--no-plot"}).code, 0);
  const test::Table t(test::read_file(dir / "sweep-models.csv"));
  EXPECT_EQ(t.header, kModelColumns);
  ASSERT_EQ(t.rows.size(), 3u);
  const std::vector<std::string> first = {
      "0",
      dir / "out/0-a",
      "ckpt_step100.safetensors",
      std::string(64, 'a'),
      "safetensors",
      "svr",
      "bh",
      "network",
      "0.05",
      "",
      "3",
      "2",
      "12",
      "12",
      "2",  // layers, pairs, 3+4+5 kept, ranks, near-kernel in 1 and 2
      "32",
      "7",
      "0.21875",  // 12 + 20 tested, 2 + 5 significant
      "1.5",
      "0.25",
      "2",
      "3",
      "2",  // path metrics, chains, longest chain, MPI ranks
      "3",
      "0.5",
      "0.375",
      "1.75",
      "0.25",
      "0.125",  // svd twice: 1.25 + 0.5
      "12.5",
      "0.1.0"};
  EXPECT_EQ(t.rows[0], first);
  EXPECT_EQ(t.at(1, "layers"), "4");
  EXPECT_EQ(t.at(1, "spectral_neurons"), "18");
  EXPECT_EQ(t.at(1, "near_kernel"), "3");
  EXPECT_EQ(t.at(1, "edges_tested"), "62");
  EXPECT_EQ(t.at(1, "significant"), "10");
  EXPECT_EQ(t.at(2, "run_index"), "10");
  EXPECT_EQ(t.at(2, "log10_path_weighted"), "");  // null in summary.json (-inf)
  EXPECT_EQ(t.at(2, "log10_path_unweighted"), "0.25");
  EXPECT_EQ(test::list_dir(dir.path()),
            (std::vector<std::string>{"out", "sweep-models.csv", "sweep.csv"}));
}

TEST(AggregateCli, CsvQuotingRoundTrips) {
  test::TempDir dir;
  test::ModelSpec spec;
  spec.model = "net, \"v2\".safetensors";
  spec.layers = {"features.0,weight", " padded ", "classifier.\"1\".weight"};
  test::write_run(dir / "out/0-odd, name", spec);
  ASSERT_EQ(test::aggregate({dir / "out", "-o", dir / "t.csv", "--no-plot"}).code, 0);
  const std::string text = test::read_file(dir / "t.csv");
  EXPECT_NE(text.find("\"net, \"\"v2\"\".safetensors\""), std::string::npos) << text;
  EXPECT_NE(text.find("\" padded \""), std::string::npos) << text;  // spaces kept by quoting
  const test::Table t(text);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.at(0, "run_dir"), dir / "out/0-odd, name");
  EXPECT_EQ(t.at(0, "model"), spec.model);
  EXPECT_EQ(t.at(0, "from_name"), spec.layers[0]);
  EXPECT_EQ(t.at(0, "to_name"), spec.layers[1]);
  EXPECT_EQ(t.at(1, "to_name"), spec.layers[2]);
  const test::Table models(test::read_file(dir / "t-models.csv"));
  EXPECT_EQ(models.at(0, "model"), spec.model);
}

TEST(AggregateCli, IncompleteRunsWarnOrFailWithStrict) {
  test::TempDir dir;
  make_sweep(dir / "out");
  test::write_run(dir / "out/3-d.partial-4242-beef");
  std::filesystem::create_directories(dir / "out/4-e");
  auto result = test::aggregate({dir / "out", "-o", dir / "t.csv", "--no-plot"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.err.find("warning: 2 incomplete runs skipped"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(dir / "out/3-d.partial-4242-beef: staging"), std::string::npos);
  EXPECT_NE(result.err.find(dir / "out/4-e: no summary.json"), std::string::npos);
  EXPECT_EQ(test::Table(test::read_file(dir / "t.csv")).rows.size(), 7u);

  std::filesystem::remove(dir / "t.csv");
  std::filesystem::remove(dir / "t-models.csv");
  result = test::aggregate({dir / "out", "-o", dir / "t.csv", "--strict"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("error: 2 incomplete runs (--strict)"), std::string::npos)
      << result.err;
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"out"}));
}

// Replaces the first occurrence of `from` in DIR/summary.json.
void edit_summary(const std::string& dir, const std::string& from, const std::string& to) {
  std::string text = test::read_file(dir + "/summary.json");
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  test::write_file(dir + "/summary.json", text);
}

// A malformed summary.json: exit 1, one line naming the file and the problem, and the previous
// table (here: none for TABLE, an old one for the second case) left as it was.
void expect_rejected(const std::string& problem,
                     const std::function<void(const std::string&)>& damage) {
  test::TempDir dir;
  make_sweep(dir / "out");
  damage(dir / "out/2-b");
  const auto result = test::aggregate({dir / "out", "-o", dir / "t.csv"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(test::count(result.err, "\n"), 1u) << result.err;
  EXPECT_EQ(result.err.rfind("svr aggregate: " + dir / "out/2-b/summary.json: ", 0), 0u)
      << result.err;
  EXPECT_NE(result.err.find(problem), std::string::npos) << result.err;
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"out"}));

  test::write_file(dir / "t.csv", "old table\n");
  EXPECT_EQ(test::aggregate({dir / "out", "-o", dir / "t.csv"}).code, 1);
  EXPECT_EQ(test::read_file(dir / "t.csv"), "old table\n");
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"out", "t.csv"}));
}

TEST(AggregateCli, MalformedSummaryLeavesNoTable) {
  expect_rejected("malformed: invalid JSON", [](const std::string& run) {
    const std::string text = test::read_file(run + "/summary.json");
    test::write_file(run + "/summary.json", text.substr(0, text.size() / 2));  // truncated
  });
  expect_rejected("pairs[1].significant: expected an integer, found string",
                  [](const std::string& run) {
                    edit_summary(run, "\"significant\": 0", "\"significant\": \"0\"");
                  });
  expect_rejected("run.input_sha256: missing",
                  [](const std::string& run) { edit_summary(run, "\"input_sha256\"", "\"sha\""); });
  expect_rejected("schema_version: unsupported version 2", [](const std::string& run) {
    edit_summary(run, "\"schema_version\": 1", "\"schema_version\": 2");
  });
  expect_rejected("duplicate key \"model\"", [](const std::string& run) {
    edit_summary(run, "\"method\":", "\"model\": \"x\", \"method\":");
  });
  expect_rejected("pairs[2].significant: 31 exceeds edges_tested 30", [](const std::string& run) {
    edit_summary(run, "\"significant\": 7", "\"significant\": 31");
  });
  expect_rejected("pairs: 2 pairs for 4 layers", [](const std::string& run) {
    std::string text = test::read_file(run + "/summary.json");
    // Drop the last pair object from the list.
    const auto last = text.rfind("{\n      \"index\": 2");
    const auto end = text.find("\n  ],\n  \"path_metric\"");
    ASSERT_NE(last, std::string::npos);
    ASSERT_NE(end, std::string::npos);
    const auto comma = text.rfind(',', last);
    text.erase(comma, end - comma);
    test::write_file(run + "/summary.json", text);
  });
  expect_rejected("malformed: invalid JSON",
                  [](const std::string& run) { test::write_file(run + "/summary.json", ""); });
}

TEST(AggregateCli, ExistingOutputsAreReplacedWhole) {
  test::TempDir dir;
  make_sweep(dir / "out");
  test::write_file(dir / "t.csv", "old table with a longer text than the new one will have? no\n");
  test::write_file(dir / "t-significant.svg", "old");
  ASSERT_EQ(test::aggregate({dir / "out", "-o", dir / "t.csv"}).code, 0);
  EXPECT_EQ(test::read_file(dir / "t.csv").rfind("run_index,", 0), 0u);
  EXPECT_EQ(test::read_file(dir / "t-significant.svg").rfind("<?xml", 0), 0u);
  EXPECT_EQ(test::list_dir(dir.path()),
            (std::vector<std::string>{"out", "t-entropy.svg", "t-models.csv", "t-models.svg",
                                      "t-significant.svg", "t.csv"}));
}

TEST(AggregateCli, TableNameWithoutCsvSuffix) {
  test::TempDir dir;
  make_sweep(dir / "out");
  ASSERT_EQ(test::aggregate({dir / "out", "--output=" + dir / "sweep", "--no-plot"}).code, 0);
  EXPECT_EQ(test::list_dir(dir.path()),
            (std::vector<std::string>{"out", "sweep", "sweep-models.csv"}));
}

TEST(AggregateCli, UnwritableTableIsAnError) {
  test::TempDir dir;
  make_sweep(dir / "out");
  auto result = test::aggregate({dir / "out", "-o", dir / "missing/t.csv"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find(dir / "missing/t.csv: cannot open for writing"), std::string::npos)
      << result.err;
  std::filesystem::create_directories(dir / "adir.csv");
  result = test::aggregate({dir / "out", "-o", dir / "adir.csv", "--no-plot"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("is a directory"), std::string::npos) << result.err;
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"adir.csv", "out"}));
}

TEST(AggregateCli, NothingToAggregate) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "out/0-a");
  auto result = test::aggregate({dir / "out", "-o", dir / "t.csv"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("no finished run"), std::string::npos) << result.err;
  result = test::aggregate({dir / "nowhere", "-o", dir / "t.csv"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "svr aggregate: " + dir / "nowhere" + ": no such directory\n");
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"out"}));
}

TEST(AggregateCli, UsageErrorsExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "no run directory or root given"},
      {{"out"}, "-o TABLE.csv is required"},
      {{"out", "-o"}, "-o: missing value"},
      {{"out", "-o", "t.csv", "--bogus"}, "unknown option '--bogus'"},
      {{"out", "-o", "t.csv", "--x", "time"},
       "--x: unknown value 'time'; expected index, order or number"},
      {{"out", "-o", "t.csv", "--no-plot=1"}, "--no-plot: takes no value"},
      {{"out", "-o", "a.csv", "-o", "b.csv"}, "-o: given twice"},
  };
  for (const auto& [args, message] : cases) {
    const auto result = test::aggregate(args);
    EXPECT_EQ(result.code, 2) << message;
    EXPECT_EQ(result.err, "svr aggregate: " + message + " (see svr aggregate --help)\n");
    EXPECT_EQ(result.out, "");
  }
}

TEST(AggregateCli, HelpNamesEveryOption) {
  const auto result = test::aggregate({"--help"});
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(result.err, "");
  for (const char* text :
       {"Usage: svr aggregate", "-o, --output", "--no-plot", "--x index|order|number", "--strict",
        "-h, --help", "TABLE-models.csv", "TABLE-significant.svg", "TABLE-entropy.svg",
        "TABLE-models.svg", "Exit status"}) {
    EXPECT_NE(result.out.find(text), std::string::npos) << text;
  }
  EXPECT_EQ(test::aggregate({"out", "-h"}).code, 0);
}

TEST(AggregateCli, DoubleDashEndsOptions) {
  test::TempDir dir;
  test::write_run(dir / "-odd");
  // A relative name starting with '-' is an option unless it follows "--".
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  const auto rejected = test::aggregate({"-o", "t.csv", "--no-plot", "-odd"});
  const auto result = test::aggregate({"-o", "t.csv", "--no-plot", "--", "-odd"});
  std::filesystem::current_path(previous);
  EXPECT_EQ(rejected.code, 2);
  EXPECT_NE(rejected.err.find("-o: given twice"), std::string::npos) << rejected.err;
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(test::Table(test::read_file(dir / "t.csv")).at(0, "run_dir"), "-odd");
}

}  // namespace
}  // namespace svr

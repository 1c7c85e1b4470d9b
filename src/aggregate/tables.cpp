// TABLE.csv (one row per model and pair) and TABLE-models.csv (one row per model): tidy tables
// that pandas, R or a spreadsheet read without reshaping. Columns: docs/aggregate.md.
#include <array>

#include "svr/aggregate/aggregate.hpp"
#include "svr/output/format.hpp"

namespace svr::aggregate {

namespace {

// The phases svr times (docs/output-formats.md, run.seconds_per_phase), one column each so that
// the table has the same columns whatever the runs hold; all phases count in wall_seconds.
constexpr std::array<const char*, 5> kPhases = {"read", "checksum", "svd", "edges", "significance"};

class Row {
 public:
  explicit Row(std::string& out) : out_(out) {}
  ~Row() { out_ += '\n'; }
  Row(const Row&) = delete;
  Row& operator=(const Row&) = delete;

  Row& text(const std::string& value) {
    separate();
    output::append_csv_field(out_, value);
    return *this;
  }
  Row& integer(std::int64_t value) {
    separate();
    out_ += std::to_string(value);
    return *this;
  }
  Row& index(const std::optional<std::int64_t>& value) {
    separate();
    if (value) out_ += std::to_string(*value);
    return *this;
  }
  // Empty field for nothing (null in summary.json) and for NaN, as in svr's own CSV files.
  Row& number(const std::optional<double>& value) {
    separate();
    if (value) output::append_csv_number(out_, *value);
    return *this;
  }

 private:
  void separate() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
};

std::optional<double> fraction(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

void run_columns(Row& row, const RunSummary& run) {
  row.index(run.dir.index).text(run.dir.path).text(run.model).text(run.input_sha256);
}

}  // namespace

std::string pairs_table(const std::vector<RunSummary>& runs) {
  std::string out =
      "run_index,run_dir,model,input_sha256,pair,from_layer,to_layer,from_name,to_name,c,z,"
      "null_kind,edges_tested,significant,fraction_significant,edges_reported,"
      "internal_dim_from,internal_dim_to,entropy,entropy_normalized\n";
  for (const RunSummary& run : runs) {
    for (const PairRow& p : run.pairs) {
      Row row(out);
      run_columns(row, run);
      row.integer(p.index).integer(p.from_layer).integer(p.to_layer);
      row.text(p.from_name).text(p.to_name).integer(p.c).integer(p.z).text(p.null_kind);
      row.integer(p.edges_tested).integer(p.significant);
      row.number(fraction(p.significant, p.edges_tested)).integer(p.edges_reported);
      row.integer(p.internal_dim_from).integer(p.internal_dim_to);
      row.number(p.entropy).number(p.entropy_normalized);
    }
  }
  return out;
}

std::string models_table(const std::vector<RunSummary>& runs) {
  std::string out =
      "run_index,run_dir,model,input_sha256,input_format,method,correction,fdr_scope,alpha,sigma,"
      "layers,pairs,spectral_neurons,rank_total,near_kernel,edges_tested,significant,"
      "fraction_significant,log10_path_weighted,log10_path_unweighted,chains,longest_chain,"
      "mpi_ranks,wall_seconds";
  for (const char* phase : kPhases) out += std::string(",seconds_") + phase;
  out += ",peak_memory_mb,version\n";
  for (const RunSummary& run : runs) {
    std::int64_t tested = 0, significant = 0;
    for (const PairRow& p : run.pairs) {
      tested += p.edges_tested;
      significant += p.significant;
    }
    // A phase whose time is null (not finite) makes the total unknown, not smaller.
    std::optional<double> wall = 0.0;
    for (const auto& [name, seconds] : run.seconds_per_phase) {
      wall = (wall && seconds) ? std::optional<double>(*wall + *seconds) : std::nullopt;
    }

    Row row(out);
    run_columns(row, run);
    row.text(run.input_format).text(run.method).text(run.correction).text(run.fdr_scope);
    row.number(run.alpha).number(run.sigma);
    row.integer(run.layers).integer(static_cast<std::int64_t>(run.pairs.size()));
    row.integer(run.spectral_neurons).integer(run.rank_total).integer(run.near_kernel);
    row.integer(tested).integer(significant).number(fraction(significant, tested));
    row.number(run.log10_path_weighted).number(run.log10_path_unweighted);
    row.integer(run.chains).integer(run.longest_chain).integer(run.mpi_ranks);
    row.number(wall);
    for (const char* phase : kPhases) {
      std::optional<double> seconds;
      for (const auto& [name, value] : run.seconds_per_phase) {
        if (name == phase) seconds = value;
      }
      row.number(seconds);
    }
    row.number(run.peak_memory_mb).text(run.version);
  }
  return out;
}

}  // namespace svr::aggregate

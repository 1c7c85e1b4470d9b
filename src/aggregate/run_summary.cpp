// Reading summary.json back: every field the tables use is checked for presence and type, so a
// hand-edited or truncated file is named with the offending field instead of giving a table
// with silently missing or wrong cells.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "svr/aggregate/aggregate.hpp"
#include "svr/core/error.hpp"
#include "svr/io/strict_json.hpp"

namespace svr::aggregate {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kSchemaVersion = 1;

const char* type_name(const Json& j) {
  if (j.is_number_integer()) return "integer";
  if (j.is_number_float()) return "number";
  return j.type_name();  // "null", "string", "object", ...
}

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& problem) const {
    throw_input(file_, "", where.empty() ? problem : where + ": " + problem);
  }

  const Json& field(const Json& object, const std::string& key, const std::string& where) const {
    if (!object.is_object())
      fail(where, std::string("expected an object, found ") + type_name(object));
    const auto it = object.find(key);
    if (it == object.end()) fail(join(where, key), "missing");
    return *it;
  }

  const Json& object(const Json& parent, const std::string& key, const std::string& where) const {
    const Json& j = field(parent, key, where);
    if (!j.is_object()) expected(join(where, key), "an object", j);
    return j;
  }

  const Json& array(const Json& parent, const std::string& key, const std::string& where) const {
    const Json& j = field(parent, key, where);
    if (!j.is_array()) expected(join(where, key), "a list", j);
    return j;
  }

  std::string string(const Json& parent, const std::string& key, const std::string& where) const {
    const Json& j = field(parent, key, where);
    if (!j.is_string()) expected(join(where, key), "a string", j);
    return j.get<std::string>();
  }

  // Counts and indices: JSON integers that fit int64 and are not negative.
  std::int64_t count(const Json& parent, const std::string& key, const std::string& where) const {
    const Json& j = field(parent, key, where);
    if (j.is_number_unsigned()) {
      const auto value = j.get<std::uint64_t>();
      if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(join(where, key), "integer out of range");
      return static_cast<std::int64_t>(value);
    }
    if (j.is_number_integer()) {
      if (j.get<std::int64_t>() < 0) fail(join(where, key), "negative");
      return j.get<std::int64_t>();
    }
    expected(join(where, key), "an integer", j);
  }

  // A number, or nothing for null (the writer's spelling of NaN and infinities).
  std::optional<double> number_or_null(const Json& parent, const std::string& key,
                                       const std::string& where) const {
    const Json& j = field(parent, key, where);
    if (j.is_null()) return std::nullopt;
    if (!j.is_number()) expected(join(where, key), "a number or null", j);
    return j.get<double>();
  }

  static std::string join(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }
  static std::string item(const std::string& where, std::size_t k) {
    return where + "[" + std::to_string(k) + "]";
  }

 private:
  [[noreturn]] void expected(const std::string& where, const char* what, const Json& found) const {
    fail(where, std::string("expected ") + what + ", found " + type_name(found));
  }

  std::string file_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_input(path, "", std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw_input(path, "", "read failed");
  return text.str();
}

PairRow read_pair(const Reader& in, const Json& j, const std::string& where) {
  PairRow p;
  p.index = in.count(j, "index", where);
  p.from_layer = in.count(j, "from_layer", where);
  p.to_layer = in.count(j, "to_layer", where);
  p.from_name = in.string(j, "from_name", where);
  p.to_name = in.string(j, "to_name", where);
  p.c = in.count(j, "c", where);
  p.z = in.count(j, "z", where);
  p.null_kind = in.string(in.object(j, "null", where), "kind", Reader::join(where, "null"));
  p.edges_tested = in.count(j, "edges_tested", where);
  p.significant = in.count(j, "significant", where);
  p.edges_reported = in.count(j, "edges_reported", where);
  const std::string dims = Reader::join(where, "internal_dims");
  const Json& internal = in.object(j, "internal_dims", where);
  p.internal_dim_from = in.count(internal, "from", dims);
  p.internal_dim_to = in.count(internal, "to", dims);
  p.entropy = in.number_or_null(j, "entropy", where);
  p.entropy_normalized = in.number_or_null(j, "entropy_normalized", where);
  if (p.significant > p.edges_tested) {
    in.fail(
        Reader::join(where, "significant"),
        std::to_string(p.significant) + " exceeds edges_tested " + std::to_string(p.edges_tested));
  }
  return p;
}

}  // namespace

RunSummary read_run_summary(const RunDir& dir) {
  const std::string file =
      (!dir.path.empty() && dir.path.back() == '/' ? dir.path : dir.path + "/") + "summary.json";
  const Json root = io::parse_strict_json(read_file(file), file, "malformed");
  const Reader in(file);
  if (!root.is_object())
    in.fail("", std::string("expected a JSON object, found ") + type_name(root));

  const std::int64_t schema = in.count(root, "schema_version", "");
  if (schema != kSchemaVersion) {
    in.fail("schema_version", "unsupported version " + std::to_string(schema) +
                                  " (this svr reads " + std::to_string(kSchemaVersion) + ")");
  }

  RunSummary s;
  s.dir = dir;
  s.model = in.string(root, "model", "");
  s.method = in.string(root, "method", "");

  const Json& options = in.object(root, "options", "");
  s.correction = in.string(options, "correction", "options");
  s.fdr_scope = in.string(options, "fdr_scope", "options");
  s.alpha = in.number_or_null(options, "alpha", "options");
  s.sigma = in.number_or_null(options, "sigma", "options");

  const Json& layers = in.array(root, "layers", "");
  s.layers = static_cast<std::int64_t>(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::string where = Reader::item("layers", l);
    s.spectral_neurons += in.count(layers[l], "kept", where);
    s.rank_total += in.count(layers[l], "rank", where);
    s.near_kernel += in.count(layers[l], "near_kernel_count", where);
  }

  const Json& pairs = in.array(root, "pairs", "");
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const std::string where = Reader::item("pairs", k);
    s.pairs.push_back(read_pair(in, pairs[k], where));
    const PairRow& p = s.pairs.back();
    // Pair k joins layers k and k+1 (docs/output-formats.md); anything else is not svr's file.
    if (p.index != static_cast<std::int64_t>(k) || p.from_layer != p.index ||
        p.to_layer != p.from_layer + 1 || p.to_layer >= s.layers) {
      in.fail(where, "does not join layers " + std::to_string(k) + " and " + std::to_string(k + 1) +
                         " of " + std::to_string(s.layers) + " layers");
    }
  }
  if (s.layers > 0 && static_cast<std::int64_t>(pairs.size()) != s.layers - 1) {
    in.fail("pairs", std::to_string(pairs.size()) + " pairs for " + std::to_string(s.layers) +
                         " layers (expected " + std::to_string(s.layers - 1) + ")");
  }

  const Json& path_metric = in.object(root, "path_metric", "");
  s.log10_path_weighted = in.number_or_null(path_metric, "log10_weighted", "path_metric");
  s.log10_path_unweighted = in.number_or_null(path_metric, "log10_unweighted", "path_metric");

  const Json& chains = in.array(root, "top_chains", "");
  s.chains = static_cast<std::int64_t>(chains.size());
  for (std::size_t c = 0; c < chains.size(); ++c) {
    s.longest_chain =
        std::max(s.longest_chain, in.count(chains[c], "length", Reader::item("top_chains", c)));
  }

  const Json& run = in.object(root, "run", "");
  s.version = in.string(run, "version", "run");
  s.input_sha256 = in.string(run, "input_sha256", "run");
  s.input_format = in.string(run, "input_format", "run");
  s.mpi_ranks = in.count(run, "ranks", "run");
  const Json& phases = in.object(run, "seconds_per_phase", "run");
  for (const auto& phase : phases.items()) {
    s.seconds_per_phase.emplace_back(
        phase.key(), in.number_or_null(phases, phase.key(), "run.seconds_per_phase"));
  }
  s.peak_memory_mb = in.number_or_null(run, "peak_memory_mb", "run");
  return s;
}

}  // namespace svr::aggregate

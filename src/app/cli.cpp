#include "svr/app/cli.hpp"

#include <boost/program_options.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "svr/app/build_info.hpp"
#include "svr/core/error.hpp"
#include "svr/linalg/slepc_svd.hpp"

namespace po = boost::program_options;

namespace svr {
namespace {

const char* const kUsage =
    "Usage: mpiexec -n N svr MODEL -o OUTDIR [options]\n"
    "\n"
    "Computes the Singular Value Representation (Meller & Berkouk, arXiv:2302.08183) of the chain\n"
    "network stored in MODEL: the SVD of every layer (its spectral neurons), the edges between\n"
    "spectral neurons of consecutive layers and their significance against a random null.\n"
    "\n"
    "MODEL: a .safetensors file, a sharded checkpoint's model.safetensors.index.json, a PyTorch\n"
    "state_dict saved with torch.save (.pt/.pth, zip or legacy format; read without running any\n"
    "pickled code), or an ONNX model (.onnx, weights embedded or in external data files; its\n"
    "Conv, Gemm and MatMul layers, the graph followed through sums, concatenations and batch\n"
    "norms). OUTDIR receives nodes.csv, edges.csv,\n"
    "graph.graphml and summary.json, and the pictures svr.svg and report.html (unless --no-plot);\n"
    "it is written as OUTDIR.partial-* and renamed into place only when complete.\n";

const char* const kFooter =
    "\n"
    "Layer order: --layers, else the safetensors metadata \"svr.layers\" or an ONNX graph's order,\n"
    "else the state_dict order of a PyTorch checkpoint, else the numeric-aware name order inside\n"
    "each top-level module with the modules ordered so that their shapes chain (features before\n"
    "classifier).\n"
    "\n"
    "Exit status: 0 on success, 1 on any error (one line on stderr: \"rank R: FILE: ...\").\n"
    "Docs: README.md, docs/options.md, docs/output-formats.md, docs/plots.md, docs/algorithms.md.\n";

constexpr unsigned kLineLength = 100;

template <typename Enum>
Enum parse_choice(const std::string& option, const std::string& value,
                  std::initializer_list<std::pair<const char*, Enum>> choices) {
  std::string allowed;
  for (const auto& [name, e] : choices) {
    if (value == name) return e;
    allowed += allowed.empty() ? name : std::string("|") + name;
  }
  throw InputError("command line: --" + option + " must be one of " + allowed + ", not '" +
                   value + "'");
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::string current;
  for (char ch : text + ",") {
    if (ch == ',' || ch == '\n' || ch == '\r') {
      // Trim blanks so "a, b" and one-name-per-line files both work.
      const auto begin = current.find_first_not_of(" \t");
      if (begin != std::string::npos) {
        const auto end = current.find_last_not_of(" \t");
        names.push_back(current.substr(begin, end - begin + 1));
      }
      current.clear();
    } else {
      current += ch;
    }
  }
  return names;
}

std::vector<std::string> parse_layers(const std::string& value) {
  if (!value.empty() && value[0] == '@') {
    const std::string path = value.substr(1);
    std::ifstream in(path);
    if (!in) throw InputError(path + ": cannot read the --layers file");
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> names;
    std::string line;
    while (std::getline(text, line)) {
      if (line.empty() || line[0] == '#') continue;  // comments allowed in layer lists
      for (auto& name : split_names(line)) names.push_back(name);
    }
    if (names.empty()) throw InputError(path + ": the --layers file names no layer");
    return names;
  }
  auto names = split_names(value);
  if (names.empty()) throw InputError("command line: --layers names no layer");
  return names;
}

// What the command line holds before it becomes Options: the values Boost binds to, among them
// the texts of the choices, which are parsed and checked afterwards.
struct RawValues {
  Options o;
  std::string method = "svr", batchnorm = "fold", correction = "bh", fdr_scope = "network";
  std::string truncated_svd = "auto";
  std::string plot_scale = "log";
  std::string precision = "double";
  bool no_plot = false;
  std::string layers;
  std::string flatten_order;
  std::string residual_reach = "1";
  std::string attention_heads = "whole";
  double sigma = 0.0;
  std::int64_t max_rank = 0;
  std::int64_t min_rank = 0;
};

// The options, in the groups --help shows, bound to `v`.
struct OptionGroups {
  po::options_description io{"Input and output", kLineLength, kLineLength / 2};
  po::options_description model{"Network", kLineLength, kLineLength / 2};
  po::options_description stats{"Significance", kLineLength, kLineLength / 2};
  po::options_description measures{"Measures", kLineLength, kLineLength / 2};
  po::options_description execution{"Execution", kLineLength, kLineLength / 2};
};

void describe_io(po::options_description& group, RawValues& v) {
  Options& o = v.o;
  group.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version, the commit, the compiler and the MPI, BLAS, LAPACK and "
                  "ScaLAPACK libraries svr runs with, and exit")
      ("model", po::value(&o.model_path)->value_name("MODEL"), "model file (also positional)")
      ("output,o", po::value(&o.outdir)->value_name("OUTDIR"), "output directory (required)")
      ("force", po::bool_switch(&o.force), "replace OUTDIR if it exists (otherwise svr refuses)")
      ("skip-complete", po::bool_switch(&o.skip_complete),
       "exit 0 at once, computing nothing, when OUTDIR/summary.json records this model's SHA-256 "
       "(a requeued or resubmitted sweep task skips the models it has done)")
      ("quiet,q", po::bool_switch(&o.quiet), "no progress lines on rank 0")
      ("all-edges", po::bool_switch(&o.significance.all_edges),
       "write every edge to edges.csv, not only the significant ones")
      ("save-spectra", po::bool_switch(&o.save_spectra),
       "write U, S, V of every layer to OUTDIR/spectra.safetensors (each u_i signed so that its "
       "largest-magnitude entry is positive, v_i flipped with it so that U diag(S) V^T = M)")
      ("save-adjacency", po::bool_switch(&o.save_adjacency),
       "write the full E matrix of every pair to OUTDIR/adjacency.safetensors")
      ("no-plot", po::bool_switch(&v.no_plot),
       "do not write OUTDIR/svr.svg (the SVR plot) nor OUTDIR/report.html (the one-page report)")
      ("plot-scale", po::value(&v.plot_scale)->value_name("log|linear")->default_value("log"),
       "y axis of the plot: singular values on a log10 or a linear scale")
      ("plot-max-edges", po::value(&o.plotting.max_edges)->value_name("N")
                             ->default_value(o.plotting.max_edges),
       "draw at most the N strongest (smallest p) significant edges of each layer pair in the "
       "plot (0: none); edges.csv still lists them all");
}

void describe_network(po::options_description& group, RawValues& v) {
  group.add_options()(
      "layers", po::value(&v.layers)->value_name("A,B,..|@FILE"),
      "explicit order and selection of layers by weight tensor name: a comma list, or @FILE "
      "with names separated by commas or newlines (# starts a comment line)")(
      "topology", po::value(&v.o.network.topology)->value_name("FILE"),
      "a network that is not a chain (residual, branched, concatenating): the JSON file that "
      "lists its weight layers and which reads from which, with channel maps "
      "(docs/input-formats.md; scripts/export_topology.py writes it for a PyTorch model)")(
      "export-topology", po::value(&v.o.export_topology)->value_name("FILE"),
      "write the network's topology (recognised, read from --topology, or the chain) to FILE "
      "as a topology file, which --topology reads back; with --plan, nothing else is done")(
      "flatten-order", po::value(&v.flatten_order)->value_name("chw|hwc"),
      "how a linear layer after convolutions numbers its inputs: chw = channel-major "
      "(PyTorch), hwc = channels last (Keras/TensorFlow); overrides the topology file")(
      "residual-reach", po::value(&v.residual_reach)->value_name("N|all")->default_value("1"),
      "a recognised transformer (Hugging Face GPT-2, BERT/RoBERTa, ViT, Llama/Mistral): a "
      "reader of the residual stream (Q, K, V, MLP up and gate, the head) reads the writers "
      "(the embedding, each block's output and down projections) of its own block and of the N "
      "blocks before it; all: every earlier writer")(
      "attention-heads",
      po::value(&v.attention_heads)->value_name("whole|split")->default_value("whole"),
      "attention's V -> O (a recognised transformer, an ONNX graph): whole = one pair with the "
      "identity map; split = one pair per head, each reading its head's channels of V (a "
      "grouped-query attention's shared V heads included; a recognised transformer needs "
      "config.json for the heads)")(
      "method", po::value(&v.method)->value_name("svr|cosvr")->default_value("svr"),
      "reshape of convolutions: svr = out x (in*k), cosvr = (out*k) x in")(
      "batchnorm", po::value(&v.batchnorm)->value_name("fold|ignore")->default_value("fold"),
      "fold a BatchNorm that follows a layer into its rows, and a pre-norm LayerNorm/RMSNorm "
      "weight before a transformer's layer into its columns, or ignore both")(
      "bn-eps", po::value(&v.o.network.read.bn_eps)->value_name("EPS")->default_value(1e-5, "1e-5"),
      "epsilon of the folded BatchNorm: gamma / sqrt(running_var + eps)")(
      "max-rank", po::value(&v.max_rank)->value_name("K"),
      "keep only the top K spectral neurons of layers with min(rows, cols) > K, computing just "
      "those K (SLEPc's thick-restart Lanczos or svr's block Krylov method: --truncated-svd; "
      "docs/algorithms.md), on one rank or on a layer's team")(
      "min-rank", po::value(&v.min_rank)->value_name("K"),
      "keep only the bottom K spectral neurons (the smallest singular values: the near-kernel) "
      "of layers with min(rows, cols) > K, numbered as in the full spectrum; a layer on one rank "
      "computes just those K by a QR and a Krylov method on R^-1 (docs/algorithms.md); "
      "excludes --max-rank and --reference")(
      "svd-tolerance",
      po::value(&v.o.svd_tolerance)->value_name("TOL")->default_value(1e-10, "1e-10"),
      "with --max-rank or --min-rank: the truncated SVD runs until every kept triplet has "
      "max(||M v - s u||, ||M^T u - s v||) <= TOL s_max, else falls back to the full SVD")(
      "svd-max-cost", po::value(&v.o.svd_max_cost)->value_name("C")->default_value(1.0, "1"),
      "with --max-rank or --min-rank: a layer's truncated SVD gives up (and runs the full SVD) "
      "once it has cost C times the full SVD, or its convergence rate projects well above that; "
      "a large C keeps it on crowded spectra, where it is slower but needs about half the "
      "memory")(
      "truncated-svd",
      po::value(&v.truncated_svd)->value_name("auto|slepc|builtin")->default_value("auto"),
      "with --max-rank in double precision: the engine of the top K. slepc = SLEPc's "
      "thick-restart Lanczos (the plug-in libsvr_slepc.so, built when SLEPc is installed; "
      "1.5-2.7x faster), builtin = svr's block Krylov method, auto = SLEPc when its plug-in "
      "loads, else builtin (svr --version says which), and builtin on a team of ranks that "
      "has no room within the memory budget for SLEPc's copy of the layer; single precision "
      "and --min-rank use the builtin method")(
      "full-svd", po::bool_switch(&v.o.full_svd),
      "with --max-rank or --min-rank: compute every layer's full SVD and keep its top or bottom "
      "K (no Krylov method)")(
      "precision", po::value(&v.precision)->value_name("double|single")->default_value("double"),
      "the precision of the full SVDs (dgesdd/pdgesvd or sgesdd/psgesvd); single is about "
      "twice as fast, s and E are then accurate to about 1e-5 (docs/algorithms.md); E and p "
      "are always computed in double; the top and bottom K of --max-rank and --min-rank on one "
      "rank run in float to a residual of at most max(TOL, 1e-5) (the bottom K in double when "
      "s_max / s_min exceeds about 10), on a grid in double");
}

void describe_significance(po::options_description& group, RawValues& v) {
  SignificanceOptions& s = v.o.significance;
  group.add_options()
      ("alpha", po::value(&s.alpha)->value_name("A")->default_value(0.05, "0.05"),
       "significance level of the corrected test")
      ("correction", po::value(&v.correction)->value_name("bh|by|holm|bonferroni|none")
                         ->default_value("bh"),
       "multiple-testing correction: Benjamini-Hochberg, Benjamini-Yekutieli, Holm, "
       "Bonferroni or none")
      ("fdr-scope", po::value(&v.fdr_scope)->value_name("network|pair")->default_value("network"),
       "family of the correction: every testable edge of the network, or each layer pair")
      ("sigma", po::value(&v.sigma)->value_name("S"),
       "compatibility mode: significant iff E >= chi2_quantile(Phi(S), z) / (z c), uncorrected "
       "(implies --correction none)")
      ("reference", po::bool_switch(&v.o.reference),
       "preset of the public implementation: --batchnorm ignore --max-rank 128 --sigma 3")
      ("simulation-draws", po::value(&s.simulation_draws)->value_name("N")
                               ->default_value(s.simulation_draws),
       "Monte Carlo draws of the null law where no Beta law exists (cosvr, conv -> linear)")
      ("seed", po::value(&s.seed)->value_name("SEED")->default_value(s.seed),
       "seed of those simulations");
}

void describe_measures(po::options_description& group, RawValues& v) {
  MeasureOptions& m = v.o.measures;
  group.add_options()
      ("near-kernel-tau", po::value(&m.near_kernel_tau)->value_name("TAU")
                              ->default_value(1e-2, "0.01"),
       "a spectral neuron is near-kernel when s <= TAU * s_max of its layer")
      ("top-chains", po::value(&m.top_chains)->value_name("K")->default_value(m.top_chains),
       "number of dominant chains (paths of significant edges over >= 3 layers) to report")
      ("path-threshold", po::value(&m.path_threshold)->value_name("T")->default_value(0.0, "0"),
       "the unweighted path metric counts spectral neurons with s > T");
}

void describe_execution(po::options_description& group, RawValues& v) {
  ExecutionOptions& e = v.o.execution;
  group.add_options()
      ("scalapack-min-dim", po::value(&e.scalapack_min_dim)->value_name("D")
                                ->default_value(e.scalapack_min_dim),
       "a layer with min(rows, cols) >= D is factored by ScaLAPACK on a grid of ranks (see "
       "--max-grids), each rank reading and holding only its blocks (else: LAPACK, whole layer on one rank); "
       "1 puts every layer on ScaLAPACK")
      ("block-size", po::value(&e.block_size)->value_name("NB")->default_value(e.block_size),
       "block size of ScaLAPACK's block-cyclic layout (NB x NB blocks)")
      ("max-grids", po::value(&e.max_grids)->value_name("N")->default_value(e.max_grids),
       "the ScaLAPACK layers are factored by at most N concurrent teams of ranks, each on its "
       "own near-square grid and sized by the cost of its layers; a team takes consecutive "
       "layers unless dealing them out by cost is more than 10% faster; 0: no cap. Teams are added "
       "while a rank would hold fewer than --min-local-elements of its team's largest layer "
       "and the memory budget allows; 1: one grid of all ranks, one layer after the other "
       "(the least memory per rank)")
      ("min-local-elements", po::value(&e.min_local_elements)->value_name("E")
                                 ->default_value(e.min_local_elements, "1048576"),
       "one grid of all ranks as long as each rank holds at least E elements of the largest "
       "layer (a 1024 x 1024 local block by default); with fewer, more and smaller grids run "
       "side by side")
      ("split-min-dim", po::value(&e.split_min_dim)->value_name("D")
                            ->default_value(e.split_min_dim),
       "on 2 or more ranks, a layer below --scalapack-min-dim with min(rows, cols) >= D and an "
       "SVD cost above the average load per rank is split over a team of ranks: QR (or LQ) and "
       "Q's application on the team's grid and the r x r core by LAPACK on the team's first "
       "rank for a long layer (long side at least twice the short one), the bidiagonal form "
       "and its reflectors on the grid and the bidiagonal SVD by LAPACK on the first rank for a "
       "squarer one, while the others factor their own layers; 0: never split")
      ("memory-per-rank", po::value(&e.memory_per_rank_mb)->value_name("MB")
                              ->default_value(0.0, "0"),
       "memory budget per rank in MiB for sizing the teams; 0: 80% of the node's available "
       "memory (capped by the job's cgroup limit) divided by the ranks on the node; a team "
       "counts the factors it still holds while it factors each layer (every factor with "
       "--save-spectra). A budget "
       "given here that no team layout can meet is an error; a detected one is a warning. With "
       "--max-rank or --min-rank the teams are sized for the truncated SVD, and a layer it gives "
       "up on falls back to the full SVD only within a budget given here (else an error naming "
       "the layer)")
      ("plan", po::bool_switch(&v.o.plan),
       "print the execution plan (per layer: shape, cost, LAPACK on rank R or ScaLAPACK on a "
       "team's PxQ grid; the teams with their ranks and memory per rank; the pair owners) and exit without computing; -o is not needed and OUTDIR is not created");
}

// The choices given as text, parsed into their enums.
void parse_choices(RawValues& v, const po::variables_map& vm) {
  Options& o = v.o;
  o.network.read.method =
      parse_choice<Method>("method", v.method, {{"svr", Method::Svr}, {"cosvr", Method::Cosvr}});
  o.network.read.batchnorm = parse_choice<BatchNormMode>(
      "batchnorm", v.batchnorm, {{"fold", BatchNormMode::Fold}, {"ignore", BatchNormMode::Ignore}});
  o.significance.correction = parse_choice<Correction>(
      "correction", v.correction,
      {{"bh", Correction::BH}, {"by", Correction::BY}, {"holm", Correction::Holm},
       {"bonferroni", Correction::Bonferroni}, {"none", Correction::None}});
  o.significance.fdr_scope = parse_choice<FdrScope>(
      "fdr-scope", v.fdr_scope, {{"network", FdrScope::Network}, {"pair", FdrScope::Pair}});
  o.precision = parse_choice<SvdPrecision>(
      "precision", v.precision, {{"double", SvdPrecision::Double}, {"single", SvdPrecision::Single}});
  o.truncated_engine = parse_choice<TruncatedEngine>(
      "truncated-svd", v.truncated_svd,
      {{"auto", TruncatedEngine::Auto}, {"slepc", TruncatedEngine::Slepc},
       {"builtin", TruncatedEngine::Builtin}});
  if (o.truncated_engine == TruncatedEngine::Slepc) {
    if (o.precision == SvdPrecision::Single)
      throw InputError("command line: --truncated-svd slepc runs in double precision only "
                       "(drop it, or --precision single)");
    if (!slepc_plugin().loaded)
      throw InputError("command line: --truncated-svd slepc: SLEPc's plug-in is not available: " +
                       slepc_plugin().problem);
  }
  if (vm.count("layers")) o.network.layers = parse_layers(v.layers);
  if (vm.count("layers") && vm.count("topology"))
    throw InputError("command line: --layers and --topology exclude each other");
  if (vm.count("topology") && o.network.topology.empty())
    throw InputError("command line: --topology needs a file");
  if (v.residual_reach == "all") {
    o.network.residual_reach = -1;
  } else {
    std::size_t used = 0;
    int reach = -1;
    try {
      reach = std::stoi(v.residual_reach, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.residual_reach.size() || reach < 1)
      throw InputError("command line: --residual-reach must be a positive integer or all, not '" +
                       v.residual_reach + "'");
    o.network.residual_reach = reach;
  }
  o.network.split_heads =
      parse_choice<bool>("attention-heads", v.attention_heads, {{"whole", false}, {"split", true}});
  if (vm.count("flatten-order"))
    o.network.flatten_order = parse_choice<FlattenOrder>(
        "flatten-order", v.flatten_order,
        {{"chw", FlattenOrder::ChannelMajor}, {"hwc", FlattenOrder::ChannelsLast}});
  o.plot = !v.no_plot;
  o.plotting.log_scale =
      parse_choice<bool>("plot-scale", v.plot_scale, {{"log", true}, {"linear", false}});
}

// Every number within its range; --max-rank and --sigma taken when given.
void check_values(RawValues& v, const po::variables_map& vm) {
  Options& o = v.o;
  const SignificanceOptions& s = o.significance;
  const ExecutionOptions& e = o.execution;
  if (!(s.alpha > 0.0 && s.alpha < 1.0))
    throw InputError("command line: --alpha must lie in (0, 1)");
  if (!(o.network.read.bn_eps >= 0.0) || !std::isfinite(o.network.read.bn_eps))
    throw InputError("command line: --bn-eps must be a finite number >= 0");
  if (!(o.measures.near_kernel_tau >= 0.0 && o.measures.near_kernel_tau <= 1.0))
    throw InputError("command line: --near-kernel-tau must lie in [0, 1]");
  if (o.measures.top_chains < 0) throw InputError("command line: --top-chains must be >= 0");
  if (o.plotting.max_edges < 0) throw InputError("command line: --plot-max-edges must be >= 0");
  if (s.simulation_draws < 1000)
    throw InputError("command line: --simulation-draws must be at least 1000");
  if (e.scalapack_min_dim < 1) throw InputError("command line: --scalapack-min-dim must be >= 1");
  if (e.block_size < 1 || e.block_size > 4096)
    throw InputError("command line: --block-size must lie in [1, 4096]");
  if (e.max_grids < 0) throw InputError("command line: --max-grids must be >= 0");
  if (e.split_min_dim < 0) throw InputError("command line: --split-min-dim must be >= 0");
  if (!(e.min_local_elements >= 0.0) || !std::isfinite(e.min_local_elements))
    throw InputError("command line: --min-local-elements must be a finite number >= 0");
  if (!(e.memory_per_rank_mb >= 0.0) || !std::isfinite(e.memory_per_rank_mb))
    throw InputError("command line: --memory-per-rank must be a finite number >= 0");
  if (!(o.svd_tolerance > 0.0 && o.svd_tolerance < 1.0))
    throw InputError("command line: --svd-tolerance must lie in (0, 1)");
  if (!(o.svd_max_cost > 0.0))
    throw InputError("command line: --svd-max-cost must be a positive number");
  if (vm.count("max-rank")) {
    if (v.max_rank < 1) throw InputError("command line: --max-rank must be >= 1");
    o.max_rank = v.max_rank;
  }
  if (vm.count("min-rank")) {
    if (v.min_rank < 1) throw InputError("command line: --min-rank must be >= 1");
    if (vm.count("max-rank"))
      throw InputError("command line: --min-rank and --max-rank exclude each other (the bottom "
                       "or the top K spectral neurons: run svr twice for both)");
    o.min_rank = v.min_rank;
  }
  if (vm.count("sigma")) {
    if (!(v.sigma > 0.0) || !std::isfinite(v.sigma))
      throw InputError("command line: --sigma must be a positive number");
    o.significance.sigma = v.sigma;
  }
}

// --reference and --sigma imply other options (spec section 4); explicit contrary flags are
// errors rather than silently overridden.
void apply_presets(Options& o, const po::variables_map& vm) {
  if (o.reference) {
    if (!vm["batchnorm"].defaulted() && o.network.read.batchnorm != BatchNormMode::Ignore)
      throw InputError("command line: --reference implies --batchnorm ignore");
    o.network.read.batchnorm = BatchNormMode::Ignore;
    if (o.precision != SvdPrecision::Double)
      throw InputError("command line: --reference computes in double precision; drop "
                       "--precision single");
    if (o.min_rank)
      throw InputError("command line: --reference keeps the top 128 spectral neurons (the "
                       "public implementation's preset); drop --min-rank");
    if (!o.max_rank) o.max_rank = 128;
    if (!o.significance.sigma) o.significance.sigma = 3.0;
  }
  if (o.significance.sigma) {
    if (!vm["correction"].defaulted() && o.significance.correction != Correction::None)
      throw InputError("command line: --sigma implies --correction none");
    o.significance.correction = Correction::None;
  }
}

// The settings several modules need, copied into each module's struct from the one place the
// command line set them.
void share_settings(Options& o) {
  o.significance.method = o.network.read.method;
  o.plotting.method = o.network.read.method;
  o.plotting.batchnorm = o.network.read.batchnorm;
  o.plotting.near_kernel_tau = o.measures.near_kernel_tau;
  o.plotting.significance = o.significance;
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const argv[]) {
  RawValues values;
  OptionGroups groups;
  describe_io(groups.io, values);
  describe_network(groups.model, values);
  describe_significance(groups.stats, values);
  describe_measures(groups.measures, values);
  describe_execution(groups.execution, values);
  po::options_description all("");
  all.add(groups.io).add(groups.model).add(groups.stats).add(groups.measures).add(
      groups.execution);
  po::positional_options_description positional;
  positional.add("model", 1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string("command line: ") + e.what() + " (see svr --help)");
  }

  CommandLine result;
  if (vm.count("help")) {
    std::ostringstream text;
    text << kUsage << "\n" << groups.io << "\n" << groups.model << "\n" << groups.stats << "\n"
         << groups.measures << "\n" << groups.execution << kFooter;
    result.action = CommandLine::Action::Help;
    result.text = text.str();
    return result;
  }
  if (vm.count("version")) {
    result.action = CommandLine::Action::Version;
    result.text = describe_build(build_info());
    return result;
  }

  Options& o = values.o;
  if (o.model_path.empty()) throw InputError("command line: no MODEL given (see svr --help)");
  if (o.outdir.empty() && !o.plan)
    throw InputError("command line: -o OUTDIR is required (see svr --help)");
  parse_choices(values, vm);
  check_values(values, vm);
  apply_presets(o, vm);
  share_settings(o);
  result.options = std::move(o);
  return result;
}

std::string quoted_command_line(int argc, const char* const argv[]) {
  std::string line;
  for (int k = 0; k < argc; ++k) {
    std::string arg = argv[k];
    const bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    if (k) line += ' ';
    if (plain) {
      line += arg;
    } else {
      line += '\'';
      for (char ch : arg) line += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
      line += '\'';
    }
  }
  return line;
}

}  // namespace svr

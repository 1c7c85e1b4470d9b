#include "svr/app/phase_path.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "svr/stats/measures.hpp"

namespace svr {
namespace {

// The state of measures.cpp log10_path_metric between two pairs: x (max entry 1), the log10 of
// the scale taken out of it, and whether a zero already made the metric -inf. Every step below
// is that function's, in the same order, so the result is bit for bit the serial one.
struct PathState {
  Eigen::VectorXd x;
  double log10_scale = 0.0;
  bool alive = true;

  bool multiply_by_s(const Eigen::VectorXd& sl) {
    const double s_max = sl.size() > 0 ? sl.cwiseAbs().maxCoeff() : 0.0;
    if (!(s_max > 0.0)) return false;
    x = x.cwiseProduct(sl / s_max);
    log10_scale += std::log10(s_max);
    return true;
  }
  bool rescale() {
    const double m = x.size() > 0 ? x.cwiseAbs().maxCoeff() : 0.0;
    if (!(m > 0.0)) return false;
    x /= m;
    log10_scale += std::log10(m);
    return true;
  }
  void step(const Eigen::VectorXd& sl, const Eigen::MatrixXd& E) {
    if (!alive) return;
    if (!multiply_by_s(sl) || !rescale()) {
      alive = false;
      return;
    }
    x = E * x;
    if (!rescale()) alive = false;
  }
  double finish(const Eigen::VectorXd& s_last) {
    constexpr double minus_inf = -std::numeric_limits<double>::infinity();
    if (!alive || !multiply_by_s(s_last)) return minus_inf;
    const double sum = x.sum();
    if (!(sum > 0.0)) return minus_inf;
    return log10_scale + std::log10(sum);
  }

  // [alive, log10_scale, x...] as one column, for the next owner.
  Eigen::MatrixXd message() const {
    Eigen::MatrixXd m(x.size() + 2, 1);
    m(0, 0) = alive ? 1.0 : 0.0;
    m(1, 0) = log10_scale;
    m.col(0).tail(x.size()) = x;
    return m;
  }
  static PathState from(const Eigen::MatrixXd& m) {
    PathState state;
    state.alive = m(0, 0) != 0.0;
    state.log10_scale = m(1, 0);
    state.x = m.col(0).tail(m.rows() - 2);
    return state;
  }
};

}  // namespace

namespace {

bool is_chain(const ExecutionPlan& execution) {
  if (execution.pairs.size() + 1 != execution.layers.size()) return false;
  for (std::size_t l = 0; l < execution.pairs.size(); ++l)
    if (execution.pairs[l].from != static_cast<int>(l) ||
        execution.pairs[l].to != static_cast<int>(l + 1))
      return false;
  return true;
}

// A ScaledVector as one column [alive, log10_scale, m...], and back.
Eigen::MatrixXd message_of(const ScaledVector& x) {
  Eigen::MatrixXd m(x.m.size() + 2, 1);
  m(0, 0) = x.alive ? 1.0 : 0.0;
  m(1, 0) = x.log10_scale;
  m.col(0).tail(x.m.size()) = x.m;
  return m;
}

ScaledVector vector_of(const Eigen::MatrixXd& m) {
  ScaledVector x;
  x.alive = m(0, 0) != 0.0;
  x.log10_scale = m(1, 0);
  x.m = m.col(0).tail(m.rows() - 2);
  return x;
}

// The DAG path metric (measures.hpp log10_path_metric on pairs) with rank 0 as the hub: it holds
// every layer's x (one entry per neuron: small), sends x_A to the owner of each pair (A, B) in
// pair order, and sums the contributions E_AB (x_A * s_A) that come back. The arithmetic is the
// serial function's, whatever the ranks, so the metric does not depend on their number.
void dag_path_metrics(SvrResult& result, const std::vector<Eigen::MatrixXd>& E,
                      const ExecutionPlan& execution, const std::vector<Eigen::VectorXd> s[2],
                      const mpi::Communicator& comm) {
  const std::size_t n = result.layers.size();
  std::vector<std::vector<std::size_t>> into(n);
  std::vector<char> read(n, 0);
  for (std::size_t q = 0; q < execution.pairs.size(); ++q) {
    into[static_cast<std::size_t>(execution.pairs[q].to)].push_back(q);
    read[static_cast<std::size_t>(execution.pairs[q].from)] = 1;
  }
  // Rank 0's state: per variant, per layer, the contributions received and x once merged.
  std::vector<std::vector<ScaledVector>> parts[2] = {std::vector<std::vector<ScaledVector>>(n),
                                                     std::vector<std::vector<ScaledVector>>(n)};
  std::vector<std::optional<ScaledVector>> x[2] = {std::vector<std::optional<ScaledVector>>(n),
                                                   std::vector<std::optional<ScaledVector>>(n)};
  auto x_of = [&](int v, std::size_t layer) -> const ScaledVector& {
    std::optional<ScaledVector>& slot = x[v][layer];
    if (!slot)
      slot = into[layer].empty() ? ScaledVector{Eigen::VectorXd::Ones(s[v][layer].size()), 0.0, true}
                                 : path_merge(parts[v][layer], s[v][layer].size());
    return *slot;
  };
  for (std::size_t q = 0; q < execution.pairs.size(); ++q) {
    const PairExecution& pair = execution.pairs[q];
    const auto a = static_cast<std::size_t>(pair.from), b = static_cast<std::size_t>(pair.to);
    const int tag = 30003;
    for (int v = 0; v < 2; ++v) {
      if (pair.owner == 0) {
        if (comm.is_root()) parts[v][b].push_back(path_step(x_of(v, a), s[v][a], E[q]));
      } else if (comm.is_root()) {
        comm.send(message_of(x_of(v, a)), pair.owner, tag);
        parts[v][b].push_back(vector_of(comm.receive(pair.owner, tag)));
      } else if (comm.rank() == pair.owner) {
        const ScaledVector x_a = vector_of(comm.receive(0, tag));
        comm.send(message_of(path_step(x_a, s[v][a], E[q])), 0, tag);
      }
    }
  }
  if (!comm.is_root()) return;
  std::vector<double> terms[2];
  for (std::size_t layer = 0; layer < n; ++layer)
    if (!read[layer])
      for (int v = 0; v < 2; ++v) terms[v].push_back(path_end(x_of(v, layer), s[v][layer]));
  result.log10_path_metric = path_total(terms[0]);
  result.log10_path_metric_unweighted = path_total(terms[1]);
}

}  // namespace

void distributed_path_metrics(SvrResult& result, const std::vector<Eigen::MatrixXd>& E,
                              const ExecutionPlan& execution, const Options& options,
                              const mpi::Communicator& comm) {
  const std::size_t pairs = execution.pairs.size();
  if (pairs == 0) return;
  if (!is_chain(execution)) {
    std::vector<Eigen::VectorXd> s[2];
    for (const LayerResult& layer : result.layers) {
      s[0].push_back(layer.sigma);
      s[1].push_back(
          (layer.sigma.array() > options.measures.path_threshold).cast<double>().matrix());
    }
    dag_path_metrics(result, E, execution, s, comm);
    return;
  }
  const int me = comm.rank();
  std::vector<Eigen::VectorXd> s, indicator;
  for (const LayerResult& layer : result.layers) {
    s.push_back(layer.sigma);
    indicator.push_back(
        (layer.sigma.array() > options.measures.path_threshold).cast<double>().matrix());
  }
  // [0] with s, [1] with the indicator: both travel together.
  PathState state[2];
  if (me == execution.pairs[0].owner)
    for (PathState& one : state) one.x = Eigen::VectorXd::Ones(s[0].size());
  for (std::size_t l = 0; l < pairs; ++l) {
    const int owner = execution.pairs[l].owner;
    if (me == owner) {
      state[0].step(s[l], E[l]);
      state[1].step(indicator[l], E[l]);
    }
    // Hand x on to the next pair's owner (rank 0 after the last pair).
    const int next = l + 1 < pairs ? execution.pairs[l + 1].owner : 0;
    if (l + 1 == pairs && me == owner) {
      const double metric[2] = {state[0].finish(s.back()), state[1].finish(indicator.back())};
      if (owner == 0) {
        result.log10_path_metric = metric[0];
        result.log10_path_metric_unweighted = metric[1];
      } else {
        mpi::send_doubles(comm.get(), metric, 2, 0, 30001);
      }
    } else if (l + 1 == pairs && me == 0) {
      double metric[2] = {0.0, 0.0};
      mpi::receive_doubles(comm.get(), metric, 2, owner, 30001);
      result.log10_path_metric = metric[0];
      result.log10_path_metric_unweighted = metric[1];
    } else if (l + 1 < pairs && owner != next) {
      if (me == owner) {
        for (PathState& one : state) comm.send(one.message(), next, 30002);
      } else if (me == next) {
        for (PathState& one : state) one = PathState::from(comm.receive(owner, 30002));
      }
    }
  }
}

void path_phase(const std::vector<Eigen::MatrixXd>& E, const ExecutionPlan& execution,
                const Options& options, const mpi::Communicator& comm, SvrResult& result) {
  mpi::agreed(comm, [&] { distributed_path_metrics(result, E, execution, options, comm); });
}

}  // namespace svr

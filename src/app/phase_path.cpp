#include "svr/app/phase_path.hpp"

#include <cmath>
#include <limits>

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

void distributed_path_metrics(SvrResult& result, const std::vector<Eigen::MatrixXd>& E,
                              const ExecutionPlan& execution, const Options& options,
                              const mpi::Communicator& comm) {
  const std::size_t pairs = execution.pairs.size();
  if (pairs == 0) return;
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

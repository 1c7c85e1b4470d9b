#include "svr/core/results.hpp"

#include <algorithm>

namespace svr {

double LayerResult::largest_singular_value() const {
  return std::max(s_max, sigma.size() == 0 ? 0.0 : sigma.cwiseAbs().maxCoeff());
}

std::int64_t LayerResult::near_kernel_count() const {
  return std::count(near_kernel.begin(), near_kernel.end(), true);
}

std::vector<PhaseTime> RunInfo::phase_totals() const {
  std::vector<PhaseTime> totals;
  for (const PhaseTime& phase : phases) {
    auto it = std::find_if(totals.begin(), totals.end(),
                           [&](const PhaseTime& total) { return total.phase == phase.phase; });
    if (it == totals.end())
      totals.push_back(phase);
    else
      it->seconds += phase.seconds;
  }
  return totals;
}

}  // namespace svr

#include "svr/results.hpp"

#include <algorithm>

namespace svr {

std::int64_t LayerResult::near_kernel_count() const {
  return std::count(near_kernel.begin(), near_kernel.end(), true);
}

}  // namespace svr

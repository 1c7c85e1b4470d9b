#pragma once
// Multiple-testing corrections on log10 p-values (spec section 4), so that p = 1e-700 works.
#include <vector>

#include "svr/options.hpp"

namespace svr {

// Adjusted log10 q for each log10 p (same order); the family is all given values. q <= 1.
// BH: q_(k) = min_{m>=k} (n/m) p_(m); BY: BH times H_n = sum_{i=1..n} 1/i;
// Holm: q_(k) = max_{m<=k} min(1, (n-m+1) p_(m)); Bonferroni: min(1, n p); None: q = p.
// Equal p get equal q. log10 p may be -inf (p = 0); NaN or values > 0 throw std::invalid_argument.
std::vector<double> adjust_log10(const std::vector<double>& log10_p, Correction correction);

}  // namespace svr

#pragma once
// Multiple-testing corrections on log10 p-values (spec section 4), so that p = 1e-700 works.
#include <cstdint>
#include <string>
#include <vector>

namespace svr {

enum class Correction { BH, BY, Holm, Bonferroni, None };
// The family a correction runs over: every tested edge of the network, or each pair alone.
enum class FdrScope { Network, Pair };

std::string to_string(Correction correction);  // "bh", "by", "holm", "bonferroni", "none"
std::string to_string(FdrScope scope);         // "network", "pair"

// Adjusted log10 q for each log10 p (same order); the family is all given values. q <= 1.
// BH: q_(k) = min_{m>=k} (n/m) p_(m); BY: BH times H_n = sum_{i=1..n} 1/i;
// Holm: q_(k) = max_{m<=k} min(1, (n-m+1) p_(m)); Bonferroni: min(1, n p); None: q = p.
// Equal p get equal q. log10 p may be -inf (p = 0); NaN or values > 0 throw std::invalid_argument.
std::vector<double> adjust_log10(const std::vector<double>& log10_p, Correction correction);

// The same adjustment when only the candidates of a family of `family_size` values are at hand:
// the members whose p is at most some cut, every other member having p above it (svr's cut is
// alpha, so the edges that can never be significant need not travel). Same order as given.
// Holm, Bonferroni and None give exactly the q of adjust_log10 on the whole family; BH and BY
// give it for every candidate whose q is at most the smallest excluded p (so every q <= cut),
// and otherwise a value that is, like the exact one, above that bound. family_size smaller
// than the number of candidates throws std::invalid_argument.
std::vector<double> adjust_log10_candidates(const std::vector<double>& candidate_log10_p,
                                            std::int64_t family_size, Correction correction);

}  // namespace svr

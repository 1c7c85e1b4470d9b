#pragma once
// Multiple-testing corrections on log10 p-values (spec section 4), so that p = 1e-700 works.
#include <cstdint>
#include <functional>
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

// The same adjustments when the family's log10 p, sorted ascending, is cut into consecutive
// slices held in different places (one per rank: app/distributed_correction.hpp). A slice holds
// the family's ranks first_rank+1 .. first_rank+size, of a family of `family_size`.
// Bonferroni and None need no other slice. BH and BY (step-up) take a running minimum from the
// last rank down, so a slice needs the smallest term of the slices after it; Holm (step-down) a
// running maximum from the first rank, so the largest term of the slices before it. `carry` is
// that value combined with sorted_slice_carry_seed (a slice with nothing after, or before, it
// passes the seed). Same arithmetic as adjust_log10_candidates: the same q to the last bit.
bool is_step_up(Correction correction);  // BH and BY
std::vector<double> sorted_slice_terms(const std::vector<double>& sorted_log10_p,
                                       std::int64_t first_rank, std::int64_t family_size,
                                       Correction correction);
double sorted_slice_carry_seed(Correction correction);  // 0 (q <= 1) for step-up, else -inf
// What a slice passes on: the minimum of its terms (step-up) or their maximum (otherwise),
// combined with the seed.
double sorted_slice_extreme(const std::vector<double>& terms, Correction correction);
std::vector<double> adjust_log10_sorted_slice(const std::vector<double>& sorted_log10_p,
                                              std::int64_t first_rank, std::int64_t family_size,
                                              Correction correction, double carry);
// adjust_log10_sorted_slice from the slice's terms (sorted_slice_terms), for a caller that has
// them already: the running minimum (step-up) or maximum (Holm) from `carry`.
std::vector<double> finish_sorted_slice(std::vector<double> terms, Correction correction,
                                        double carry);

// The p level above which no member of a family of `family_size` values can be significant
// under `correction` at `alpha`, given that at most `below` members have p <= the level of the
// previous step (docs/algorithms.md, "Exact p-values only where they matter"): BH alpha K / n,
// BY alpha K / (n ln(n + 1)) (ln(n + 1) <= H_n), Holm alpha / (n - K + 1), Bonferroni alpha / n,
// None alpha. Never above alpha; 0 when K = 0.
double screening_level(Correction correction, double alpha, std::int64_t family_size,
                       std::int64_t below);

// The fixed point of K -> count(screening_level(K)) from K = count(alpha): every member with
// p above the returned level is not significant, and (BH, BY) its adjusted value is above alpha
// whatever the others' p, so dropping it changes neither the significant members nor their q.
// count(level) must return how many members have p <= level, or more (never fewer); it is called
// the same number of times for the same family.
double narrowed_level(Correction correction, double alpha, std::int64_t family_size,
                      const std::function<std::int64_t(double)>& count);

}  // namespace svr

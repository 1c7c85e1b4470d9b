// log10_beta_sf, its log-space branch and the chi-square threshold against mpmath / scipy values.
#include <gtest/gtest.h>

#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "svr/stats/pvalues.hpp"

namespace {

struct BetaCase {
  double x, a, b, p, log10_p;
};

// /usr/bin/python3, mpmath 50 digits (cross-checked at 100 digits against
// y^b x^a / (b B(a,b)) 2F1(a+b, 1; b+1; y) for the deep tails):
//   import mpmath as mp; mp.mp.dps = 50
//   p = mp.betainc(b, a, 0, 1 - mp.mpf(x), regularized=True); print(p, mp.log10(p))
const BetaCase kModerate[] = {
    {0.3, 2.5, 7.0, 0.35877753702827882919, -0.4451747558454911869144},
    {0.01, 0.5, 10.0, 0.65792817515678446696, -0.1818215149508764490075},
    {0.5, 3.0, 3.0, 0.5, -0.3010299956639811952137},
    {0.9, 0.5, 0.5, 0.20483276469913342809, -0.6886005731361058572184},
    {0.2, 0.5, 255.5, 1.3588478489255373515e-26, -25.86682916877989405286},
    {0.05, 4.5, 2299.5, 8.6300918195044459817e-46, -45.06398458360205831489},
    {0.001, 0.5, 2047.5, 0.042970845963149134513, -1.366826096315838909728},
    {0.7, 40.0, 40.0, 0.0000983350037063727025, -4.007291861511339724412},
    {0.999, 2.0, 5.0, 5.9950000000000266187e-15, -14.22221081256513059093},
    {0.9, 500.0, 500.0, 2.2321245611063170441e-224, -223.6512815737614671525},
    {0.7, 1000.0, 1000.0, 4.230925036908193129e-78, -77.3735646693852094443},
};

// p below the double range: only log10 p is meaningful.
const BetaCase kDeepTail[] = {
    {0.5, 0.5, 2047.5, 0, -618.1127204679159299027},  // E = 0.5 on a 4096-wide linear pair
    {0.3, 0.5, 2047.5, 0, -318.804784092903876047},
    {0.9, 4.5, 2299.5, 0, -2288.958518654697787359},
    {0.4, 1.5, 1500.0, 0, -331.3312683502916634492},
    {0.99, 0.5, 100000.0, 0, -200002.7463930984092138},
    {0.25, 24.5, 12520.0, 0, -1505.175597586408615844},
    {0.6, 0.5, 1000.0, 0, -399.577858020535938158},
};

TEST(Log10BetaSf, ModerateCasesRelativeError1e12) {
  for (const auto& c : kModerate) {
    const double got = svr::log10_beta_sf(c.x, c.a, c.b);
    // Relative error of p = |10^(got - ref) - 1| ~ ln(10) |got - ref|.
    EXPECT_LT(std::fabs(std::expm1((got - c.log10_p) * std::log(10.0))), 1e-12)
        << "x=" << c.x << " a=" << c.a << " b=" << c.b << " got " << got;
    if (c.p > 1e-300) {
      EXPECT_NEAR(std::pow(10.0, got) / c.p, 1.0, 1e-12);
    }
  }
}

TEST(Log10BetaSf, DeepTailsAbsoluteError1e9InLog10) {
  for (const auto& c : kDeepTail) {
    const double got = svr::log10_beta_sf(c.x, c.a, c.b);
    ASSERT_TRUE(std::isfinite(got));
    EXPECT_NEAR(got, c.log10_p, 1e-9) << "x=" << c.x << " a=" << c.a << " b=" << c.b;
  }
}

TEST(Log10BetaSf, LogSpaceBranchMatchesReferenceEverywhereInTheTail) {
  // The log-space branch alone, also where Boost would still be used.
  for (const auto& c : kDeepTail) {
    EXPECT_NEAR(svr::log10_beta_sf_log_space(c.x, c.a, c.b), c.log10_p, 1e-9);
  }
  for (const auto& c : kModerate) {
    if (c.x < (c.a + 1) / (c.a + c.b + 2)) continue;  // outside the branch's domain
    EXPECT_NEAR(svr::log10_beta_sf_log_space(c.x, c.a, c.b), c.log10_p,
                1e-12 * std::max(1.0, std::fabs(c.log10_p)))
        << "x=" << c.x << " a=" << c.a << " b=" << c.b;
  }
}

TEST(Log10BetaSf, EndpointsAndSymmetricCases) {
  EXPECT_EQ(svr::log10_beta_sf(0.0, 0.5, 100.0), 0.0);
  EXPECT_EQ(svr::log10_beta_sf(-0.1, 2.0, 3.0), 0.0);
  EXPECT_EQ(svr::log10_beta_sf(1.0, 0.5, 100.0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(svr::log10_beta_sf(1.0, 3.0, 3.0), -std::numeric_limits<double>::infinity());
  // a = b: the law is symmetric about 1/2.
  for (double a : {0.5, 1.0, 7.5, 300.0, 5000.0}) {
    EXPECT_NEAR(svr::log10_beta_sf(0.5, a, a), std::log10(0.5), 1e-13) << "a=" << a;
    const double lo = svr::log10_beta_sf(0.3, a, a);
    EXPECT_NEAR(std::pow(10.0, lo) + std::pow(10.0, svr::log10_beta_sf(0.7, a, a)), 1.0, 1e-13);
  }
  // a = 1/2, b = 1/2 (arcsine law): P(X >= x) = 1 - (2/pi) asin(sqrt(x)).
  EXPECT_NEAR(svr::log10_beta_sf(0.25, 0.5, 0.5), std::log10(1.0 - 2.0 / M_PI * std::asin(0.5)),
              1e-14);
  // a = 1/2 (z = 1) near x = 1: P(X >= x) -> 0 continuously, finite just below 1.
  const double near_one = std::nextafter(1.0, 0.0);
  EXPECT_TRUE(std::isfinite(svr::log10_beta_sf(near_one, 0.5, 2047.5)));
  EXPECT_LT(svr::log10_beta_sf(near_one, 0.5, 2047.5), -30000.0);
}

TEST(Log10BetaSf, SwitchOverIsContinuous) {
  for (auto [a, b] : {std::pair{0.5, 2047.5}, std::pair{4.5, 2299.5}, std::pair{40.0, 40.0},
                      std::pair{1.5, 600.0}, std::pair{24.5, 12520.0}}) {
    // Bisect for the x where Boost's ibetac crosses 1e-290, the switch-over point.
    double lo = a / (a + b), hi = 1.0;
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      (boost::math::ibetac(a, b, mid) >= 1e-290 ? lo : hi) = mid;
    }
    const double below = svr::log10_beta_sf(lo, a, b);  // Boost branch
    const double above = svr::log10_beta_sf(hi, a, b);  // log-space branch
    EXPECT_NEAR(below, std::log10(boost::math::ibetac(a, b, lo)), 1e-13 * 290);
    EXPECT_EQ(above, svr::log10_beta_sf_log_space(hi, a, b));
    // lo and hi are adjacent doubles, but near x = 1 (a = b = 40) one ulp of x still moves log10 p
    // by ~1e-7: the step across the switch must be the step of one branch alone.
    const double own_step = svr::log10_beta_sf_log_space(lo, a, b) - above;
    EXPECT_NEAR(below - above, own_step, 1e-12 * 290) << "a=" << a << " b=" << b;
    // Both branches at the same points agree too.
    for (double x : {lo, hi, 0.5 * (lo + (a + 1) / (a + b + 2))}) {
      const double boost_value = std::log10(boost::math::ibetac(a, b, x));
      ASSERT_TRUE(std::isfinite(boost_value));
      EXPECT_NEAR(svr::log10_beta_sf_log_space(x, a, b), boost_value, 1e-12 * std::fabs(boost_value))
          << "a=" << a << " b=" << b << " x=" << x;
    }
  }
}

TEST(Log10BetaSf, MonotoneAcrossBothBranches) {
  const double a = 0.5, b = 2047.5;
  double previous = 0.0;
  for (int i = 1; i < 1000; ++i) {
    const double v = svr::log10_beta_sf(i / 1000.0, a, b);
    EXPECT_LE(v, previous) << "x=" << i / 1000.0;
    previous = v;
  }
}

TEST(Log10BetaSf, InvalidParametersThrow) {
  EXPECT_THROW(svr::log10_beta_sf(0.5, 0.0, 1.0), std::invalid_argument);
  EXPECT_THROW(svr::log10_beta_sf(0.5, 1.0, -1.0), std::invalid_argument);
  EXPECT_THROW(svr::log10_beta_sf(std::nan(""), 1.0, 1.0), std::invalid_argument);
}

TEST(BetaNullParams, HalfPositionsAndRest) {
  const auto p = svr::beta_null_params(512, 9);
  EXPECT_EQ(p.a, 4.5);
  EXPECT_EQ(p.b, 2299.5);
  EXPECT_NEAR(p.a / (p.a + p.b), 1.0 / 512, 1e-15);  // mean 1/c
  EXPECT_THROW(svr::beta_null_params(1, 1), std::invalid_argument);
}

TEST(Chi2EdgeThreshold, MatchesScipy) {
  // /usr/bin/python3, scipy 1.10:
  //   from scipy.stats import chi2, norm; chi2.ppf(norm.cdf(s), z) / (z * c)
  struct Case {
    double sigma;
    std::int64_t z, c;
    double expected;
  };
  const Case cases[] = {
      {3.0, 1, 64, 0.1605159072662429},     {3.0, 9, 512, 0.0058796282866045877},
      {3.0, 49, 512, 0.0033511223591861333}, {3.0, 1, 4096, 0.0025080610510350453},
      {2.0, 4, 3, 0.94711792714931686},     {5.0, 25, 100, 0.030972756546399971},
      {3.0, 2, 1, 6.6077262215103429},
  };
  for (const auto& c : cases) {
    EXPECT_NEAR(svr::chi2_edge_threshold(c.sigma, c.z, c.c) / c.expected, 1.0, 1e-10)
        << "sigma=" << c.sigma << " z=" << c.z << " c=" << c.c;
  }
  // z = 1, c = 1: P(Z^2 <= q) = Phi(3) puts sqrt(q) above 3.
  EXPECT_GT(svr::chi2_edge_threshold(3.0, 1, 1), 9.0);
  EXPECT_THROW(svr::chi2_edge_threshold(3.0, 0, 4), std::invalid_argument);
}

}  // namespace

// Tests of the uniform quantizer (codec/quant): every compiled SIMD target against the scalar
// definition, bit for bit; error bounds; clip ranges; parameter validation.
//
// The per-target tests force dynamic dispatch to one target (hwy::TestWithParamTarget does
// SetSupportedTargetsForTest) and then call the library's dispatched entry points, checking
// that the library really ran that target.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/quant_test.cc"
#include "codec/quant/quant.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/tests/test_util-inl.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

// Helpers shared by all targets: compiled once (toggle guard, as foreach_target re-includes us).
#ifndef FTCODEC_TESTS_QUANT_TEST_HELPERS_
#define FTCODEC_TESTS_QUANT_TEST_HELPERS_
namespace ftc {
namespace quant_test {

// The contract of quant.h, written out independently of the library's reference.
inline void SpecQuantize(const float* x, size_t n, const QuantParams& p, uint16_t* q) {
  const float lmax = static_cast<float>((1u << p.bits) - 1);
  for (size_t i = 0; i < n; ++i) {
    if (p.hi == p.lo) {
      q[i] = 0;
      continue;
    }
    const float scale = lmax / (p.hi - p.lo);
    const float diff = x[i] - p.lo;
    const float prod = diff * scale;
    const float t = prod + p.rounding;
    const float f = std::floor(t);
    if (std::isnan(f) || f <= 0) {
      q[i] = 0;
    } else {
      q[i] = static_cast<uint16_t>(std::min(f, lmax));
    }
  }
}

inline void SpecDequantize(const uint16_t* q, size_t n, const QuantParams& p, float* out) {
  const uint32_t lmax = (1u << p.bits) - 1;
  for (size_t i = 0; i < n; ++i) {
    if (p.hi == p.lo) {
      out[i] = p.lo;
      continue;
    }
    const float step = (p.hi - p.lo) / static_cast<float>(lmax);
    const float prod = static_cast<float>(std::min<uint32_t>(q[i], lmax)) * step;
    out[i] = p.lo + prod;
  }
}

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

inline double Uniform(hwy::RandomState* rng) {
  return static_cast<double>(hwy::Random32(rng)) / 4294967296.0;
}

inline float Uniform(hwy::RandomState* rng, double lo, double hi) {
  return static_cast<float>(lo + (hi - lo) * Uniform(rng));
}

// Ranges that exercise ordinary, ReLU, tiny, huge and degenerate cases.
inline std::vector<QuantParams> ParamSets(int bits) {
  const float denorm_min = std::numeric_limits<float>::denorm_min();
  std::vector<QuantParams> sets = {
      {-1.0f, 3.0f, bits, 0.5f},   {0.0f, 5.5f, bits, 0.5f},       {0.0f, 5.5f, bits, 0.25f},
      {-1e-3f, 2e-3f, bits, 0.0f}, {-1e30f, 1e30f, bits, 0.5f},    {-1.5e38f, 1.5e38f, bits, 0.5f},
      {0.0f, 1e-40f, bits, 0.5f},  {-3e-39f, 2e-38f, bits, 0.37f}, {0.0f, denorm_min, bits, 0.5f},
      {2.5f, 2.5f, bits, 0.5f},    {-0.0f, 1.0f, bits, 0.5f},      {0.1f, 0.30000001f, bits, 0.5f},
  };
  return sets;
}

// Inputs for `p`: random values inside and outside the range, every kind of special value,
// and values at and next to the level thresholds (where floor() changes its result).
inline std::vector<float> MakeInputs(const QuantParams& p, size_t n, hwy::RandomState* rng) {
  const double lo = p.lo, hi = p.hi;
  const double span = std::max(hi - lo, 1e-30);
  const float specials[] = {0.0f,
                            -0.0f,
                            p.lo,
                            p.hi,
                            std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min(),
                            1e-39f,
                            -1e-39f,
                            FLT_MAX,
                            -FLT_MAX,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            std::nextafter(p.lo, -INFINITY),
                            std::nextafter(p.hi, INFINITY)};
  const uint32_t lmax = (1u << p.bits) - 1;
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    switch (hwy::Random32(rng) % 8) {
      case 0:
        x[i] = specials[hwy::Random32(rng) % (sizeof(specials) / sizeof(specials[0]))];
        break;
      case 1:
      case 2: {  // a threshold: x with (x - lo) * scale + rounding == k, and its neighbours
        const uint32_t k = hwy::Random32(rng) % (lmax + 1);
        float b = static_cast<float>(lo + (k - p.rounding) * span / lmax);
        const int nudge = static_cast<int>(hwy::Random32(rng) % 5) - 2;
        for (int s = 0; s < std::abs(nudge); ++s)
          b = std::nextafter(b, nudge > 0 ? INFINITY : -INFINITY);
        x[i] = b;
        break;
      }
      case 3:  // outside the range
        x[i] = Uniform(rng, lo - 2 * span, hi + 2 * span);
        break;
      default:
        x[i] = Uniform(rng, lo, hi);
    }
  }
  return x;
}

// Sizes 0..1000 are all covered for a few bit depths; the others get a sparse set.
inline std::vector<size_t> Sizes(int bits) {
  std::vector<size_t> sizes;
  const bool dense = bits == 1 || bits == 4 || bits == 16;
  for (size_t n = 0; n <= 1000; n += dense ? 1 : 37) sizes.push_back(n);
  for (size_t n : {1, 7, 15, 16, 17, 31, 33, 63, 65, 4099}) sizes.push_back(n);
  return sizes;
}

}  // namespace quant_test
}  // namespace ftc
#endif  // FTCODEC_TESTS_QUANT_TEST_HELPERS_

HWY_BEFORE_NAMESPACE();
namespace ftc::HWY_NAMESPACE {

namespace qt = ::ftc::quant_test;

void TestQuantizeMatchesSpec() {
  ASSERT_EQ(QuantizeDispatchTargetForTest(), HWY_TARGET) << hwy::TargetName(HWY_TARGET);
  hwy::RandomState rng(1234 + HWY_TARGET);
  for (int bits = kMinQuantBits; bits <= kMaxQuantBits; ++bits) {
    for (const QuantParams& p : qt::ParamSets(bits)) {
      ASSERT_TRUE(ValidateQuantParams(p).ok()) << p.lo << " " << p.hi;
      for (size_t n : qt::Sizes(bits)) {
        // +1: also start at an address that is not vector-aligned.
        const std::vector<float> x = qt::MakeInputs(p, n + 1, &rng);
        const float* in = x.data() + (n % 2);
        std::vector<uint16_t> got(n + 1, 0xAAAA), want(n + 1, 0xAAAA);
        Quantize(in, n, p, got.data());
        qt::SpecQuantize(in, n, p, want.data());
        for (size_t i = 0; i <= n; ++i) {
          ASSERT_EQ(got[i], want[i])
              << hwy::TargetName(HWY_TARGET) << " bits " << bits << " [" << p.lo << ", " << p.hi
              << "] r " << p.rounding << " n " << n << " i " << i << " x " << in[i];
        }
      }
    }
  }
}

void TestDequantizeMatchesSpec() {
  ASSERT_EQ(DequantizeDispatchTargetForTest(), HWY_TARGET) << hwy::TargetName(HWY_TARGET);
  hwy::RandomState rng(99 + HWY_TARGET);
  for (int bits = kMinQuantBits; bits <= kMaxQuantBits; ++bits) {
    const uint32_t lmax = (1u << bits) - 1;
    for (const QuantParams& p : qt::ParamSets(bits)) {
      for (size_t n : qt::Sizes(bits)) {
        std::vector<uint16_t> q(n + 1);
        for (auto& v : q) {
          const uint32_t r = hwy::Random32(&rng);
          // Mostly valid levels, the ends, and some out-of-range levels (clamped).
          v = static_cast<uint16_t>(r % 8 == 0   ? (r >> 8)
                                    : r % 8 == 1 ? lmax
                                                 : (r >> 8) % (lmax + 1));
        }
        const uint16_t* in = q.data() + (n % 2);
        std::vector<float> got(n + 1, -7.0f), want(n + 1, -7.0f);
        Dequantize(in, n, p, got.data());
        qt::SpecDequantize(in, n, p, want.data());
        for (size_t i = 0; i <= n; ++i) {
          ASSERT_EQ(qt::FloatBits(got[i]), qt::FloatBits(want[i]))
              << hwy::TargetName(HWY_TARGET) << " bits " << bits << " [" << p.lo << ", " << p.hi
              << "] n " << n << " i " << i << " q " << in[i] << " got " << got[i] << " want "
              << want[i];
        }
      }
    }
  }
}

void TestFiniteMinMax() {
  ASSERT_EQ(QuantizeDispatchTargetForTest(), HWY_TARGET) << hwy::TargetName(HWY_TARGET);
  hwy::RandomState rng(7 + HWY_TARGET);
  const float bad_values[] = {
      std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
      std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (size_t n = 0; n <= 300; ++n) {
    std::vector<float> x(n + 1);
    for (auto& v : x) v = qt::Uniform(&rng, -100.0, 50.0);
    if (n > 0 && n % 3 == 0) x[hwy::Random32(&rng) % n] = FLT_MAX;
    if (n > 0 && n % 5 == 0) x[hwy::Random32(&rng) % n] = std::numeric_limits<float>::denorm_min();
    const float* in = x.data() + (n % 2);
    float mn = 1, mx = -1;
    ASSERT_TRUE(FiniteMinMax(in, n, &mn, &mx));
    const float want_min = n ? *std::min_element(in, in + n) : 0.0f;
    const float want_max = n ? *std::max_element(in, in + n) : 0.0f;
    EXPECT_EQ(qt::FloatBits(mn), qt::FloatBits(want_min)) << hwy::TargetName(HWY_TARGET) << n;
    EXPECT_EQ(qt::FloatBits(mx), qt::FloatBits(want_max)) << hwy::TargetName(HWY_TARGET) << n;
    // A non-finite value anywhere, including the tail and the first element, is reported.
    for (size_t pos = 0; pos < n; pos += (n < 40 ? 1 : 13)) {
      std::vector<float> y(in, in + n);
      y[pos] = bad_values[pos % 4];
      EXPECT_FALSE(FiniteMinMax(y.data(), n, &mn, &mx)) << hwy::TargetName(HWY_TARGET) << n;
    }
  }
  // Zeros of both signs give +0 whatever the lane order.
  for (size_t n = 1; n <= 40; ++n) {
    std::vector<float> z(n);
    for (size_t i = 0; i < n; ++i) z[i] = (hwy::Random32(&rng) & 1) ? -0.0f : 0.0f;
    float mn, mx;
    ASSERT_TRUE(FiniteMinMax(z.data(), n, &mn, &mx));
    EXPECT_EQ(qt::FloatBits(mn), 0u) << hwy::TargetName(HWY_TARGET) << n;
    EXPECT_EQ(qt::FloatBits(mx), 0u) << hwy::TargetName(HWY_TARGET) << n;
  }
}

}  // namespace ftc::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <hwy/tests/hwy_gtest.h>

namespace ftc {

HWY_BEFORE_TEST(QuantTargetTest);
HWY_EXPORT_AND_TEST_P(QuantTargetTest, TestQuantizeMatchesSpec);
HWY_EXPORT_AND_TEST_P(QuantTargetTest, TestDequantizeMatchesSpec);
HWY_EXPORT_AND_TEST_P(QuantTargetTest, TestFiniteMinMax);

namespace {

using quant_test::FloatBits;

// Slack of the round-trip bound, in x units. Rounding errors: fl(x - lo), the scale, the product
// and the + rounding move t by at most ~5u (T + 1) levels (u = FLT_EPSILON / 2, T <= L-1), i.e.
// <= 10u (hi - lo) after multiplying by the step; lo + q * step adds <= 3u (hi - lo) from the
// step and the product plus u |x^| from the final add. 8 eps (hi - lo) + eps max(|lo|, |hi|)
// covers that with room to spare.
double Slack(const QuantParams& p) {
  return 8.0 * FLT_EPSILON * (static_cast<double>(p.hi) - p.lo) +
         FLT_EPSILON * std::max(std::fabs(p.lo), std::fabs(p.hi));
}

double StepOf(const QuantParams& p) {
  return static_cast<double>((p.hi - p.lo) / static_cast<float>(QuantMaxLevel(p.bits)));
}

TEST(QuantTest, LibraryReferenceMatchesSpec) {
  hwy::RandomState rng(5);
  for (int bits = kMinQuantBits; bits <= kMaxQuantBits; ++bits) {
    for (const QuantParams& p : quant_test::ParamSets(bits)) {
      const std::vector<float> x = quant_test::MakeInputs(p, 2000, &rng);
      std::vector<uint16_t> q(x.size()), want(x.size());
      QuantizeReference(x.data(), x.size(), p, q.data());
      quant_test::SpecQuantize(x.data(), x.size(), p, want.data());
      ASSERT_EQ(q, want) << bits;
      std::vector<float> y(x.size()), want_y(x.size());
      DequantizeReference(q.data(), q.size(), p, y.data());
      quant_test::SpecDequantize(q.data(), q.size(), p, want_y.data());
      for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(FloatBits(y[i]), FloatBits(want_y[i]));
    }
  }
}

TEST(QuantTest, KnownValues) {
  // 2 bits over [0, 3]: step 1, thresholds at 0.5, 1.5, 2.5.
  const QuantParams p{0.0f, 3.0f, 2, 0.5f};
  // 0.49999997f = 0.5 - 2^-25: in f32, t = x + 0.5 is a tie between 1 - 2^-24 and 1 and rounds
  // to 1, so it lands in level 1 although x < 0.5. That is the contract (f32 as written).
  const float x[] = {-1.0f, 0.0f, 0.49999994f, 0.49999997f, 0.5f,     1.4999999f, 1.5f,
                     2.5f,  3.0f, 100.0f,      NAN,         INFINITY, -INFINITY};
  const uint16_t want[] = {0, 0, 0, 1, 1, 1, 2, 3, 3, 3, 0, 3, 0};
  constexpr size_t n = sizeof(x) / sizeof(x[0]);
  uint16_t q[n];
  Quantize(x, n, p, q);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(q[i], want[i]) << i;
  float y[n];
  Dequantize(q, n, p, y);
  const float want_y[] = {0, 0, 0, 1, 1, 1, 2, 3, 3, 3, 0, 3, 0};
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], want_y[i]) << i;

  // Dead zone: rounding 0.2 -> thresholds at 0.8, 1.8, 2.8.
  const QuantParams dz{0.0f, 3.0f, 2, 0.2f};
  const float xd[] = {0.79f, 0.8f, 1.79f, 1.8f, 2.8f};
  const uint16_t want_d[] = {0, 1, 1, 2, 3};
  uint16_t qd[5];
  Quantize(xd, 5, dz, qd);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(qd[i], want_d[i]) << i;

  // hi == lo: one level; the decoder returns lo exactly (also -0).
  const QuantParams flat{-0.0f, -0.0f, 8, 0.5f};
  const float xf[] = {-5.0f, 0.0f, 5.0f};
  uint16_t qf[3] = {9, 9, 9};
  Quantize(xf, 3, flat, qf);
  EXPECT_EQ(qf[0] | qf[1] | qf[2], 0);
  const uint16_t levels[] = {0, 1, 255};
  float yf[3];
  Dequantize(levels, 3, flat, yf);
  for (float v : yf) EXPECT_EQ(FloatBits(v), FloatBits(-0.0f));

  // Levels above L-1 (corrupt input) are clamped.
  const uint16_t over[] = {4, 65535};
  float yo[2];
  Dequantize(over, 2, p, yo);
  EXPECT_EQ(yo[0], 3.0f);
  EXPECT_EQ(yo[1], 3.0f);
}

TEST(QuantTest, RoundTripErrorWithinHalfStep) {
  hwy::RandomState rng(11);
  const float rounding_values[] = {0.5f, 0.25f, 0.0f};
  for (int bits = kMinQuantBits; bits <= kMaxQuantBits; ++bits) {
    for (float rounding : rounding_values) {
      for (QuantParams p :
           {QuantParams{-1.0f, 3.0f, bits, rounding}, QuantParams{0.0f, 6.25f, bits, rounding},
            QuantParams{-2e-5f, -1e-5f, bits, rounding},
            QuantParams{1000.0f, 1001.5f, bits, rounding},
            QuantParams{-1e37f, 3e37f, bits, rounding}}) {
        // Mid-point rounding gives |x - x^| <= step/2; rounding r < 0.5 gives <= (1-r) step.
        const double bound = (1.0 - p.rounding) * StepOf(p) + Slack(p);
        std::vector<float> x(5000);
        for (auto& v : x) v = quant_test::Uniform(&rng, p.lo, p.hi);
        x[0] = p.lo;
        x[1] = p.hi;
        std::vector<uint16_t> q(x.size());
        std::vector<float> y(x.size());
        Quantize(x.data(), x.size(), p, q.data());
        Dequantize(q.data(), q.size(), p, y.data());
        double worst = 0;
        for (size_t i = 0; i < x.size(); ++i) {
          worst = std::max(worst, std::fabs(static_cast<double>(y[i]) - x[i]));
        }
        EXPECT_LE(worst, bound) << "bits " << bits << " [" << p.lo << ", " << p.hi << "] r "
                                << rounding;
        // The bound is not vacuous (unless f32 spacing near the range is coarser than a step).
        const double ulp = std::max(std::fabs(p.lo), std::fabs(p.hi)) * FLT_EPSILON;
        if (rounding == 0.5f && StepOf(p) > 16 * ulp) {
          EXPECT_GT(worst, 0.3 * StepOf(p));
        }
      }
    }
  }
}

TEST(QuantTest, ValuesOutsideTheRangeAreClipped) {
  hwy::RandomState rng(12);
  for (int bits : {1, 3, 8, 12, 16}) {
    const QuantParams p{-0.5f, 2.0f, bits, 0.5f};
    std::vector<float> x(2000);
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = i % 2 ? quant_test::Uniform(&rng, 2.0000002, 1e6)
                   : quant_test::Uniform(&rng, -1e6, -0.50000006);
    }
    std::vector<uint16_t> q(x.size());
    std::vector<float> y(x.size());
    Quantize(x.data(), x.size(), p, q.data());
    Dequantize(q.data(), q.size(), p, y.data());
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i] < p.lo) {
        EXPECT_EQ(q[i], 0);
        EXPECT_EQ(y[i], p.lo);  // lo + 0 * step is exactly lo
      } else {
        EXPECT_EQ(q[i], QuantMaxLevel(bits));
        EXPECT_NEAR(y[i], p.hi, Slack(p));  // the top level reconstructs hi up to rounding
      }
    }
  }
}

TEST(QuantTest, ZeroIsExactWhenLoIsZero) {
  // Post-ReLU ranges start at lo = 0: 0 quantizes to level 0 (floor(0 + r) = 0 for r < 1) and
  // level 0 reconstructs as 0 + 0 * step = 0, so zeros survive exactly at every bit depth.
  for (int bits = kMinQuantBits; bits <= kMaxQuantBits; ++bits) {
    for (float rounding : {0.5f, 0.1f}) {
      const QuantParams p{0.0f, 7.3f, bits, rounding};
      const float zeros[] = {0.0f, -0.0f};
      uint16_t q[2];
      Quantize(zeros, 2, p, q);
      float y[2];
      Dequantize(q, 2, p, y);
      EXPECT_EQ(q[0], 0);
      EXPECT_EQ(q[1], 0);
      EXPECT_EQ(FloatBits(y[0]), 0u);
      EXPECT_EQ(FloatBits(y[1]), 0u);
    }
  }
}

TEST(QuantTest, ValidateQuantParams) {
  EXPECT_TRUE(ValidateQuantParams({-1.0f, 1.0f, 1, 0.0f}).ok());
  EXPECT_TRUE(ValidateQuantParams({2.0f, 2.0f, 16, 0.5f}).ok());
  struct Case {
    QuantParams p;
    const char* needle;
  };
  const Case cases[] = {
      {{0.0f, 1.0f, 0, 0.5f}, "bits 0"},    {{0.0f, 1.0f, 17, 0.5f}, "bits 17"},
      {{NAN, 1.0f, 4, 0.5f}, "not finite"}, {{0.0f, INFINITY, 4, 0.5f}, "not finite"},
      {{2.0f, 1.0f, 4, 0.5f}, "lo > hi"},   {{-3e38f, 3e38f, 4, 0.5f}, "overflows"},
      {{0.0f, 1.0f, 4, 0.6f}, "rounding"},  {{0.0f, 1.0f, 4, -0.1f}, "rounding"},
      {{0.0f, 1.0f, 4, NAN}, "rounding"},
  };
  for (const Case& c : cases) {
    const Status s = ValidateQuantParams(c.p);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.needle;
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << s.message();
  }
}

ClipSpec Clip(ClipSpec::Kind kind, double a = 0, double b = 0) {
  ClipSpec c;
  c.kind = kind;
  c.a = a;
  c.b = b;
  return c;
}

Result<QuantParams> Range(const std::vector<float>& x, const ClipSpec& clip) {
  return ComputeQuantRange(x.data(), x.size(), clip, 8, 0.5f);
}

TEST(QuantRangeTest, None) {
  const std::vector<float> x = {3.0f, -0.0f, 7.5f, -2.25f, 0.0f};
  Result<QuantParams> r = Range(x, Clip(ClipSpec::Kind::kNone));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lo, -2.25f);
  EXPECT_EQ(r->hi, 7.5f);
  EXPECT_EQ(r->bits, 8);
  EXPECT_EQ(r->rounding, 0.5f);
  // All zeros of mixed sign: +0 both ends.
  r = Range({-0.0f, 0.0f, -0.0f}, Clip(ClipSpec::Kind::kNone));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(FloatBits(r->lo), 0u);
  EXPECT_EQ(FloatBits(r->hi), 0u);
  // Empty input.
  r = Range({}, Clip(ClipSpec::Kind::kNone));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 0.0f);
  EXPECT_EQ(r->hi, 0.0f);
}

TEST(QuantRangeTest, FixedRange) {
  const std::vector<float> x = {100.0f, -100.0f};
  Result<QuantParams> r = Range(x, Clip(ClipSpec::Kind::kRange, -1.5, 4));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lo, -1.5f);
  EXPECT_EQ(r->hi, 4.0f);
  for (const ClipSpec& bad :
       {Clip(ClipSpec::Kind::kRange, 2, 2), Clip(ClipSpec::Kind::kRange, 3, 2),
        Clip(ClipSpec::Kind::kRange, NAN, 2), Clip(ClipSpec::Kind::kRange, 0, 1e39),
        Clip(ClipSpec::Kind::kRange, 1, 1 + 1e-12), Clip(ClipSpec::Kind::kRange, -3e38, 3e38)}) {
    r = Range(x, bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad.a << ":" << bad.b;
  }
}

TEST(QuantRangeTest, Sigma) {
  // mean 3, population sigma sqrt(2).
  const std::vector<float> x = {5.0f, 1.0f, 4.0f, 2.0f, 3.0f};
  Result<QuantParams> r = Range(x, Clip(ClipSpec::Kind::kSigma, 1.0));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lo, static_cast<float>(3.0 - std::sqrt(2.0)));
  EXPECT_EQ(r->hi, static_cast<float>(3.0 + std::sqrt(2.0)));
  // 3 sigma reaches past the data: intersected with [min, max].
  r = Range(x, Clip(ClipSpec::Kind::kSigma, 3.0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 1.0f);
  EXPECT_EQ(r->hi, 5.0f);
  // Constant data: sigma 0, lo == hi == the value.
  r = Range({0.7f, 0.7f, 0.7f}, Clip(ClipSpec::Kind::kSigma, 2.0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 0.7f);
  EXPECT_EQ(r->hi, 0.7f);
  // Huge values: mean +- K sigma beyond the f32 range still gives a valid, clipped range.
  r = Range({-1e38f, 1e38f, 0.0f}, Clip(ClipSpec::Kind::kSigma, 100.0));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lo, -1e38f);
  EXPECT_EQ(r->hi, 1e38f);
  for (double k : {0.0, -1.0, double{NAN}, double{INFINITY}}) {
    EXPECT_EQ(Range(x, Clip(ClipSpec::Kind::kSigma, k)).status().code(),
              StatusCode::kInvalidArgument)
        << k;
  }
}

TEST(QuantRangeTest, PercentileNearestRank) {
  // 1..100 in a scrambled order: the k-th smallest is k.
  std::vector<float> x(100);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 100 + 1);
  struct Case {
    double p;
    float lo, hi;
  };
  // k = max(1, ceil(P * n / 100)); hi = s[k-1], lo = s[n-k].
  const Case cases[] = {{99, 2, 99},    {95, 6, 95},    {100, 1, 100},
                        {99.5, 1, 100}, {50.5, 50, 51}, {75, 26, 75}};
  for (const Case& c : cases) {
    Result<QuantParams> r = Range(x, Clip(ClipSpec::Kind::kPercentile, c.p));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->lo, c.lo) << "p" << c.p;
    EXPECT_EQ(r->hi, c.hi) << "p" << c.p;
  }
  // n = 7, p90: k = ceil(6.3) = 7 -> [min, max]; p80: k = ceil(5.6) = 6 -> 2nd smallest/largest.
  const std::vector<float> y = {0.0f, 10.0f, -4.0f, 2.0f, 2.0f, 8.0f, -1.0f};
  Result<QuantParams> r = Range(y, Clip(ClipSpec::Kind::kPercentile, 90));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, -4.0f);
  EXPECT_EQ(r->hi, 10.0f);
  r = Range(y, Clip(ClipSpec::Kind::kPercentile, 80));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, -1.0f);
  EXPECT_EQ(r->hi, 8.0f);
  // One value.
  r = Range({3.5f}, Clip(ClipSpec::Kind::kPercentile, 99));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 3.5f);
  EXPECT_EQ(r->hi, 3.5f);
  for (double p : {50.0, 10.0, 100.5, double{NAN}}) {
    EXPECT_EQ(Range(x, Clip(ClipSpec::Kind::kPercentile, p)).status().code(),
              StatusCode::kInvalidArgument)
        << p;
  }
}

TEST(QuantRangeTest, NonFiniteInputIsRejected) {
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> x(37, 1.0f);
    x[36] = bad;
    for (const ClipSpec& clip :
         {Clip(ClipSpec::Kind::kNone), Clip(ClipSpec::Kind::kRange, 0, 1),
          Clip(ClipSpec::Kind::kSigma, 3), Clip(ClipSpec::Kind::kPercentile, 99)}) {
      Result<QuantParams> r = Range(x, clip);
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message(),
                "input contains NaN or Inf; lossy codecs need finite values (use --lossless or "
                "raw)");
    }
  }
}

TEST(QuantRangeTest, BadParametersAndOverflow) {
  const std::vector<float> x = {1.0f, 2.0f};
  EXPECT_EQ(ComputeQuantRange(x.data(), 2, {}, 0, 0.5f).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeQuantRange(x.data(), 2, {}, 17, 0.5f).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeQuantRange(x.data(), 2, {}, 4, 0.75f).status().code(),
            StatusCode::kInvalidArgument);
  const std::vector<float> wide = {-3e38f, 3e38f};
  Result<QuantParams> r = ComputeQuantRange(wide.data(), 2, {}, 4, 0.5f);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("overflows"), std::string::npos);
}

}  // namespace
}  // namespace ftc
#endif  // HWY_ONCE

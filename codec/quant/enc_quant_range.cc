// Quantizer parameters: validation and the clipping range of a ClipSpec (scalar, deterministic).
//
// The range is computed once per frame or channel and stored in the stream as two f32 values,
// so a decoder never recomputes it; it still has to be deterministic (same bytes from the same
// input everywhere). Hence: double arithmetic in index order (no reassociation: the build has
// no -ffast-math), order statistics instead of interpolation, and +0 for a zero bound.

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "base/status_macros.h"
#include "codec/quant/quant.h"

namespace ftc {
namespace {

constexpr const char* kNonFiniteInput =
    "input contains NaN or Inf; lossy codecs need finite values (use --lossless or raw)";

// Which zero SIMD min/max or nth_element returns is not specified; the stream gets +0.
float CanonicalZero(float v) { return v == 0.0f ? 0.0f : v; }

// double -> f32 for a value known to lie within [lo, hi] (two f32 values): never overflows.
float ToFloatWithin(double v, float lo, float hi) {
  return static_cast<float>(std::clamp(v, static_cast<double>(lo), static_cast<double>(hi)));
}

// Nearest-rank percentile pair, see quant.h.
void PercentileRange(const float* x, size_t n, double percent, float* lo, float* hi) {
  const double rank = std::ceil(percent * static_cast<double>(n) / 100.0);
  const size_t k = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(n)));
  std::vector<float> sorted(x, x + n);
  // After the first nth_element everything before k-1 is <= s[k-1], and n-k <= k-1 because
  // percent > 50, so the second search only needs that prefix.
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end());
  *hi = sorted[k - 1];
  std::nth_element(sorted.begin(), sorted.begin() + (n - k), sorted.begin() + (k - 1));
  *lo = sorted[n - k];
}

// mean -+ K * sigma intersected with [min, max]; population sigma, two passes in index order.
void SigmaRange(const float* x, size_t n, double k, float min, float max, float* lo, float* hi) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]);
  const double mean = sum / static_cast<double>(n);
  double sq = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    sq += d * d;
  }
  const double sigma = std::sqrt(sq / static_cast<double>(n));
  *lo = ToFloatWithin(mean - k * sigma, min, max);
  *hi = ToFloatWithin(mean + k * sigma, min, max);
}

}  // namespace

Result<QuantParams> ComputeQuantRange(const float* x, size_t n, const ClipSpec& clip, int bits,
                                      float rounding) {
  QuantParams p;
  p.bits = bits;
  p.rounding = rounding;
  FTC_RETURN_IF_ERROR(ValidateQuantParams(p));  // bits and rounding; lo = hi = 0 for now

  float min = 0, max = 0;
  if (!FiniteMinMax(x, n, &min, &max)) return FTC_INVALID("%s", kNonFiniteInput);

  switch (clip.kind) {
    case ClipSpec::Kind::kNone:
      p.lo = min;
      p.hi = max;
      break;
    case ClipSpec::Kind::kRange: {
      const double a = clip.a, b = clip.b;
      if (!std::isfinite(a) || !std::isfinite(b) || !(a < b)) {
        return FTC_INVALID("clip range [%g, %g]: need finite a < b", a, b);
      }
      if (std::fabs(a) > FLT_MAX || std::fabs(b) > FLT_MAX) {
        return FTC_INVALID("clip range [%g, %g] exceeds the f32 range", a, b);
      }
      p.lo = static_cast<float>(a);
      p.hi = static_cast<float>(b);
      if (!(p.lo < p.hi)) {
        return FTC_INVALID("clip range [%g, %g] collapses to one f32 value", a, b);
      }
      break;
    }
    case ClipSpec::Kind::kSigma:
      if (!std::isfinite(clip.a) || !(clip.a > 0)) {
        return FTC_INVALID("clip %g sigma: the factor must be finite and > 0", clip.a);
      }
      if (n > 0) SigmaRange(x, n, clip.a, min, max, &p.lo, &p.hi);
      break;
    case ClipSpec::Kind::kPercentile:
      if (!std::isfinite(clip.a) || !(clip.a > 50.0 && clip.a <= 100.0)) {
        return FTC_INVALID("clip percentile p%g out of range: need 50 < P <= 100", clip.a);
      }
      if (n > 0) PercentileRange(x, n, clip.a, &p.lo, &p.hi);
      break;
    default:
      return FTC_INVALID("unknown clip kind %d", static_cast<int>(clip.kind));
  }
  p.lo = CanonicalZero(p.lo);
  p.hi = CanonicalZero(p.hi);
  FTC_RETURN_IF_ERROR(ValidateQuantParams(p));  // e.g. hi - lo overflowing f32
  return p;
}

Status QuantRangeError(const Status& error, const float* x, size_t n, const ClipSpec& clip) {
  float min = 0, max = 0;
  if (clip.kind != ClipSpec::Kind::kRange && FiniteMinMax(x, n, &min, &max) &&
      !std::isfinite(max - min)) {
    return FTC_UNSUPPORTED(
        "input values span [%g, %g]: the quantizer's range (max - min) overflows f32; lossy "
        "codecs need a narrower span (use --lossless or raw, or a --clip range)",
        min, max);
  }
  return error;
}

}  // namespace ftc

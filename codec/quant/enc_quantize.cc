// Encoder side of the uniform quantizer: FiniteMinMax and Quantize (Highway, dynamic dispatch).
//
// Bit-exactness across targets: the kernel does the same three f32 operations as the scalar
// reference (sub, mul, add; no FMA), then replaces floor + clamp by an equivalent that needs no
// Floor op: for t >= 0, clamp(floor(t), 0, L-1) == trunc(min(t, L-1)), and every t < 0 or NaN
// maps to 0. All of these are exact, so any target gives the reference's result.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/quant/enc_quantize.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cstring>

HWY_BEFORE_NAMESPACE();
namespace ftc::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Room for one vector of any target (tail handling).
constexpr size_t kMaxF32Lanes = HWY_MAX_BYTES / sizeof(float);

// q = trunc(v) where v = t if 0 <= t (then min with L-1), else 0; NaN fails `Ge` and gives 0.
template <class DF, class V>
HWY_INLINE void QuantizeVector(DF df, V x, V lo, V scale, V rounding, V lmax, uint16_t* q) {
  const hn::Rebind<int32_t, DF> di;
  const hn::Rebind<uint16_t, DF> du16;
  const V t = hn::Add(hn::Mul(hn::Sub(x, lo), scale), rounding);
  const V clamped = hn::IfThenElseZero(hn::Ge(t, hn::Zero(df)), hn::Min(t, lmax));
  // clamped lies in [0, L-1] with L-1 <= 65535: truncation equals floor there, and the
  // demotion to uint16 never saturates.
  hn::StoreU(hn::DemoteTo(du16, hn::ConvertTo(di, clamped)), du16, q);
}

void QuantizeKernel(const float* HWY_RESTRICT x, size_t n, float lo, float scale, float rounding,
                    float lmax, uint16_t* HWY_RESTRICT q) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const auto vlo = hn::Set(df, lo);
  const auto vscale = hn::Set(df, scale);
  const auto vround = hn::Set(df, rounding);
  const auto vlmax = hn::Set(df, lmax);
  size_t i = 0;
  // Two vectors per iteration: hides the latency of the dependent sub-mul-add chain.
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto x0 = hn::LoadU(df, x + i);
    const auto x1 = hn::LoadU(df, x + i + N);
    QuantizeVector(df, x0, vlo, vscale, vround, vlmax, q + i);
    QuantizeVector(df, x1, vlo, vscale, vround, vlmax, q + i + N);
  }
  for (; i + N <= n; i += N) {
    QuantizeVector(df, hn::LoadU(df, x + i), vlo, vscale, vround, vlmax, q + i);
  }
  if (i < n) {
    // Tail through a padded buffer, so the last values take exactly the vector path too.
    HWY_ALIGN float xbuf[kMaxF32Lanes] = {};
    HWY_ALIGN uint16_t qbuf[kMaxF32Lanes] = {};
    const size_t rest = n - i;
    std::memcpy(xbuf, x + i, rest * sizeof(float));
    QuantizeVector(df, hn::Load(df, xbuf), vlo, vscale, vround, vlmax, qbuf);
    std::memcpy(q + i, qbuf, rest * sizeof(uint16_t));
  }
}

// Exact min/max (min and max of non-NaN floats do not depend on order, except the sign of a
// zero, which the caller canonicalizes). `Sub(v, v)` is 0 for finite v and NaN for NaN and
// +-inf; summing those flags any non-finite value without a compare per vector.
bool MinMaxKernel(const float* HWY_RESTRICT x, size_t n, float* HWY_RESTRICT min,
                  float* HWY_RESTRICT max) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  auto vmin = hn::Set(df, x[0]);
  auto vmax = vmin;
  auto bad = hn::Zero(df);
  size_t i = 0;
  if (n >= 4 * N) {
    // Four independent chains: Min/Max/Add latency, not throughput, bounds a single chain.
    auto vmin1 = vmin, vmin2 = vmin, vmin3 = vmin;
    auto vmax1 = vmax, vmax2 = vmax, vmax3 = vmax;
    auto bad1 = bad, bad2 = bad, bad3 = bad;
    for (; i + 4 * N <= n; i += 4 * N) {
      const auto v0 = hn::LoadU(df, x + i);
      const auto v1 = hn::LoadU(df, x + i + N);
      const auto v2 = hn::LoadU(df, x + i + 2 * N);
      const auto v3 = hn::LoadU(df, x + i + 3 * N);
      vmin = hn::Min(vmin, v0);
      vmin1 = hn::Min(vmin1, v1);
      vmin2 = hn::Min(vmin2, v2);
      vmin3 = hn::Min(vmin3, v3);
      vmax = hn::Max(vmax, v0);
      vmax1 = hn::Max(vmax1, v1);
      vmax2 = hn::Max(vmax2, v2);
      vmax3 = hn::Max(vmax3, v3);
      bad = hn::Add(bad, hn::Sub(v0, v0));
      bad1 = hn::Add(bad1, hn::Sub(v1, v1));
      bad2 = hn::Add(bad2, hn::Sub(v2, v2));
      bad3 = hn::Add(bad3, hn::Sub(v3, v3));
    }
    vmin = hn::Min(hn::Min(vmin, vmin1), hn::Min(vmin2, vmin3));
    vmax = hn::Max(hn::Max(vmax, vmax1), hn::Max(vmax2, vmax3));
    bad = hn::Add(hn::Add(bad, bad1), hn::Add(bad2, bad3));
  }
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(df, x + i);
    vmin = hn::Min(vmin, v);
    vmax = hn::Max(vmax, v);
    bad = hn::Add(bad, hn::Sub(v, v));
  }
  if (i < n) {
    // Pad with x[0], which cannot change the result.
    HWY_ALIGN float buf[kMaxF32Lanes];
    for (size_t k = 0; k < N; ++k) buf[k] = x[0];
    std::memcpy(buf, x + i, (n - i) * sizeof(float));
    const auto v = hn::Load(df, buf);
    vmin = hn::Min(vmin, v);
    vmax = hn::Max(vmax, v);
    bad = hn::Add(bad, hn::Sub(v, v));
  }
  if (!hn::AllFalse(df, hn::IsNaN(bad))) return false;
  *min = hn::GetLane(hn::MinOfLanes(df, vmin));
  *max = hn::GetLane(hn::MaxOfLanes(df, vmax));
  return true;
}

int64_t QuantizeTargetKernel() { return HWY_TARGET; }

}  // namespace ftc::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cassert>
#include <cmath>

#include "codec/quant/quant.h"

namespace ftc {

HWY_EXPORT(QuantizeKernel);
HWY_EXPORT(MinMaxKernel);
HWY_EXPORT(QuantizeTargetKernel);

namespace {

// Shared by the kernel wrapper and the reference so both use the very same scale.
float QuantScale(const QuantParams& p) {
  return static_cast<float>(QuantMaxLevel(p.bits)) / (p.hi - p.lo);
}

}  // namespace

void Quantize(const float* x, size_t n, const QuantParams& p, uint16_t* q) {
  assert(ValidateQuantParams(p).ok());
  if (n == 0) return;
  if (!(p.lo < p.hi)) {  // hi == lo: one level
    std::fill(q, q + n, uint16_t{0});
    return;
  }
  const float lmax = static_cast<float>(QuantMaxLevel(std::clamp(p.bits, 1, 16)));
  HWY_DYNAMIC_DISPATCH(QuantizeKernel)(x, n, p.lo, QuantScale(p), p.rounding, lmax, q);
}

void QuantizeReference(const float* x, size_t n, const QuantParams& p, uint16_t* q) {
  const uint32_t lmax = QuantMaxLevel(p.bits);
  if (!(p.lo < p.hi)) {
    std::fill(q, q + n, uint16_t{0});
    return;
  }
  const float scale = QuantScale(p);
  for (size_t i = 0; i < n; ++i) {
    float t = (x[i] - p.lo) * scale;
    t = t + p.rounding;
    const float f = std::floor(t);
    uint16_t level = 0;
    if (f >= static_cast<float>(lmax)) {
      level = static_cast<uint16_t>(lmax);
    } else if (f > 0) {  // false for NaN
      level = static_cast<uint16_t>(f);
    }
    q[i] = level;
  }
}

bool FiniteMinMax(const float* x, size_t n, float* min, float* max) {
  if (n == 0) {
    *min = *max = 0.0f;
    return true;
  }
  if (!HWY_DYNAMIC_DISPATCH(MinMaxKernel)(x, n, min, max)) return false;
  // -0 -> +0: which zero Min/Max keep depends on lane order, and lo/hi go into the stream.
  if (*min == 0.0f) *min = 0.0f;
  if (*max == 0.0f) *max = 0.0f;
  return true;
}

int64_t QuantizeDispatchTargetForTest() { return HWY_DYNAMIC_DISPATCH(QuantizeTargetKernel)(); }

}  // namespace ftc
#endif  // HWY_ONCE

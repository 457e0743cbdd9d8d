// Decoder side of the uniform quantizer: Dequantize (Highway, dynamic dispatch). Needs nothing
// from the encoder files, so a decode-only build can leave them out.
//
// out = lo + float(min(q, L-1)) * step: uint16 -> int32 -> f32 is exact, then one f32 mul and
// one f32 add (no FMA), so every target matches the scalar reference bit for bit.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/quant/dec_dequantize.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cstring>

HWY_BEFORE_NAMESPACE();
namespace ftc::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Room for one vector of any target (tail handling).
constexpr size_t kMaxF32Lanes = HWY_MAX_BYTES / sizeof(float);

template <class DF, class VU, class V>
HWY_INLINE V DequantizeVector(DF df, VU levels, VU lmax, V lo, V step) {
  const hn::Rebind<int32_t, DF> di;
  const V qf = hn::ConvertTo(df, hn::PromoteTo(di, hn::Min(levels, lmax)));
  return hn::Add(lo, hn::Mul(qf, step));
}

void DequantizeKernel(const uint16_t* HWY_RESTRICT q, size_t n, float lo, float step, uint16_t lmax,
                      float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<uint16_t, decltype(df)> du16;
  const size_t N = hn::Lanes(df);
  const auto vlo = hn::Set(df, lo);
  const auto vstep = hn::Set(df, step);
  const auto vlmax = hn::Set(du16, lmax);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto q0 = hn::LoadU(du16, q + i);
    const auto q1 = hn::LoadU(du16, q + i + N);
    hn::StoreU(DequantizeVector(df, q0, vlmax, vlo, vstep), df, out + i);
    hn::StoreU(DequantizeVector(df, q1, vlmax, vlo, vstep), df, out + i + N);
  }
  for (; i + N <= n; i += N) {
    hn::StoreU(DequantizeVector(df, hn::LoadU(du16, q + i), vlmax, vlo, vstep), df, out + i);
  }
  if (i < n) {
    // Tail through a padded buffer, so the last values take exactly the vector path too.
    HWY_ALIGN uint16_t qbuf[kMaxF32Lanes] = {};
    HWY_ALIGN float obuf[kMaxF32Lanes];
    const size_t rest = n - i;
    std::memcpy(qbuf, q + i, rest * sizeof(uint16_t));
    hn::Store(DequantizeVector(df, hn::Load(du16, qbuf), vlmax, vlo, vstep), df, obuf);
    std::memcpy(out + i, obuf, rest * sizeof(float));
  }
}

int64_t DequantizeTargetKernel() { return HWY_TARGET; }

}  // namespace ftc::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cassert>

#include "codec/quant/quant.h"

namespace ftc {

HWY_EXPORT(DequantizeKernel);
HWY_EXPORT(DequantizeTargetKernel);

namespace {

// Shared by the kernel wrapper and the reference so both use the very same step.
float QuantStep(const QuantParams& p) {
  return (p.hi - p.lo) / static_cast<float>(QuantMaxLevel(p.bits));
}

}  // namespace

void Dequantize(const uint16_t* q, size_t n, const QuantParams& p, float* out) {
  assert(ValidateQuantParams(p).ok());
  if (n == 0) return;
  if (!(p.lo < p.hi)) {  // hi == lo: exactly lo (lo + 0 * step would turn -0 into +0)
    std::fill(out, out + n, p.lo);
    return;
  }
  const auto lmax = static_cast<uint16_t>(QuantMaxLevel(std::clamp(p.bits, 1, 16)));
  HWY_DYNAMIC_DISPATCH(DequantizeKernel)(q, n, p.lo, QuantStep(p), lmax, out);
}

void DequantizeReference(const uint16_t* q, size_t n, const QuantParams& p, float* out) {
  if (!(p.lo < p.hi)) {
    std::fill(out, out + n, p.lo);
    return;
  }
  const uint32_t lmax = QuantMaxLevel(p.bits);
  const float step = QuantStep(p);
  for (size_t i = 0; i < n; ++i) {
    const float level = static_cast<float>(std::min<uint32_t>(q[i], lmax));
    const float scaled = level * step;
    out[i] = p.lo + scaled;
  }
}

int64_t DequantizeDispatchTargetForTest() { return HWY_DYNAMIC_DISPATCH(DequantizeTargetKernel)(); }

}  // namespace ftc
#endif  // HWY_ONCE

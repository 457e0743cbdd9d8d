// Bulk dtype conversions (base/convert.h) with Highway: integer and f32 operations that give,
// element for element, exactly the scalar F32ToF16 / F16ToF32 / F32ToBF16 / BF16ToF32 of
// base/tensor.cc on every target (round to nearest even, subnormals, infinities and NaN
// payloads included); tails go through the scalar functions.
//
//   f32 -> f16, |x| = a (bits): NaN (a > 0x7F800000): 0x7E00 | (a >> 13 & 0x3FF); a >= 0x477FF000
//   (rounds to >= 65520, or Inf): 0x7C00; a < 0x38800000 (below 2^-14): the bits of |x| + 0.5f
//   minus those of 0.5f (the f32 addition rounds |x|·2^24 to an integer, ties to even); else
//   (a - 0x38000000 + 0xFFF + (a >> 13 & 1)) >> 13. The sign goes to bit 15.
//   f16 -> f32: exponent 0: float(mantissa) · 2^-24; exponent 31: Inf/NaN with the mantissa
//   shifted; else ((h & 0x7FFF) << 13) + (112 << 23); the sign to bit 31.
//   f32 -> bf16: NaN: (x >> 16) | 0x40; else (x + 0x7FFF + (x >> 16 & 1)) >> 16.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "base/convert.cc"
#include "base/convert.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cstring>

#include "ftcodec/tensor.h"

HWY_BEFORE_NAMESPACE();
namespace ftc::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DU = hn::RebindToUnsigned<DF>;
using DI = hn::RebindToSigned<DF>;
using DU16 = hn::Rebind<uint16_t, DF>;

HWY_INLINE hn::Vec<DU> F16Bits(hn::Vec<DU> x) {
  const DF df;
  const DU du;
  const DI di;
  const auto abs = hn::And(x, hn::Set(du, 0x7FFFFFFFu));
  const auto iabs = hn::BitCast(di, abs);  // < 2^31: signed compares are exact
  const auto sign = hn::And(hn::ShiftRight<16>(x), hn::Set(du, 0x8000u));
  const auto lsb = hn::And(hn::ShiftRight<13>(abs), hn::Set(du, 1u));
  const auto normal = hn::ShiftRight<13>(
      hn::Add(hn::Sub(abs, hn::Set(du, 0x38000000u)), hn::Add(hn::Set(du, 0xFFFu), lsb)));
  const auto sub = hn::Sub(hn::BitCast(du, hn::Add(hn::BitCast(df, abs), hn::Set(df, 0.5f))),
                           hn::Set(du, 0x3F000000u));
  const auto nan =
      hn::Or(hn::Set(du, 0x7E00u), hn::And(hn::ShiftRight<13>(abs), hn::Set(du, 0x3FFu)));
  auto h = hn::IfThenElse(hn::RebindMask(du, hn::Lt(iabs, hn::Set(di, 0x38800000))), sub, normal);
  h = hn::IfThenElse(hn::RebindMask(du, hn::Gt(iabs, hn::Set(di, 0x477FEFFF))),
                     hn::Set(du, 0x7C00u), h);
  h = hn::IfThenElse(hn::RebindMask(du, hn::Gt(iabs, hn::Set(di, 0x7F800000))), nan, h);
  return hn::Or(h, sign);
}

HWY_INLINE hn::Vec<DU> BF16Bits(hn::Vec<DU> x) {
  const DU du;
  const DI di;
  const auto iabs = hn::BitCast(di, hn::And(x, hn::Set(du, 0x7FFFFFFFu)));
  const auto high = hn::ShiftRight<16>(x);
  const auto rounded =
      hn::ShiftRight<16>(hn::Add(x, hn::Add(hn::Set(du, 0x7FFFu), hn::And(high, hn::Set(du, 1u)))));
  const auto nan = hn::Or(high, hn::Set(du, 0x40u));
  return hn::IfThenElse(hn::RebindMask(du, hn::Gt(iabs, hn::Set(di, 0x7F800000))), nan, rounded);
}

HWY_INLINE hn::Vec<DU> F32BitsOfF16(hn::Vec<DU> h) {
  const DF df;
  const DU du;
  const DI di;
  const auto sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(du, 0x8000u)));
  const auto exp = hn::And(hn::ShiftRight<10>(h), hn::Set(du, 0x1Fu));
  const auto mant = hn::And(h, hn::Set(du, 0x3FFu));
  const auto normal =
      hn::Add(hn::ShiftLeft<13>(hn::And(h, hn::Set(du, 0x7FFFu))), hn::Set(du, 0x38000000u));
  const auto infnan = hn::Or(hn::Set(du, 0x7F800000u), hn::ShiftLeft<13>(mant));
  const auto sub = hn::BitCast(
      du, hn::Mul(hn::ConvertTo(df, hn::BitCast(di, mant)), hn::Set(df, 5.9604644775390625e-8f)));
  auto r = hn::IfThenElse(hn::Eq(exp, hn::Set(du, 31u)), infnan, normal);
  r = hn::IfThenElse(hn::Eq(exp, hn::Zero(du)), sub, r);
  return hn::Or(r, sign);
}

template <bool kBF16>
void FromF32Kernel(const float* HWY_RESTRICT in, size_t n, uint8_t* HWY_RESTRICT out) {
  const DF df;
  const DU du;
  const DI di;
  const DU16 du16;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto x = hn::BitCast(du, hn::LoadU(df, in + i));
    const auto h = kBF16 ? BF16Bits(x) : F16Bits(x);
    uint16_t buf[HWY_MAX_BYTES / sizeof(float)];
    hn::StoreU(hn::DemoteTo(du16, hn::BitCast(di, h)), du16, buf);
    std::memcpy(out + 2 * i, buf, 2 * N);
  }
  for (; i < n; ++i) {
    const uint16_t h = kBF16 ? F32ToBF16(in[i]) : F32ToF16(in[i]);
    std::memcpy(out + 2 * i, &h, 2);
  }
}

void F32ToF16Kernel(const float* in, size_t n, uint8_t* out) { FromF32Kernel<false>(in, n, out); }
void F32ToBF16Kernel(const float* in, size_t n, uint8_t* out) { FromF32Kernel<true>(in, n, out); }

template <bool kBF16>
void ToF32Kernel(const uint8_t* HWY_RESTRICT in, size_t n, float* HWY_RESTRICT out) {
  const DF df;
  const DU du;
  const DU16 du16;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    uint16_t buf[HWY_MAX_BYTES / sizeof(float)];
    std::memcpy(buf, in + 2 * i, 2 * N);
    const auto h = hn::PromoteTo(du, hn::LoadU(du16, buf));
    const auto bits = kBF16 ? hn::ShiftLeft<16>(h) : F32BitsOfF16(h);
    hn::StoreU(hn::BitCast(df, bits), df, out + i);
  }
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, in + 2 * i, 2);
    out[i] = kBF16 ? BF16ToF32(h) : F16ToF32(h);
  }
}

void F16ToF32Kernel(const uint8_t* in, size_t n, float* out) { ToF32Kernel<false>(in, n, out); }
void BF16ToF32Kernel(const uint8_t* in, size_t n, float* out) { ToF32Kernel<true>(in, n, out); }

int64_t ConvertTargetKernel() { return HWY_TARGET; }

}  // namespace ftc::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ftc {

HWY_EXPORT(F32ToF16Kernel);
HWY_EXPORT(F32ToBF16Kernel);
HWY_EXPORT(F16ToF32Kernel);
HWY_EXPORT(BF16ToF32Kernel);
HWY_EXPORT(ConvertTargetKernel);

void ConvertF32ToF16(const float* in, size_t n, uint8_t* out) {
  HWY_DYNAMIC_DISPATCH(F32ToF16Kernel)(in, n, out);
}
void ConvertF32ToBF16(const float* in, size_t n, uint8_t* out) {
  HWY_DYNAMIC_DISPATCH(F32ToBF16Kernel)(in, n, out);
}
void ConvertF16ToF32(const uint8_t* in, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(F16ToF32Kernel)(in, n, out);
}
void ConvertBF16ToF32(const uint8_t* in, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(BF16ToF32Kernel)(in, n, out);
}
int64_t ConvertDispatchTargetForTest() { return HWY_DYNAMIC_DISPATCH(ConvertTargetKernel)(); }

}  // namespace ftc
#endif  // HWY_ONCE

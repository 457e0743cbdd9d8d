// SIMD kernel of the symbol segment encoder (see bitstream/enc_rans_simd.h; the format in
// docs/format.md, "Symbol segment"; read bitstream/rans_common.h first).
//
// The lanes' states live in vectors of up to 8 lanes (lanes 0..7, 8..15, ...; 4 on 128-bit
// targets). A step is the scalar encoder's, a vector at a time, last vector first:
//   emit  = x >= f << (32 - P)                   (renormalise: the low 16 bits leave)
//   x'    = emit ? x >> 16 : x
//   x     = x' + bias + q * (2^P - f),  q = floor(x' / f) by a multiply-high (EncEntry)
// The words of the emitting lanes go below the output pointer in lane order, as the decoder reads
// them (the i-th renormalising lane of a vector takes the i-th word): the words are moved to the
// top lanes of a vector by one lane permutation from a table indexed by the emit mask, narrowed to
// 16 bits and stored so that they end at the output pointer, which then moves down by their
// number. What is stored below them is overwritten by the next store.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bitstream/enc_rans_simd.cc"
#include "bitstream/enc_rans_simd.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "bitstream/rans_common.h"

#ifndef FTCODEC_BITSTREAM_ENC_RANS_SIMD_ONCE
#define FTCODEC_BITSTREAM_ENC_RANS_SIMD_ONCE
namespace ftc::rans {
namespace {

// ceil(log2 f) for f >= 2.
constexpr int CeilLog2(uint32_t f) { return 32 - __builtin_clz(f - 1); }

// kToTop<L>.v[m][k]: for a mask m of L lanes with c set bits, the lane whose word goes to lane k
// of L, so that the set lanes of m end up in lanes L - c .. L - 1 in order (0 below them).
template <int L>
struct ToTopTable {
  uint8_t v[1 << L][L];
};
template <int L>
constexpr ToTopTable<L> MakeToTopTable() {
  ToTopTable<L> t{};
  for (int m = 0; m < (1 << L); ++m) {
    int c = 0;
    for (int j = 0; j < L; ++j) c += (m >> j) & 1;
    int k = L - c;
    for (int j = 0; j < L; ++j) {
      if ((m >> j) & 1) t.v[m][k++] = static_cast<uint8_t>(j);
    }
  }
  return t;
}
alignas(64) constexpr ToTopTable<8> kToTop8 = MakeToTopTable<8>();
alignas(64) constexpr ToTopTable<4> kToTop4 = MakeToTopTable<4>();
alignas(64) constexpr ToTopTable<1> kToTop1 = MakeToTopTable<1>();

template <int L>
constexpr const ToTopTable<L>& ToTop();
template <>
constexpr const ToTopTable<8>& ToTop<8>() {
  return kToTop8;
}
template <>
constexpr const ToTopTable<4>& ToTop<4>() {
  return kToTop4;
}
template <>
constexpr const ToTopTable<1>& ToTop<1>() {
  return kToTop1;
}

// The multiplier of every frequency 1 .. 2^11 (it does not depend on the precision).
struct MagicTable {
  uint32_t v[(1 << kMaxPrecision) + 1];
};
constexpr MagicTable MakeMagicTable() {
  MagicTable t{};
  t.v[1] = ~uint32_t{0};  // t = x - 1 for x >= 1, so q = x - 1; the bias makes up for it
  for (uint32_t f = 2; f <= (uint32_t{1} << kMaxPrecision); ++f) {
    const int l = CeilLog2(f);
    t.v[f] = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << l) - f)) / f + 1);
  }
  return t;
}
constexpr MagicTable kMagic = MakeMagicTable();

}  // namespace

EncEntry MakeEncEntry(uint32_t start, uint32_t freq, int precision) {
  EncEntry e;
  e.magic = kMagic.v[freq];
  const uint32_t bias = freq == 1 ? start + (uint32_t{1} << precision) - 1 : start;
  const uint32_t shift = freq == 1 ? 0 : static_cast<uint32_t>(CeilLog2(freq) - 1);
  e.packed = freq | (bias << 12) | (shift << 24);
  return e;
}

}  // namespace ftc::rans
#endif  // FTCODEC_BITSTREAM_ENC_RANS_SIMD_ONCE

HWY_BEFORE_NAMESPACE();
namespace ftc::rans::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// (a * b) >> 32 of u32 lanes.
template <class D>
HWY_INLINE hn::Vec<D> MulHigh32(D d, hn::Vec<D> a, hn::Vec<D> b) {
#if HWY_TARGET == HWY_SCALAR
  return hn::Set(d, static_cast<uint32_t>((uint64_t{hn::GetLane(a)} * hn::GetLane(b)) >> 32));
#else
  const hn::Repartition<uint64_t, D> d64;
  const auto even = hn::MulEven(a, b);
  const auto odd = hn::MulEven(hn::BitCast(d, hn::ShiftRight<32>(hn::BitCast(d64, a))),
                               hn::BitCast(d, hn::ShiftRight<32>(hn::BitCast(d64, b))));
  return hn::OddEven(hn::BitCast(d, odd), hn::BitCast(d, hn::ShiftRight<32>(even)));
#endif
}

// Writes the low 16 bits of the lanes of x where `emit` holds so that they end at *wp, in lane
// order, and moves *wp down past them.
template <class D>
HWY_INLINE void PutWords(D d, hn::Mask<D> emit, hn::Vec<D> x, uint8_t*& wp) {
  constexpr size_t kL = hn::MaxLanes(D());
  const hn::RebindToSigned<D> di;
  const hn::Rebind<uint8_t, D> d8;
  const hn::Rebind<uint16_t, D> d16;
  uint8_t bits[8] = {};
  hn::StoreMaskBits(d, emit, bits);
  const auto which = hn::PromoteTo(d, hn::LoadU(d8, ToTop<static_cast<int>(kL)>().v[bits[0]]));
  const auto moved = hn::TableLookupLanes(x, hn::IndicesFromVec(d, hn::BitCast(di, which)));
  const auto words = hn::DemoteTo(d16, hn::BitCast(di, hn::And(moved, hn::Set(d, 0xFFFFu))));
  hn::StoreU(words, d16, reinterpret_cast<uint16_t*>(wp) - kL);
  wp -= 2 * hn::CountTrue(d, emit);
}

// The kL entries at e (magic | packed << 32) as a vector of magics and one of packed fields.
template <class D>
HWY_INLINE void LoadEntries(D d, const uint64_t* HWY_RESTRICT e, hn::Vec<D>* magic,
                            hn::Vec<D>* packed) {
#if HWY_TARGET == HWY_SCALAR
  *magic = hn::Set(d, static_cast<uint32_t>(e[0]));
  *packed = hn::Set(d, static_cast<uint32_t>(e[0] >> 32));
#else
  constexpr size_t kL = hn::MaxLanes(D());
  const uint32_t* p = reinterpret_cast<const uint32_t*>(e);
  const hn::Vec<D> lo = hn::LoadU(d, p), hi = hn::LoadU(d, p + kL);
  *magic = hn::ConcatEven(d, hi, lo);
  *packed = hn::ConcatOdd(d, hi, lo);
#endif
}

template <class D, size_t kVectors, bool kEscapes>
void EncodeSteps(const SimdEncodeSteps& job, uint32_t* states, uint8_t** pwp) {
  const D d;
  const hn::RebindToSigned<D> di;
  using V = hn::Vec<D>;
  constexpr size_t kL = hn::MaxLanes(D());
  const size_t lanes = static_cast<size_t>(job.lanes);
  const int precision = job.precision;
  const V one = hn::Set(d, 1u);
  const V low12 = hn::Set(d, 0xFFFu);
  const V low16 = hn::Set(d, 0xFFFFu);
  const V sixteen = hn::Set(d, 16u);
  const V total = hn::Set(d, uint32_t{1} << precision);
  V x[kVectors];
  hn::Vec<decltype(di)> first[kVectors];  // element of the lanes' symbol 0
  const auto lane = hn::Mul(hn::Iota(di, 0), hn::Set(di, static_cast<int32_t>(job.steps)));
  for (size_t v = 0; v < kVectors; ++v) {
    x[v] = hn::LoadU(d, states + v * kL);
    first[v] = hn::Add(lane, hn::Set(di, static_cast<int32_t>(v * kL * job.steps)));
  }
  uint8_t* wp = *pwp;
  for (size_t s = job.steps; s-- > 0;) {
    const auto step = hn::Set(di, static_cast<int32_t>(s));
    if (kEscapes) {
      for (size_t v = kVectors; v-- > 0;) {
        // x = (x << n) | bits, after emitting 16 bits if x >= 2^(32 - n) (never for n = 0).
        const V r = hn::GatherIndex(d, job.raw, hn::Add(first[v], step));
        const V n = hn::ShiftRight<16>(r);
        const V limit_m1 = hn::Sub(one << hn::Sub(sixteen, n), one);
        const V hi = hn::ShiftRight<16>(x[v]);
        const auto emit = hn::RebindMask(d, hn::Gt(hn::BitCast(di, hi), hn::BitCast(di, limit_m1)));
        PutWords(d, emit, x[v], wp);
        const V kept = hn::IfThenElse(emit, hi, x[v]);
        x[v] = hn::Or(kept << n, hn::And(r, low16));
      }
    }
    for (size_t v = kVectors; v-- > 0;) {
      V magic, packed;
      LoadEntries(d, job.entries + s * lanes + v * kL, &magic, &packed);
      const V freq = hn::And(packed, low12);
      const V bias = hn::And(hn::ShiftRight<12>(packed), low12);
      const V shift = hn::ShiftRight<24>(packed);
      // x >= f << (32 - P)  <=>  x >> (32 - P) > f - 1 (both below 2^12: a signed compare).
      const auto emit =
          hn::RebindMask(d, hn::Gt(hn::BitCast(di, hn::ShiftRightSame(x[v], 32 - precision)),
                                   hn::BitCast(di, hn::Sub(freq, one))));
      PutWords(d, emit, x[v], wp);
      const V kept = hn::IfThenElse(emit, hn::ShiftRight<16>(x[v]), x[v]);
      const V t = MulHigh32(d, kept, magic);
      const V q = hn::Add(t, hn::ShiftRight<1>(hn::Sub(kept, t))) >> shift;
      x[v] = hn::Add(hn::Add(kept, bias), hn::Mul(q, hn::Sub(total, freq)));
    }
  }
  for (size_t v = 0; v < kVectors; ++v) hn::StoreU(x[v], d, states + v * kL);
  *pwp = wp;
}

template <class D, bool kEscapes>
void EncodeStepsOf(const SimdEncodeSteps& job, uint32_t* states, uint8_t** wp) {
  constexpr size_t kL = hn::MaxLanes(D());
  switch (static_cast<size_t>(job.lanes) / kL) {
    case 1:
      return EncodeSteps<D, 1, kEscapes>(job, states, wp);
    case 2:
      return EncodeSteps<D, 2, kEscapes>(job, states, wp);
    case 4:
      return EncodeSteps<D, 4, kEscapes>(job, states, wp);
    case 8:
      return EncodeSteps<D, 8, kEscapes>(job, states, wp);
    case 16:
      return EncodeSteps<D, 16, kEscapes>(job, states, wp);
    case 32:
      return EncodeSteps<D, 32, kEscapes>(job, states, wp);
    default:
      HWY_ASSERT(false);  // not reached: lanes is 4, 8, 16 or 32
  }
}

void EncodeStepsSimdKernel(const SimdEncodeSteps& job, uint32_t* states, uint8_t** wp) {
  // Vectors of 8 lanes (or what the target has) for 8, 16 or 32 lanes, of 4 for 4.
  using D8 = hn::CappedTag<uint32_t, 8>;
  using D4 = hn::CappedTag<uint32_t, 4>;
  if (job.lanes % hn::MaxLanes(D8()) == 0) {
    return job.escapes ? EncodeStepsOf<D8, true>(job, states, wp)
                       : EncodeStepsOf<D8, false>(job, states, wp);
  }
  return job.escapes ? EncodeStepsOf<D4, true>(job, states, wp)
                     : EncodeStepsOf<D4, false>(job, states, wp);
}

void ContextTokenEntriesKernel(const uint8_t* HWY_RESTRICT pairs,
                               const uint8_t* HWY_RESTRICT tokens, size_t count,
                               const uint8_t* left_x_top, const uint8_t* top_class,
                               uint32_t num_tokens, const uint64_t* HWY_RESTRICT table,
                               uint64_t* HWY_RESTRICT entries) {
  size_t j = 0;
#if HWY_TARGET != HWY_SCALAR
  // As the decoder's kernel: a byte shuffle per class lookup, the index in the low byte of a u32
  // lane (the other bytes look up entry 0 and are masked off).
  using D = hn::CappedTag<uint32_t, 8>;
  const D d;
  const hn::Rebind<uint8_t, D> d8;
  const hn::Repartition<uint8_t, D> dbytes;
  constexpr size_t kL = hn::MaxLanes(D());
  const auto left = hn::BitCast(d, hn::LoadDup128(dbytes, left_x_top));
  const auto top = hn::BitCast(d, hn::LoadDup128(dbytes, top_class));
  const auto low4 = hn::Set(d, 15u);
  const auto low8 = hn::Set(d, 0xFFu);
  const auto t = hn::Set(d, num_tokens);
  HWY_ALIGN uint32_t index[kL];
  for (; j + kL <= count; j += kL) {
    const auto pair = hn::PromoteTo(d, hn::LoadU(d8, pairs + j));
    const auto ctx = hn::And(hn::Add(hn::TableLookupBytes(left, hn::ShiftRight<4>(pair)),
                                     hn::TableLookupBytes(top, hn::And(pair, low4))),
                             low8);
    const auto token = hn::PromoteTo(d, hn::LoadU(d8, tokens + j));
    hn::Store(hn::Add(hn::Mul(ctx, t), token), d, index);
    for (size_t k = 0; k < kL; ++k) entries[j + k] = table[index[k]];
  }
#endif
  for (; j < count; ++j) {
    entries[j] =
        table[(uint32_t{left_x_top[pairs[j] >> 4]} + top_class[pairs[j] & 15]) * num_tokens +
              tokens[j]];
  }
}

// out[s * lanes + i] = in[i * steps + s]: blocks of 4 (or 2) lanes × steps transposed in
// registers.
void LaneMajorKernel(const uint64_t* HWY_RESTRICT in, size_t steps, int lanes,
                     uint64_t* HWY_RESTRICT out) {
  const size_t n = static_cast<size_t>(lanes);
  size_t s = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::CappedTag<uint64_t, 4> d;
  constexpr size_t kL = hn::MaxLanes(d);
  if constexpr (kL == 4) {
    for (; s + 4 <= steps; s += 4) {
      for (size_t i0 = 0; i0 < n; i0 += 4) {
        const uint64_t* src = in + i0 * steps + s;
        const auto r0 = hn::LoadU(d, src), r1 = hn::LoadU(d, src + steps);
        const auto r2 = hn::LoadU(d, src + 2 * steps), r3 = hn::LoadU(d, src + 3 * steps);
        const auto t0 = hn::InterleaveLower(d, r0, r1), t1 = hn::InterleaveUpper(d, r0, r1);
        const auto t2 = hn::InterleaveLower(d, r2, r3), t3 = hn::InterleaveUpper(d, r2, r3);
        uint64_t* dst = out + s * n + i0;
        hn::StoreU(hn::ConcatLowerLower(d, t2, t0), d, dst);
        hn::StoreU(hn::ConcatLowerLower(d, t3, t1), d, dst + n);
        hn::StoreU(hn::ConcatUpperUpper(d, t2, t0), d, dst + 2 * n);
        hn::StoreU(hn::ConcatUpperUpper(d, t3, t1), d, dst + 3 * n);
      }
    }
  } else if constexpr (kL == 2) {
    for (; s + 2 <= steps; s += 2) {
      for (size_t i0 = 0; i0 < n; i0 += 2) {
        const uint64_t* src = in + i0 * steps + s;
        const auto r0 = hn::LoadU(d, src), r1 = hn::LoadU(d, src + steps);
        hn::StoreU(hn::InterleaveLower(d, r0, r1), d, out + s * n + i0);
        hn::StoreU(hn::InterleaveUpper(d, r0, r1), d, out + (s + 1) * n + i0);
      }
    }
  }
#endif
  for (; s < steps; ++s) {
    for (size_t i = 0; i < n; ++i) out[s * n + i] = in[i * steps + s];
  }
}

int64_t EncodeStepsSimdTargetKernel() { return HWY_TARGET; }

}  // namespace ftc::rans::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ftc::rans {

HWY_EXPORT(EncodeStepsSimdKernel);
HWY_EXPORT(EncodeStepsSimdTargetKernel);
HWY_EXPORT(ContextTokenEntriesKernel);
HWY_EXPORT(LaneMajorKernel);

void LaneMajor(const uint64_t* in, size_t steps, int lanes, uint64_t* out) {
  HWY_DYNAMIC_DISPATCH(LaneMajorKernel)(in, steps, lanes, out);
}

void ContextTokenEntries(const uint8_t* pairs, const uint8_t* tokens, size_t count,
                         const uint8_t* left_x_top, const uint8_t* top_class, uint32_t num_tokens,
                         const uint64_t* table, uint64_t* entries) {
  HWY_DYNAMIC_DISPATCH(ContextTokenEntriesKernel)
  (pairs, tokens, count, left_x_top, top_class, num_tokens, table, entries);
}

void EncodeStepsSimd(const SimdEncodeSteps& job, uint32_t* states, uint8_t** wp) {
  HWY_DYNAMIC_DISPATCH(EncodeStepsSimdKernel)(job, states, wp);
}

int64_t EncodeStepsSimdTargetForTest() {
  return HWY_DYNAMIC_DISPATCH(EncodeStepsSimdTargetKernel)();
}

}  // namespace ftc::rans
#endif  // HWY_ONCE

// SIMD kernel of the symbol segment decoder (see bitstream/dec_rans_simd.h; the format in
// docs/format.md, "Symbol segment"; read bitstream/rans_common.h first).
//
// One step decodes one symbol of every lane, a vector of up to 8 lanes at a time (lanes 0..7,
// then 8..15, ...), exactly as the scalar decoder does lane by lane:
//   context = cls_left[left] + cls_top[top]      (two byte shuffles: at most 16 tokens)
//   e       = entries[(context << P) + (x mod 2^P)]   (a gather)
//   x       = freq(e) * (x >> P) + bias(e)
// then the lanes with x < 2^16 take the next words of the shared stream in lane order: the i-th
// such lane gets word i, i.e. lane j gets word prefix(j) = the number of renormalising lanes
// before it (a 256-entry table of the 8-bit mask), moved into place by one lane permutation.
// Vectors are capped at 8 lanes so that table serves every target; the format's 8, 16 or 32
// lanes are 1, 2 or 4 such vectors per step on AVX2 — independent chains that hide the gathers'
// latency.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bitstream/dec_rans_simd.cc"
#include "bitstream/dec_rans_simd.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#ifndef FTCODEC_BITSTREAM_DEC_RANS_SIMD_ONCE
#define FTCODEC_BITSTREAM_DEC_RANS_SIMD_ONCE
namespace ftc::rans {
namespace {

// kPrefix[m][j] = number of set bits of m below bit j.
struct PrefixTable {
  uint8_t v[256][8];
};
constexpr PrefixTable MakePrefixTable() {
  PrefixTable t{};
  for (int m = 0; m < 256; ++m) {
    int n = 0;
    for (int j = 0; j < 8; ++j) {
      t.v[m][j] = static_cast<uint8_t>(n);
      n += (m >> j) & 1;
    }
  }
  return t;
}
alignas(64) constexpr PrefixTable kPrefix = MakePrefixTable();

}  // namespace
}  // namespace ftc::rans
#endif  // FTCODEC_BITSTREAM_DEC_RANS_SIMD_ONCE

HWY_BEFORE_NAMESPACE();
namespace ftc::rans::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::CappedTag<uint32_t, 8>;
using V = hn::Vec<D>;

// Class lookups of tokens 0..15 held in u32 lanes (the other bytes of the lane are zero).
struct ClassTables {
#if HWY_TARGET == HWY_SCALAR
  const uint8_t* left;
  const uint8_t* top;
#else
  V left;
  V top;
#endif
};

// The same for any token (< 256) from tables of 256 u32.
HWY_INLINE V WideContext(D d, const SimdGroup& g, V left, V top) {
  const hn::RebindToSigned<D> di;
  return hn::Add(hn::GatherIndex(d, g.wide_left, hn::BitCast(di, left)),
                 hn::GatherIndex(d, g.wide_top, hn::BitCast(di, top)));
}

// Renormalisation: the lanes of x below 2^16 take the next words of the stream at *p, lane j the
// word prefix(j) of those left.
HWY_INLINE V Renormalize(D d, V x, const uint8_t*& p) {
  const hn::RebindToSigned<D> di;
  const hn::Rebind<uint8_t, D> d8;
  const hn::Rebind<uint16_t, D> d16;
  const auto need = hn::Lt(x, hn::Set(d, 0x10000u));
  uint8_t bits[8];
  hn::StoreMaskBits(d, need, bits);
  const V which = hn::PromoteTo(d, hn::LoadU(d8, kPrefix.v[bits[0]]));
  const V words = hn::PromoteTo(d, hn::LoadU(d16, reinterpret_cast<const uint16_t*>(p)));
  const V word = hn::TableLookupLanes(words, hn::IndicesFromVec(d, hn::BitCast(di, which)));
  p += 2 * hn::CountTrue(d, need);
  return hn::IfThenElse(need, hn::Or(hn::ShiftLeft<16>(x), word), x);
}

HWY_INLINE V Context(D d, const ClassTables& c, V left, V top) {
#if HWY_TARGET == HWY_SCALAR
  (void)d;
  return hn::Set(d, uint32_t{c.left[hn::GetLane(left) & 15]} + c.top[hn::GetLane(top) & 15]);
#else
  // Bytes 1..3 of each lane look up entry 0; the mask drops them (no carries: values < 64).
  return hn::And(hn::Add(hn::TableLookupBytes(c.left, left), hn::TableLookupBytes(c.top, top)),
                 hn::Set(d, 0xFFu));
#endif
}

template <size_t kVectors, bool kWide, bool kEscapes>
uint32_t DecodeRows(const SimdGroup& g, uint32_t y0, uint32_t* states, uint8_t* tokens,
                    const uint8_t** pp, const uint8_t* end, uint32_t* flags) {
  const D d;
  const hn::RebindToSigned<D> di;
  const hn::Rebind<uint8_t, D> d8;
  const hn::Rebind<uint16_t, D> d16;
  constexpr size_t kL = hn::MaxLanes(D());
  const size_t lanes = static_cast<size_t>(g.lanes);
  const int precision = g.precision;
  const uint32_t* HWY_RESTRICT const entries = g.entries;  // a local: stores cannot alias it
  const uint32_t rows = g.rows, width = g.width;
  ClassTables cls;
#if HWY_TARGET == HWY_SCALAR
  cls.left = g.cls_left;
  cls.top = g.cls_top;
#else
  cls.left = hn::Zero(d);
  cls.top = hn::Zero(d);
  if (!kWide) {
    const hn::Repartition<uint8_t, D> dbytes;
    cls.left = hn::BitCast(d, hn::LoadDup128(dbytes, g.cls_left));
    cls.top = hn::BitCast(d, hn::LoadDup128(dbytes, g.cls_top));
  }
#endif
  const V slot_mask = hn::Set(d, (uint32_t{1} << precision) - 1);
  const V bias_mask = hn::Set(d, 0x7FFu);
  const V token_mask = hn::Set(d, 0xFFu);
  // Escapes: token t >= 2^d has i = t - 2^d, n = d - m + (i >> m) raw bits and the symbol
  // ((2^m | (i mod 2^m)) << n) | raw (rans::EscapeBase).
  const V direct_limit_m1 = hn::Set(d, (uint32_t{1} << g.direct_bits) - 1);
  const V direct_limit = hn::Set(d, uint32_t{1} << g.direct_bits);
  const V n_base = hn::Set(d, static_cast<uint32_t>(g.direct_bits - g.msb_bits));
  const V msb_mask = hn::Set(d, (uint32_t{1} << g.msb_bits) - 1);
  const V msb_one = hn::Set(d, uint32_t{1} << g.msb_bits);
  const V one = hn::Set(d, 1u);
  V x[kVectors], left[kVectors], tok[kVectors];
  V seen = hn::Zero(d);
  for (size_t v = 0; v < kVectors; ++v) x[v] = hn::LoadU(d, states + v * kL);
  const uint8_t* p = *pp;
  const size_t stride = size_t{width} * lanes;
  uint32_t y = y0;
  for (; y < rows; ++y) {
    if (p > end) break;  // read into the padding: the words ran out
    uint8_t* cur = tokens + y * stride;
    const uint8_t* up = y > 0 ? cur - stride : cur;  // the row above (unused in row 0)
    uint16_t* sym = kEscapes ? g.symbols + y * stride : nullptr;
    for (uint32_t col = 0; col < width; ++col, cur += lanes, up += lanes) {
      for (size_t v = 0; v < kVectors; ++v) {
        V top;
        if (y == 0) {
          if (col == 0) left[v] = hn::Zero(d);
          top = left[v];
        } else {
          top = hn::PromoteTo(d, hn::LoadU(d8, up + v * kL));
          if (col == 0) left[v] = top;
        }
        const V ctx = kWide ? WideContext(d, g, left[v], top) : Context(d, cls, left[v], top);
        const V index = hn::Add(hn::ShiftLeftSame(ctx, precision), hn::And(x[v], slot_mask));
        const V e = hn::GatherIndex(d, entries, hn::BitCast(di, index));
        seen = hn::Or(seen, e);
        const V xv = hn::Add(hn::Mul(hn::ShiftRight<20>(e), hn::ShiftRightSame(x[v], precision)),
                             hn::And(hn::ShiftRight<8>(e), bias_mask));
        const V token = hn::And(e, token_mask);  // U8FromU32 wants values < 256
        hn::StoreU(hn::U8FromU32(token), d8, cur + v * kL);
        left[v] = token;
        tok[v] = token;
        x[v] = Renormalize(d, xv, p);
      }
      if (!kEscapes) continue;
      // The raw bits of the escapes, in lane order: raw = x mod 2^n, x >>= n (n = 0 elsewhere).
      for (size_t v = 0; v < kVectors; ++v) {
        const V token = tok[v];
        const auto escape =
            hn::RebindMask(d, hn::Gt(hn::BitCast(di, token), hn::BitCast(di, direct_limit_m1)));
        const V i = hn::Sub(token, direct_limit);
        const V n = hn::IfThenElseZero(escape, hn::Add(n_base, hn::ShiftRightSame(i, g.msb_bits)));
        const V base = hn::Or(msb_one, hn::And(i, msb_mask)) << n;
        const V raw = hn::And(x[v], hn::Sub(one << n, one));
        x[v] = Renormalize(d, x[v] >> n, p);
        const V symbol = hn::IfThenElse(escape, hn::Or(base, raw), token);
        hn::StoreU(hn::DemoteTo(d16, hn::BitCast(di, symbol)), d16, sym + col * lanes + v * kL);
      }
    }
  }
  for (size_t v = 0; v < kVectors; ++v) hn::StoreU(x[v], d, states + v * kL);
  uint32_t seen_lanes[kL];
  hn::StoreU(seen, d, seen_lanes);
  for (size_t i = 0; i < kL; ++i) *flags |= seen_lanes[i];
  *pp = p;
  return y;
}

template <bool kWide, bool kEscapes>
uint32_t DecodeRowsOf(const SimdGroup& g, uint32_t y0, uint32_t* states, uint8_t* tokens,
                      const uint8_t** p, const uint8_t* end, uint32_t* flags) {
  const size_t vectors = static_cast<size_t>(g.lanes) / hn::Lanes(D());
  switch (vectors) {
    case 1:
      return DecodeRows<1, kWide, kEscapes>(g, y0, states, tokens, p, end, flags);
    case 2:
      return DecodeRows<2, kWide, kEscapes>(g, y0, states, tokens, p, end, flags);
    case 4:
      return DecodeRows<4, kWide, kEscapes>(g, y0, states, tokens, p, end, flags);
    case 8:
      return DecodeRows<8, kWide, kEscapes>(g, y0, states, tokens, p, end, flags);
    case 16:
      return DecodeRows<16, kWide, kEscapes>(g, y0, states, tokens, p, end, flags);
    case 32:
      return DecodeRows<32, kWide, kEscapes>(g, y0, states, tokens, p, end, flags);
    default:
      return y0;  // not reached: lanes is 8, 16 or 32 and a vector has 1, 4 or 8 lanes
  }
}

uint32_t DecodeRowsSimdKernel(const SimdGroup& g, uint32_t y0, uint32_t* states, uint8_t* tokens,
                              const uint8_t** p, const uint8_t* end, uint32_t* flags) {
  const bool wide = g.wide_left != nullptr, escapes = g.symbols != nullptr;
  if (wide) {
    return escapes ? DecodeRowsOf<true, true>(g, y0, states, tokens, p, end, flags)
                   : DecodeRowsOf<true, false>(g, y0, states, tokens, p, end, flags);
  }
  return escapes ? DecodeRowsOf<false, true>(g, y0, states, tokens, p, end, flags)
                 : DecodeRowsOf<false, false>(g, y0, states, tokens, p, end, flags);
}

// out[i][k] = tokens[k * lanes + i] for k < count, i < lanes (a multiple of 8): 8 × 8 blocks,
// widened to u16 and transposed by three rounds of interleaving.
template <typename T>
void DeinterleaveOf(const T* HWY_RESTRICT tokens, size_t count, int lanes, uint16_t* const* out) {
  const size_t n = static_cast<size_t>(lanes);
  size_t k = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::Full128<uint16_t> d16;
  const hn::Full64<uint8_t> d8;
  const hn::Full128<uint32_t> d32;
  const hn::Full128<uint64_t> d64;
  // One row of 8 lanes as u16.
  const auto Row = [&](const T* r) {
    if constexpr (sizeof(T) == 1) {
      return hn::PromoteTo(d16, hn::LoadU(d8, r));
    } else {
      return hn::LoadU(d16, r);
    }
  };
  for (; k + 8 <= count; k += 8) {
    for (size_t i0 = 0; i0 < n; i0 += 8) {
      const T* src = tokens + k * n + i0;
      // r_j: position k + j of lanes i0 .. i0 + 7.
      const auto r0 = Row(src);
      const auto r1 = Row(src + n);
      const auto r2 = Row(src + 2 * n);
      const auto r3 = Row(src + 3 * n);
      const auto r4 = Row(src + 4 * n);
      const auto r5 = Row(src + 5 * n);
      const auto r6 = Row(src + 6 * n);
      const auto r7 = Row(src + 7 * n);
      // Pairs of positions, then fours, then all eight for each lane.
      const auto a0 = hn::BitCast(d32, hn::InterleaveLower(d16, r0, r1));
      const auto a1 = hn::BitCast(d32, hn::InterleaveUpper(d16, r0, r1));
      const auto a2 = hn::BitCast(d32, hn::InterleaveLower(d16, r2, r3));
      const auto a3 = hn::BitCast(d32, hn::InterleaveUpper(d16, r2, r3));
      const auto a4 = hn::BitCast(d32, hn::InterleaveLower(d16, r4, r5));
      const auto a5 = hn::BitCast(d32, hn::InterleaveUpper(d16, r4, r5));
      const auto a6 = hn::BitCast(d32, hn::InterleaveLower(d16, r6, r7));
      const auto a7 = hn::BitCast(d32, hn::InterleaveUpper(d16, r6, r7));
      const auto b0 = hn::BitCast(d64, hn::InterleaveLower(d32, a0, a2));
      const auto b1 = hn::BitCast(d64, hn::InterleaveUpper(d32, a0, a2));
      const auto b2 = hn::BitCast(d64, hn::InterleaveLower(d32, a1, a3));
      const auto b3 = hn::BitCast(d64, hn::InterleaveUpper(d32, a1, a3));
      const auto b4 = hn::BitCast(d64, hn::InterleaveLower(d32, a4, a6));
      const auto b5 = hn::BitCast(d64, hn::InterleaveUpper(d32, a4, a6));
      const auto b6 = hn::BitCast(d64, hn::InterleaveLower(d32, a5, a7));
      const auto b7 = hn::BitCast(d64, hn::InterleaveUpper(d32, a5, a7));
      uint16_t* const* o = out + i0;
      hn::StoreU(hn::BitCast(d16, hn::InterleaveLower(d64, b0, b4)), d16, o[0] + k);
      hn::StoreU(hn::BitCast(d16, hn::InterleaveUpper(d64, b0, b4)), d16, o[1] + k);
      hn::StoreU(hn::BitCast(d16, hn::InterleaveLower(d64, b1, b5)), d16, o[2] + k);
      hn::StoreU(hn::BitCast(d16, hn::InterleaveUpper(d64, b1, b5)), d16, o[3] + k);
      hn::StoreU(hn::BitCast(d16, hn::InterleaveLower(d64, b2, b6)), d16, o[4] + k);
      hn::StoreU(hn::BitCast(d16, hn::InterleaveUpper(d64, b2, b6)), d16, o[5] + k);
      hn::StoreU(hn::BitCast(d16, hn::InterleaveLower(d64, b3, b7)), d16, o[6] + k);
      hn::StoreU(hn::BitCast(d16, hn::InterleaveUpper(d64, b3, b7)), d16, o[7] + k);
    }
  }
#endif
  for (; k < count; ++k) {
    for (size_t i = 0; i < n; ++i) out[i][k] = tokens[k * n + i];
  }
}

void DeinterleaveKernel(const uint8_t* HWY_RESTRICT tokens, size_t count, int lanes,
                        uint16_t* const* out) {
  DeinterleaveOf(tokens, count, lanes, out);
}

void DeinterleaveSymbolsKernel(const uint16_t* HWY_RESTRICT symbols, size_t count, int lanes,
                               uint16_t* const* out) {
  DeinterleaveOf(symbols, count, lanes, out);
}

int64_t DecodeRowsSimdTargetKernel() { return HWY_TARGET; }

}  // namespace ftc::rans::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ftc::rans {

HWY_EXPORT(DecodeRowsSimdKernel);
HWY_EXPORT(DecodeRowsSimdTargetKernel);
HWY_EXPORT(DeinterleaveKernel);
HWY_EXPORT(DeinterleaveSymbolsKernel);

void DeinterleaveSymbols(const uint16_t* symbols, size_t count, int lanes, uint16_t* const* out) {
  HWY_DYNAMIC_DISPATCH(DeinterleaveSymbolsKernel)(symbols, count, lanes, out);
}

void DeinterleaveTokens(const uint8_t* tokens, size_t count, int lanes, uint16_t* const* out) {
  HWY_DYNAMIC_DISPATCH(DeinterleaveKernel)(tokens, count, lanes, out);
}

uint32_t DecodeRowsSimd(const SimdGroup& group, uint32_t y0, uint32_t* states, uint8_t* tokens,
                        const uint8_t** p, const uint8_t* end, uint32_t* flags) {
  return HWY_DYNAMIC_DISPATCH(DecodeRowsSimdKernel)(group, y0, states, tokens, p, end, flags);
}

int64_t DecodeRowsSimdTargetForTest() { return HWY_DYNAMIC_DISPATCH(DecodeRowsSimdTargetKernel)(); }

}  // namespace ftc::rans
#endif  // HWY_ONCE

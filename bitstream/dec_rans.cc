// Decoder of the context-modelled rANS symbol segment. Read bitstream/rans_common.h first.
//
// Decode step of one lane (state x in [2^16, 2^32), precision P <= 11):
//   slot = x mod 2^P; the table entry of (context, slot) gives token s, freq f and slot - start;
//   x = f * (x >> P) + (slot - start);   now x >= x >> P >= 2^(16-P) >= 32 > 0
//   if x < 2^16: x = (x << 16) | next 16-bit word   -> back in [2^16, 2^32) after ONE read.
// An escape token is followed by n raw bits: raw = x mod 2^n; x >>= n; same single renorm.
//
// Table entries are packed in 32 bits: freq (bits 20..31, <= 2^11), slot - start (8..18),
// token (0..7); bit 19 marks the trap table of contexts that have no table, so a corrupt stream
// that lands there decodes harmlessly and is reported at the end instead of branching per symbol.
//
// Paths, for a group of N bands (N lanes):
//  * N >= 8 bands of one shape: the Highway kernel of dec_rans_simd.cc, a vector of lanes per
//    instruction (with escapes and more than 16 tokens too);
//  * N = 4, the same conditions: DecodeRowsDirect, four lanes in scalar registers;
//  * bands of one shape otherwise: DecodeGroupUniform, row by row, with unchecked reads where the
//    row surely fits;
//  * any mix of shapes: DecodeGroupGeneric, the literal algorithm of the format (which
//    DecodeSymbolSegmentReference uses for everything).
// All paths decode in exactly the order of the format, so they can hand over to each other at
// any row.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "base/status_macros.h"
#include "bitstream/dec_rans_simd.h"
#include "bitstream/rans_common.h"
#include "bitstream/symbol_coder.h"

namespace ftc {
namespace {

using rans::BitReader;
using rans::ContextModel;
using rans::kMaxLanes;
using rans::TokenConfig;

constexpr uint32_t kTrapBit = uint32_t{1} << 19;

Status ReadThresholds(BitReader* br, int num_tokens, const char* which, std::vector<uint8_t>* th) {
  uint32_t n;
  if (!br->Bits(3, &n)) return FTC_CORRUPT("symbol segment: truncated %s class count", which);
  uint32_t prev = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t delta;
    if (!br->ExpGolomb(&delta)) {
      return FTC_CORRUPT("symbol segment: truncated or invalid %s threshold %u", which, i);
    }
    if (delta >= static_cast<uint32_t>(num_tokens) ||
        prev + 1 + delta >= static_cast<uint32_t>(num_tokens)) {
      return FTC_CORRUPT("symbol segment: %s threshold %u is not below the %d tokens", which, i,
                         num_tokens);
    }
    prev += 1 + delta;
    th->push_back(static_cast<uint8_t>(prev));
  }
  return Status::Ok();
}

Status ReadModel(BitReader* br, int alphabet_bits, ContextModel* m) {
  uint32_t v;
  if (!br->Bits(2, &v)) return FTC_CORRUPT("symbol segment: truncated header");
  m->lanes = rans::LanesOfCode(static_cast<int>(v));
  TokenConfig& c = m->tokens;
  c.alphabet_bits = alphabet_bits;
  if (!br->Bits(4, &v)) return FTC_CORRUPT("symbol segment: truncated header");
  c.direct_bits = static_cast<int>(v);
  if (c.direct_bits > alphabet_bits || c.direct_bits > rans::kMaxDirectBits) {
    return FTC_CORRUPT("symbol segment: direct_bits %d exceeds min(alphabet_bits %d, %d)",
                       c.direct_bits, alphabet_bits, rans::kMaxDirectBits);
  }
  c.msb_bits = 0;
  if (c.direct_bits < alphabet_bits) {
    if (!br->Bits(2, &v)) return FTC_CORRUPT("symbol segment: truncated header");
    c.msb_bits = static_cast<int>(v);
  }
  if (!c.Valid()) {
    return FTC_CORRUPT(
        "symbol segment: invalid escape scheme (direct_bits %d, msb_bits %d, "
        "%d tokens)",
        c.direct_bits, c.msb_bits, c.NumTokens());
  }
  if (!br->Bits(4, &v)) return FTC_CORRUPT("symbol segment: truncated header");
  m->precision = static_cast<int>(v);
  if (m->precision < rans::kMinPrecision || m->precision > rans::kMaxPrecision) {
    return FTC_CORRUPT("symbol segment: precision %d outside %d..%d", m->precision,
                       rans::kMinPrecision, rans::kMaxPrecision);
  }
  const int num_tokens = c.NumTokens();
  FTC_RETURN_IF_ERROR(ReadThresholds(br, num_tokens, "left", &m->left_thresholds));
  FTC_RETURN_IF_ERROR(ReadThresholds(br, num_tokens, "top", &m->top_thresholds));
  m->weight_codes.resize(m->num_contexts());
  for (int k = 0; k < m->num_contexts(); ++k) {
    if (!br->ExpGolomb(&v)) return FTC_CORRUPT("symbol segment: table %d: truncated span", k);
    if (v > static_cast<uint32_t>(num_tokens)) {
      return FTC_CORRUPT("symbol segment: table %d: span below zero (%d tokens, %u missing)", k,
                         num_tokens, v);
    }
    const int span = num_tokens - static_cast<int>(v);
    std::vector<uint8_t>& codes = m->weight_codes[k];
    codes.assign(span, 0);
    uint32_t sparse = 0;
    if (span > 1 && !br->Bits(1, &sparse)) {
      return FTC_CORRUPT("symbol segment: table %d: truncated mode", k);
    }
    int prev = 1;
    for (int s = 0; s < span; ++s) {
      if (sparse) {
        uint32_t run;
        if (!br->ExpGolomb(&run)) {
          return FTC_CORRUPT("symbol segment: table %d: truncated zero run at token %d", k, s);
        }
        if (run >= static_cast<uint32_t>(span - s)) {
          return FTC_CORRUPT(
              "symbol segment: table %d: zero run of %u at token %d passes the "
              "span %d",
              k, run, s, span);
        }
        s += static_cast<int>(run);
      }
      int delta;
      if (!br->SignedExpGolomb(&delta)) {
        return FTC_CORRUPT("symbol segment: table %d: truncated weight of token %d", k, s);
      }
      const int code = prev + delta;
      if (code < (sparse ? 1 : 0) || code > rans::kMaxWeightCode) {
        return FTC_CORRUPT("symbol segment: table %d: weight code %d of token %d outside %d..%d", k,
                           code, s, sparse ? 1 : 0, rans::kMaxWeightCode);
      }
      codes[s] = static_cast<uint8_t>(code);
      if (code != 0) prev = code;
    }
    if (span > 0 && codes[span - 1] == 0) {
      return FTC_CORRUPT("symbol segment: table %d: last token of the span is absent", k);
    }
  }
  return Status::Ok();
}

// Scratch memory of one decode, grown on demand and never zeroed (everything read from it was
// written first). Each thread keeps its buffers between segments, up to kKeptScratchBytes each, so
// decoding frame after frame does not allocate them again.
template <typename T>
class ScratchBuffer {
 public:
  T* Get(size_t n) {
    if (n > size_) {
      buf_.reset(new T[n]);
      size_ = n;
    }
    return buf_.get();
  }
  void ReleaseIfAbove(size_t bytes) {
    if (size_ * sizeof(T) > bytes) {
      buf_.reset();
      size_ = 0;
    }
  }

 private:
  std::unique_ptr<T[]> buf_;
  size_t size_ = 0;
};

constexpr size_t kKeptScratchBytes = size_t{256} << 10;

struct DecoderScratch {
  ScratchBuffer<uint32_t> entries;  // DecodeTables::entries
  ScratchBuffer<uint8_t> words;     // the rANS words with zero padding (CopyWords)
  ScratchBuffer<uint8_t> tokens;    // the fast paths' lane-major tokens
  ScratchBuffer<uint16_t> symbols;  // the SIMD kernel's lane-major symbols (with escapes)
  void Trim() {
    entries.ReleaseIfAbove(kKeptScratchBytes);
    words.ReleaseIfAbove(kKeptScratchBytes);
    tokens.ReleaseIfAbove(kKeptScratchBytes);
    symbols.ReleaseIfAbove(kKeptScratchBytes);
  }
};

// Everything the hot loop needs, flattened.
struct DecodeTables {
  // (2 + contexts) << P entries (in DecoderScratch::entries); block 0 is the trap.
  uint32_t* entries = nullptr;
  // lut[class(top) * T + left token] = offset of the context's block in `entries`.
  std::vector<uint32_t> lut;
  std::vector<uint32_t> top_offset;  // top token -> class(top) * T
  // With at most 16 tokens: small_lut[top * 32 + left] = block offset for every top, left < 32;
  // tokens >= T (only a trap produces them) lead to the fast trap block.
  std::vector<uint32_t> small_lut;
  bool small_tokens = false;  // at most 16 tokens
  uint32_t mask = 0;
  int precision = 0;
  uint32_t direct_limit = 0;
  TokenConfig tokens;
  // Context k's block in `entries` (0: the trap, for a context without a table).
  std::vector<uint32_t> base;
  // For the SIMD kernel, with at most 16 tokens: class(left) * top classes and class(top).
  alignas(16) uint8_t cls_left_x_top[16] = {};
  alignas(16) uint8_t cls_top[16] = {};
  // The same with more tokens, for every token < 256 (empty otherwise).
  std::vector<uint32_t> wide_left, wide_top;
};

constexpr int kSmallTokens = 16;
constexpr uint32_t kFastTrapToken = 31;

Status BuildTables(const ContextModel& m, DecoderScratch* scratch, DecodeTables* d) {
  const int num_tokens = m.tokens.NumTokens();
  const int precision = m.precision;
  const uint32_t total = uint32_t{1} << precision;
  d->precision = precision;
  d->mask = total - 1;
  d->tokens = m.tokens;
  d->direct_limit = uint32_t{1} << m.tokens.direct_bits;
  // Block 0: trap of the general path (token 0); block 1: trap of the fast path (token 31, which
  // is >= 2^alphabet_bits there, so the final scan of the symbols reports it). A trap leaves the
  // state unchanged (freq 2^P, bias = slot). Block k + 2: context k, a copy of block 0 if the
  // context has no table (so the SIMD kernel indexes blocks by context).
  const size_t contexts = static_cast<size_t>(m.num_contexts());
  d->entries = scratch->entries.Get((contexts + 2) << precision);
  uint32_t* trap = d->entries;
  for (uint32_t j = 0; j < total; ++j) {
    trap[j] = (total << 20) | kTrapBit | (j << 8);
    trap[total + j] = trap[j] | kFastTrapToken;
  }
  std::vector<uint32_t>& base = d->base;
  base.assign(contexts, 0);
  std::vector<uint32_t> freq(num_tokens);
  for (size_t k = 0; k < contexts; ++k) {
    const std::vector<uint8_t>& codes = m.weight_codes[k];
    uint32_t* e = &d->entries[(k + 2) << precision];
    if (codes.empty()) {
      std::memcpy(e, trap, total * sizeof(uint32_t));
      continue;
    }
    const int span = static_cast<int>(codes.size());
    if (!rans::NormalizeWeights(codes.data(), span, precision, freq.data())) {
      return FTC_CORRUPT("symbol segment: table %zu has more tokens than 2^%d slots", k, precision);
    }
    base[k] = static_cast<uint32_t>((k + 2) << precision);
    for (int s = 0; s < span; ++s) {
      const uint32_t f = freq[s];
      const uint32_t hi = (f << 20) | static_cast<uint32_t>(s);
      for (uint32_t j = 0; j < f; ++j) e[j] = hi | (j << 8);
      e += f;
    }
  }
  uint8_t cls_left[rans::kMaxTokens], cls_top[rans::kMaxTokens];
  rans::BuildClassTable(m.left_thresholds, num_tokens, cls_left);
  rans::BuildClassTable(m.top_thresholds, num_tokens, cls_top);
  const int top_classes = m.top_classes();
  // Padded so that any left token < 256 stays inside (and reaches the trap block 0).
  d->lut.assign(static_cast<size_t>(top_classes) * num_tokens + rans::kMaxTokens, 0);
  for (int ct = 0; ct < top_classes; ++ct) {
    for (int l = 0; l < num_tokens; ++l) {
      d->lut[ct * num_tokens + l] = base[cls_left[l] * top_classes + ct];
    }
  }
  d->top_offset.resize(rans::kMaxTokens, 0);
  for (int t = 0; t < num_tokens; ++t) d->top_offset[t] = cls_top[t] * num_tokens;
  d->small_tokens = num_tokens <= kSmallTokens;
  if (d->small_tokens) {
    for (int t = 0; t < num_tokens && t < kSmallTokens; ++t) {
      d->cls_left_x_top[t] = static_cast<uint8_t>(cls_left[t] * top_classes);
      d->cls_top[t] = cls_top[t];
    }
  }
  if (!d->small_tokens && m.lanes >= 8) {  // the SIMD kernel
    d->wide_left.assign(rans::kMaxTokens, 0);
    d->wide_top.assign(rans::kMaxTokens, 0);
    for (int t = 0; t < num_tokens; ++t) {
      d->wide_left[t] = static_cast<uint32_t>(cls_left[t] * top_classes);
      d->wide_top[t] = cls_top[t];
    }
  }
  if (d->small_tokens && m.lanes == 4) {  // only the four-lane fast path uses it
    d->small_lut.assign(32 * 32, total);
    for (int t = 0; t < num_tokens; ++t) {
      for (int l = 0; l < num_tokens; ++l) {
        const uint32_t b = base[cls_left[l] * top_classes + cls_top[t]];
        d->small_lut[t * 32 + l] = b == 0 ? total : b;
      }
    }
  }
  return Status::Ok();
}

// The shared word stream and the error flags the hot loop accumulates.
struct WordStream {
  const uint8_t* p;
  const uint8_t* end;         // end of the words
  const uint8_t* padded_end;  // end + zero padding (>= one row of the fast path) in a copy
  uint32_t flags = 0;         // OR of every table entry used: kTrapBit = a context without a table
  bool overrun = false;
};

template <bool kChecked>
inline uint32_t Renormalize(uint32_t x, WordStream* ws) {
  if (x < rans::kStateLow) {
    if (kChecked && ws->p >= ws->end) {
      ws->overrun = true;
      return x << 16;  // keep going; the caller reports the overrun
    }
    x = (x << 16) | ws->p[0] | (uint32_t{ws->p[1]} << 8);
    ws->p += 2;
  }
  return x;
}

// Escape: the raw bits that follow an escape token. Rare; always bounds-checked.
__attribute__((noinline)) uint32_t DecodeEscape(uint32_t token, const DecodeTables& t, uint32_t* x,
                                                WordStream* ws) {
  int n;
  const uint32_t base = rans::EscapeBase(token, t.tokens, &n);
  if (n == 0) return base;
  const uint32_t raw = *x & ((uint32_t{1} << n) - 1);
  *x = Renormalize<true>(*x >> n, ws);
  return base | raw;
}

struct Lane {
  uint32_t x;
  uint32_t left;  // token to the left (the rules of "Contexts" for x == 0); this step's token
  uint8_t* row;   // tokens of the previous row at [x, width), of this row before x
  uint16_t* out;  // the band's symbols
  uint32_t width;
  uint64_t size;
};

// Token above column `col` of the row starting at `o` (o >= width): without escapes it is the
// symbol itself, read from the output; otherwise it sits in the lane's row buffer.
inline uint32_t TopToken(const Lane& l, uint32_t col, size_t o, bool direct) {
  return direct ? l.out[o - l.width + col] : l.row[col];
}

// Phase 1 of a step for one lane: decodes the token at column `col` with top token `top`; stores
// it as the symbol (phase 2 replaces an escape's), in the row buffer and as the next left token.
template <bool kChecked>
inline void DecodeToken(const DecodeTables& t, Lane* lane, uint32_t top, uint32_t col,
                        uint16_t* out, WordStream* ws) {
  uint32_t x = lane->x;
  const uint32_t block = t.lut[t.top_offset[top] + lane->left];
  const uint32_t e = t.entries[block + (x & t.mask)];
  ws->flags |= e;
  x = (e >> 20) * (x >> t.precision) + ((e >> 8) & 0x7FF);
  lane->x = Renormalize<kChecked>(x, ws);
  const uint32_t token = e & 0xFF;
  *out = static_cast<uint16_t>(token);
  lane->row[col] = static_cast<uint8_t>(token);
  lane->left = token;
}

// Phase 2 of a step for one lane: the raw bits of an escape token (lane->left, just decoded).
inline void DecodeEscapeBits(const DecodeTables& t, Lane* lane, uint16_t* out, WordStream* ws) {
  if (lane->left >= t.direct_limit) {
    *out = static_cast<uint16_t>(DecodeEscape(lane->left, t, &lane->x, ws));
  }
}

// Any mix of band shapes, steps `from` onwards: the literal algorithm (one symbol per active
// lane per step, tokens in lane order, then escapes in lane order).
void DecodeGroupGeneric(const DecodeTables& t, Lane* lanes, int n, bool direct, uint64_t from,
                        WordStream* ws) {
  uint64_t steps = 0;
  for (int i = 0; i < n; ++i) steps = std::max(steps, lanes[i].size);
  for (uint64_t s = from; s < steps && !ws->overrun; ++s) {
    for (int i = 0; i < n; ++i) {
      Lane& l = lanes[i];
      if (s >= l.size) continue;
      const uint64_t y = s / l.width;
      const uint32_t col = static_cast<uint32_t>(s - y * l.width);
      uint32_t top;
      if (y == 0) {
        if (col == 0) l.left = 0;
        top = l.left;
      } else {
        top = TopToken(l, col, s - col, direct);
        if (col == 0) l.left = top;
      }
      DecodeToken<true>(t, &l, top, col, l.out + s, ws);
    }
    if (direct) continue;
    for (int i = 0; i < n; ++i) {
      if (s < lanes[i].size) DecodeEscapeBits(t, &lanes[i], lanes[i].out + s, ws);
    }
  }
}

// The four lanes' interleaved token rows of the fast path (tmp[(y * width + col) * 4 + lane]) and
// the bands: InterleaveRow puts row y of the four bands' symbols (tokens, there) into tmp.
inline void InterleaveRow(const Lane* lanes, uint32_t y, uint32_t width, uint8_t* tmp) {
  uint8_t* row = tmp + size_t{y} * width * 4;
  for (int i = 0; i < 4; ++i) {
    const uint16_t* src = lanes[i].out + size_t{y} * width;
    for (uint32_t c = 0; c < width; ++c) row[c * 4 + i] = static_cast<uint8_t>(src[c]);
  }
}

// Copies rows y0 .. y1 - 1 of the lane-major tokens (tmp[(y * width + col) * n + lane]) out to
// the n bands (n = 4, 8, 16 or 32). For n = 4, returns the OR of the tokens, four per 32-bit word
// (one per byte).
uint32_t DeinterleaveRows(const uint8_t* tmp, uint32_t y0, uint32_t y1, uint32_t width, int n,
                          Lane* lanes) {
  const size_t o = size_t{y0} * width, count = size_t{y1 - y0} * width;
  const uint8_t* src = tmp + o * n;
  if (n == 4) {
    uint16_t* d0 = lanes[0].out + o;
    uint16_t* d1 = lanes[1].out + o;
    uint16_t* d2 = lanes[2].out + o;
    uint16_t* d3 = lanes[3].out + o;
    uint32_t all_tokens = 0;
    for (size_t k = 0; k < count; ++k, src += 4) {
      uint32_t four;
      std::memcpy(&four, src, 4);
      all_tokens |= four;
      d0[k] = src[0];
      d1[k] = src[1];
      d2[k] = src[2];
      d3[k] = src[3];
    }
    return all_tokens;
  }
  uint16_t* out[kMaxLanes];
  for (int i = 0; i < n; ++i) out[i] = lanes[i].out + o;
  rans::DeinterleaveTokens(src, count, n, out);
  return 0;
}

// The common case, kept lean: four bands of the same shape, at most 16 tokens and no escapes
// (every token is its own symbol). Decodes rows y0, y0 + 1, ... of the group and returns the
// first row it did not decode (all of them unless the words ran out, see WordStream).
// kP: the precision as a constant, or 0 to read it from `t`.
// Everything the loop touches lives in locals, so the stores of symbols cannot force reloads; the
// four lanes' tokens go to `tmp` interleaved (tmp[(y * width + col) * 4 + lane], one byte each),
// so a single pointer addresses all of them and the loop's state fits in registers; they are
// copied out to the bands at the end.
template <int kP>
__attribute__((noinline)) uint32_t DecodeRowsDirect(const DecodeTables& t, Lane* lanes, uint32_t y0,
                                                    uint32_t rows, uint32_t width, uint8_t* tmp,
                                                    WordStream* ws) {
  const uint32_t* const entries = t.entries;
  const uint32_t* const lut = t.small_lut.data();
  const int precision = kP ? kP : t.precision;
  const uint32_t mask = (uint32_t{1} << precision) - 1;
  const uint8_t* p = ws->p;
  const uint8_t* const end = ws->padded_end;
  uint32_t x0 = lanes[0].x, x1 = lanes[1].x, x2 = lanes[2].x, x3 = lanes[3].x;
  const size_t stride = size_t{width} * 4;
  const ptrdiff_t up = -static_cast<ptrdiff_t>(stride);
  if (y0 > 0) InterleaveRow(lanes, y0 - 1, width, tmp);
  // One decode step; reads 2 bytes at p unconditionally (the caller made sure they exist).
  auto step = [&](uint32_t& x, uint32_t left, uint32_t top) -> uint32_t {
    const uint32_t e = entries[lut[(top << 5) | left] + (x & mask)];
    x = (e >> 20) * (x >> precision) + ((e >> 8) & 0x7FF);
    const uint32_t word = p[0] | (uint32_t{p[1]} << 8);
    // The renormalisation is unpredictable: it must not become a branch.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(FTC_RANS_PORTABLE)
    // Two conditional moves; compilers turn the portable form below into branches or shifts.
    const uint32_t refilled = (x << 16) | word;
    const uint8_t* const advanced = p + 2;
    asm("cmpl %[low], %[x]\n\t"
        "cmovbl %[refilled], %[x]\n\t"
        "cmovbq %[advanced], %[p]"
        : [x] "+r"(x), [p] "+r"(p)
        : [refilled] "r"(refilled), [advanced] "r"(advanced), [low] "i"(rans::kStateLow)
        : "cc");
#else
    const uint32_t need = x < rans::kStateLow;  // 0 or 1
    x = (x << (16 * need)) | (word & (0u - need));
    p += 2 * need;
#endif
    return e & 0xFF;
  };
  // A row reads at most one word per lane and column: 8 bytes per column, +2 for the look-ahead.
  const uint64_t row_bytes = uint64_t{width} * 8 + 2;
  uint32_t y = y0;
  for (; y < rows; ++y) {
    // Reading into the padding means the real words ran out: stop, the caller reports it.
    if (p > ws->end) {
      ws->overrun = true;
      break;
    }
    if (static_cast<uint64_t>(end - p) < row_bytes) break;
    uint8_t* r = tmp + y * stride;
    if (y == 0) {  // no row above: top := left, and the first left is 0
      uint32_t l0 = 0, l1 = 0, l2 = 0, l3 = 0;
      for (uint8_t* const row_end = r + stride; r != row_end; r += 4) {
        r[0] = static_cast<uint8_t>(l0 = step(x0, l0, l0));
        r[1] = static_cast<uint8_t>(l1 = step(x1, l1, l1));
        r[2] = static_cast<uint8_t>(l2 = step(x2, l2, l2));
        r[3] = static_cast<uint8_t>(l3 = step(x3, l3, l3));
      }
      continue;
    }
    uint32_t l0 = r[up], l1 = r[up + 1], l2 = r[up + 2], l3 = r[up + 3];
    for (uint8_t* const row_end = r + stride; r != row_end; r += 4) {
      l0 = step(x0, l0, r[up]);
      r[0] = static_cast<uint8_t>(l0);
      l1 = step(x1, l1, r[up + 1]);
      r[1] = static_cast<uint8_t>(l1);
      l2 = step(x2, l2, r[up + 2]);
      r[2] = static_cast<uint8_t>(l2);
      l3 = step(x3, l3, r[up + 3]);
      r[3] = static_cast<uint8_t>(l3);
    }
  }
  lanes[0].x = x0;
  lanes[1].x = x1;
  lanes[2].x = x2;
  lanes[3].x = x3;
  ws->p = p;
  if (p > ws->end) ws->overrun = true;
  // Copy out; a token >= T (T = 2^alphabet_bits here) can only come from the trap block.
  const uint32_t all_tokens = DeinterleaveRows(tmp, y0, y, width, 4, lanes);
  const uint32_t tokens = static_cast<uint32_t>(t.tokens.NumTokens());  // a power of 2 here
  if ((all_tokens | all_tokens >> 8 | all_tokens >> 16 | all_tokens >> 24) & 0xFF & ~(tokens - 1)) {
    ws->flags |= kTrapBit;
  }
  return y;
}

// N lanes over bands of one shape (rows × width), rows y0 onwards, one row at a time: unchecked
// reads when the row surely fits (two words per lane and column at most).
void DecodeRowsScalar(const DecodeTables& t, Lane* lanes, int n, uint32_t y0, uint32_t rows,
                      uint32_t width, bool direct, WordStream* ws) {
  const uint64_t row_bytes = uint64_t{width} * 4 * n;
  for (uint32_t y = y0; y < rows && !ws->overrun; ++y) {
    const size_t o = size_t{y} * width;
    for (int i = 0; i < n; ++i) lanes[i].left = y == 0 ? 0 : TopToken(lanes[i], 0, o, direct);
    const bool unchecked = y > 0 && static_cast<uint64_t>(ws->end - ws->p) >= row_bytes;
    for (uint32_t col = 0; col < width; ++col) {
      for (int i = 0; i < n; ++i) {
        Lane& l = lanes[i];
        const uint32_t top = y == 0 ? l.left : TopToken(l, col, o, direct);
        if (unchecked) {
          DecodeToken<false>(t, &l, top, col, l.out + o + col, ws);
        } else {
          DecodeToken<true>(t, &l, top, col, l.out + o + col, ws);
        }
      }
      if (direct) continue;
      for (int i = 0; i < n; ++i) DecodeEscapeBits(t, &lanes[i], lanes[i].out + o + col, ws);
    }
  }
}

// N bands of the same shape: the SIMD kernel or the four-lane fast path where they apply, then
// (for what they leave: the last rows, when the words might not suffice) the scalar rows.
void DecodeGroupUniform(DecodeTables* t, Lane* lanes, int n, uint32_t rows, uint32_t width,
                        bool direct, DecoderScratch* scratch, WordStream* ws) {
  uint32_t y = 0;
  const bool small = direct && t->small_tokens;
  if ((t->small_tokens || !t->wide_left.empty()) && (n == 8 || n == 16 || n == 32)) {
    uint8_t* const tokens = scratch->tokens.Get(size_t{rows} * width * n);
    uint16_t* const symbols = direct ? nullptr : scratch->symbols.Get(size_t{rows} * width * n);
    rans::SimdGroup g{t->entries + (size_t{2} << t->precision),
                      t->cls_left_x_top,
                      t->cls_top,
                      t->small_tokens ? nullptr : t->wide_left.data(),
                      t->small_tokens ? nullptr : t->wide_top.data(),
                      symbols,
                      t->tokens.direct_bits,
                      t->tokens.msb_bits,
                      t->precision,
                      n,
                      width,
                      rows};
    uint32_t states[kMaxLanes];
    for (int i = 0; i < n; ++i) states[i] = lanes[i].x;
    y = rans::DecodeRowsSimd(g, 0, states, tokens, &ws->p, ws->end, &ws->flags);
    for (int i = 0; i < n; ++i) lanes[i].x = states[i];
    if (ws->p > ws->end) ws->overrun = true;
    if (direct) {
      DeinterleaveRows(tokens, 0, y, width, n, lanes);
    } else {
      uint16_t* out[kMaxLanes];
      for (int i = 0; i < n; ++i) out[i] = lanes[i].out;
      rans::DeinterleaveSymbols(symbols, size_t{y} * width, n, out);
      // The scalar rows that follow find the tokens above in the lanes' row buffers.
      if (y > 0 && y < rows) {
        const uint8_t* above = tokens + size_t{y - 1} * width * n;
        for (int i = 0; i < n; ++i) {
          for (uint32_t col = 0; col < width; ++col) lanes[i].row[col] = above[col * n + i];
        }
      }
    }
  } else if (small && n == 4 && !t->small_lut.empty()) {
    uint8_t* const tokens = scratch->tokens.Get(size_t{rows} * width * 4);
    y = t->precision == 9 ? DecodeRowsDirect<9>(*t, lanes, 0, rows, width, tokens, ws)
                          : DecodeRowsDirect<0>(*t, lanes, 0, rows, width, tokens, ws);
  }
  if (!ws->overrun) DecodeRowsScalar(*t, lanes, n, y, rows, width, direct, ws);
}

// The lanes' initial states, which follow the tables at data[*pos]; advances *pos past them.
Status ReadLaneStates(const uint8_t* data, size_t size, int lanes_used, size_t* pos,
                      uint32_t* initial) {
  if (size - *pos < 4u * lanes_used) {
    return FTC_CORRUPT("symbol segment: truncated lane states (%zu bytes left, %d needed)",
                       size - *pos, 4 * lanes_used);
  }
  for (int i = 0; i < lanes_used; ++i, *pos += 4) {
    const uint8_t* b = data + *pos;
    initial[i] = b[0] | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
    if (initial[i] < rans::kStateLow) {
      return FTC_CORRUPT("symbol segment: lane %d state 0x%x is below 2^16", i, initial[i]);
    }
  }
  return Status::Ok();
}

// Each symbol reads at most two words: more bytes than that can only be left over. The words
// are copied with zero padding of one row of every fast path (up to four bytes per lane and
// column with escapes, and a vector's look-ahead), so those paths need no bounds checks inside a
// row (they check for reads into the padding after each row).
Status CopyWords(const uint8_t* data, size_t size, uint64_t total, int num_lanes,
                 const std::vector<BandShape>& bands, ScratchBuffer<uint8_t>* scratch,
                 uint8_t** words, size_t* padded_size) {
  if (size / 4 > total) {
    return FTC_CORRUPT("symbol segment: %zu bytes of rANS data for %llu symbols: bytes left over",
                       size, static_cast<unsigned long long>(total));
  }
  uint64_t widest = 0;
  for (const BandShape& b : bands) {
    if (b.rows != 0) widest = std::max<uint64_t>(widest, b.width);
  }
  const size_t padding = 4 * widest * static_cast<size_t>(num_lanes) + 64;
  *padded_size = size + padding;
  *words = scratch->Get(*padded_size);
  if (size > 0) std::memcpy(*words, data, size);
  std::memset(*words + size, 0, padding);
  return Status::Ok();
}

// Lanes at their initial states, each with a row buffer in *rows_storage as wide as the widest
// non-empty band it codes.
void SetUpLanes(const std::vector<BandShape>& bands, int num_lanes, const uint32_t* initial,
                std::vector<uint8_t>* rows_storage, Lane* lanes) {
  uint32_t max_width[kMaxLanes] = {};
  for (size_t b = 0; b < bands.size(); ++b) {
    if (bands[b].rows == 0 || bands[b].width == 0) continue;
    uint32_t& w = max_width[b % num_lanes];
    w = std::max(w, bands[b].width);
  }
  size_t n = 0;
  for (uint32_t w : max_width) n += w;
  rows_storage->resize(n);
  uint8_t* r = rows_storage->data();
  for (int i = 0; i < num_lanes; ++i) {
    lanes[i].x = initial[i];
    lanes[i].row = r;
    r += max_width[i];
  }
}

// Decodes the bands into `symbols`, a group of N (one per lane) at a time. `reference`: the
// literal algorithm only.
Status DecodeBands(DecodeTables* tables, const std::vector<BandShape>& bands, int num_lanes,
                   bool direct, bool reference, DecoderScratch* scratch, uint16_t* symbols,
                   Lane* lanes, WordStream* ws) {
  uint64_t offset = 0;
  for (size_t first = 0; first < bands.size(); first += num_lanes) {
    const int n = static_cast<int>(std::min<size_t>(num_lanes, bands.size() - first));
    bool uniform = !reference;
    for (int i = 0; i < n; ++i) {
      const BandShape& b = bands[first + i];
      Lane& l = lanes[i];
      l.out = symbols + offset;
      l.width = b.width;
      l.size = uint64_t{b.rows} * b.width;
      offset += l.size;
      uniform = uniform && b.rows == bands[first].rows && b.width == bands[first].width;
    }
    if (uniform && lanes[0].size > 0) {
      DecodeGroupUniform(tables, lanes, n, bands[first].rows, bands[first].width, direct, scratch,
                         ws);
    } else {
      DecodeGroupGeneric(*tables, lanes, n, direct, 0, ws);
    }
    if (ws->overrun) {
      return FTC_CORRUPT("symbol segment: rANS data ends early (bands %zu..%zu)", first,
                         first + n - 1);
    }
  }
  return Status::Ok();
}

// The integrity check of a decoded segment: no context without a table was used, every lane is
// back at its initial state and every word was read.
Status CheckSegmentEnd(const Lane* lanes, int lanes_used, const WordStream& ws) {
  if (ws.flags & kTrapBit) {
    return FTC_CORRUPT("symbol segment: a symbol was decoded in a context that has no table");
  }
  for (int i = 0; i < lanes_used; ++i) {
    if (lanes[i].x != rans::kStateLow) {
      return FTC_CORRUPT("symbol segment: final rANS state of lane %d is 0x%x, expected 0x%x", i,
                         lanes[i].x, rans::kStateLow);
    }
  }
  if (ws.p != ws.end) {
    return FTC_CORRUPT("symbol segment: %zu bytes left over after the last symbol",
                       static_cast<size_t>(ws.end - ws.p));
  }
  return Status::Ok();
}

// The lane states and rANS words at data[pos..size) under `model`.
Status DecodeWithModel(const uint8_t* data, size_t size, size_t pos, const ContextModel& model,
                       const std::vector<BandShape>& bands, uint64_t total, int alphabet_bits,
                       bool reference, uint16_t* symbols) {
  const int lanes_used = static_cast<int>(std::min<size_t>(model.lanes, bands.size()));
  uint32_t initial[kMaxLanes] = {};
  FTC_RETURN_IF_ERROR(ReadLaneStates(data, size, lanes_used, &pos, initial));
  if ((size - pos) % 2 != 0) {
    return FTC_CORRUPT("symbol segment: odd number (%zu) of rANS data bytes", size - pos);
  }

  thread_local DecoderScratch scratch;
  struct TrimOnExit {
    DecoderScratch* s;
    ~TrimOnExit() { s->Trim(); }
  } trim{&scratch};
  DecodeTables tables;
  FTC_RETURN_IF_ERROR(BuildTables(model, &scratch, &tables));
  uint8_t* words = nullptr;
  size_t padded_size = 0;
  FTC_RETURN_IF_ERROR(CopyWords(data + pos, size - pos, total, model.lanes, bands, &scratch.words,
                                &words, &padded_size));
  WordStream ws{words, words + (size - pos), words + padded_size};
  std::vector<uint8_t> rows_storage;
  Lane lanes[kMaxLanes];
  SetUpLanes(bands, model.lanes, initial, &rows_storage, lanes);
  const bool direct = model.tokens.direct_bits == alphabet_bits;
  FTC_RETURN_IF_ERROR(
      DecodeBands(&tables, bands, model.lanes, direct, reference, &scratch, symbols, lanes, &ws));
  return CheckSegmentEnd(lanes, lanes_used, ws);
}

// The segment's own Model (one lane if `single_lane`), and where the lane states start.
Status ReadSegmentModel(const uint8_t* data, size_t size, int alphabet_bits, bool single_lane,
                        ContextModel* model, size_t* pos) {
  BitReader br(data, size);
  FTC_RETURN_IF_ERROR(ReadModel(&br, alphabet_bits, model));
  if (single_lane) {
    if (model->lanes != rans::kMinLanes) {
      return FTC_CORRUPT("symbol segment: %d lanes in a packet's segment (must be 1: Lanes 0)",
                         model->lanes);
    }
    model->lanes = 1;
  }
  if (!br.PaddingIsZero()) return FTC_CORRUPT("symbol segment: non-zero padding after tables");
  *pos = br.byte_position();
  return Status::Ok();
}

Status CheckDecodeArgs(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                       int alphabet_bits, const uint16_t* symbols, uint64_t* total) {
  FTC_RETURN_IF_ERROR(rans::CheckSegmentArgs(bands, alphabet_bits, total));
  if (*total > 0 && symbols == nullptr) return FTC_INVALID("symbol segment: null output");
  if (data == nullptr && size > 0) return FTC_INVALID("symbol segment: null data");
  return Status::Ok();
}

Status DecodeSegment(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                     int alphabet_bits, bool reference, const SymbolSegmentDecodeOptions& options,
                     uint16_t* symbols) {
  uint64_t total = 0;
  FTC_RETURN_IF_ERROR(CheckDecodeArgs(data, size, bands, alphabet_bits, symbols, &total));
  ContextModel model;
  size_t pos = 0;
  FTC_RETURN_IF_ERROR(
      ReadSegmentModel(data, size, alphabet_bits, options.single_lane, &model, &pos));
  return DecodeWithModel(data, size, pos, model, bands, total, alphabet_bits, reference, symbols);
}

Status DecodeHeadless(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                      const SymbolModel& m, bool reference, uint16_t* symbols) {
  uint64_t total = 0;
  FTC_RETURN_IF_ERROR(CheckDecodeArgs(data, size, bands, m.alphabet_bits(), symbols, &total));
  return DecodeWithModel(data, size, 0, m.impl().model, bands, total, m.alphabet_bits(), reference,
                         symbols);
}

}  // namespace

Status DecodeSymbolSegment(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                           int alphabet_bits, uint16_t* symbols) {
  return DecodeSegment(data, size, bands, alphabet_bits, false, {}, symbols);
}

Status DecodeSymbolSegment(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                           int alphabet_bits, uint16_t* symbols,
                           const SymbolSegmentDecodeOptions& options) {
  return DecodeSegment(data, size, bands, alphabet_bits, false, options, symbols);
}

Status DecodeSymbolSegmentReference(const uint8_t* data, size_t size,
                                    const std::vector<BandShape>& bands, int alphabet_bits,
                                    uint16_t* symbols) {
  return DecodeSegment(data, size, bands, alphabet_bits, true, {}, symbols);
}

Status DecodeSymbolSegmentReference(const uint8_t* data, size_t size,
                                    const std::vector<BandShape>& bands, int alphabet_bits,
                                    uint16_t* symbols, const SymbolSegmentDecodeOptions& options) {
  return DecodeSegment(data, size, bands, alphabet_bits, true, options, symbols);
}

Result<SymbolModel> SymbolModel::Parse(const uint8_t* data, size_t size, int alphabet_bits) {
  if (alphabet_bits < 1 || alphabet_bits > 16) {
    return FTC_INVALID("symbol model: alphabet bits %d (must be 1..16)", alphabet_bits);
  }
  if (data == nullptr && size > 0) return FTC_INVALID("symbol model: null data");
  auto impl = std::make_shared<Impl>();
  size_t pos = 0;
  FTC_RETURN_IF_ERROR(ReadSegmentModel(data, size, alphabet_bits, true, &impl->model, &pos));
  if (pos != size) {
    return FTC_CORRUPT("symbol model: %zu bytes after the tables", size - pos);
  }
  impl->bytes.assign(data, data + size);
  impl->alphabet_bits = alphabet_bits;
  SymbolModel m;
  m.impl_ = std::move(impl);
  return m;
}

Status DecodeHeadlessSegment(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                             const SymbolModel& model, uint16_t* symbols) {
  return DecodeHeadless(data, size, bands, model, false, symbols);
}

Status DecodeHeadlessSegmentReference(const uint8_t* data, size_t size,
                                      const std::vector<BandShape>& bands, const SymbolModel& model,
                                      uint16_t* symbols) {
  return DecodeHeadless(data, size, bands, model, true, symbols);
}

}  // namespace ftc

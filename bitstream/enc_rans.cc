// Encoder of the context-modelled rANS symbol segment. Read bitstream/rans_common.h first.
//
// The encoder makes three passes over the symbols:
//  1. validate and tokenize (the escape scheme is chosen from the symbol histogram);
//  2. collect a fine histogram of token | (left token, top token), neighbours capped at 15;
//     then choose the context classes without touching the symbols again: candidate threshold
//     sets come from quantiles of the token histogram, each priced as exact table bits plus the
//     conditional entropy, from a summed-area table of the fine histogram;
//  3. code the tokens in reverse decoding order, N lanes at a time: groups of 4 (with escapes),
//     8, 16 or 32 bands of one shape by the Highway kernel of enc_rans_simd.cc, states in
//     vectors, the rest (and EncodeSymbolSegmentReference) by the scalar code here, which the
//     kernel matches byte for byte.
// Every choice uses integer arithmetic, so the same input gives the same bytes everywhere (the
// only floating point, std::log2 for SymbolSegmentStats, never influences the output).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "base/status_macros.h"
#include "bitstream/enc_rans_simd.h"
#include "bitstream/rans_common.h"
#include "bitstream/symbol_coder.h"

namespace ftc {
namespace {

using rans::BitWriter;
using rans::ContextModel;
using rans::kMaxClasses;
using rans::kMaxWeightCode;
using rans::Log2Q16;
using rans::TokenConfig;

constexpr int kFine = 16;  // neighbours are capped at 15 for context selection
// Table precision: 9 bits keeps the decoder's tables in L1 (it costs ~0.1% against 12 bits on
// feature planes); very skewed segments raise it when that saves more than 1/256 of the data.
constexpr int kDefaultPrecision = 9;
constexpr uint64_t kTokenTableCost = 24;
// Lane counts by segment size (SymbolSegmentLanes): a lane costs about 3 bytes (its 4-byte state
// less what the state carries), so small segments (packets) keep 4 lanes; from a frame of 8,192
// symbols on, 16 lanes give the SIMD decoder two vectors of independent states per step (+1.5-2.5%
// on a 64×14×14 frame at 2-4 bits), and 32 lanes (four vectors) from 2^17 symbols, where their
// cost is below 1%. docs/benchmarks.md ("Entropy coder") has the measurements behind this.
constexpr uint64_t kLanes16Symbols = 8192;
constexpr uint64_t kLanes32Symbols = uint64_t{1}
                                     << 17;  // bits a used token is assumed to cost in the tables

// Log2Q16 of small counts, looked up.
struct SmallLog2Table {
  uint32_t v[2048];
};
constexpr SmallLog2Table MakeSmallLog2Table() {
  SmallLog2Table t{};
  for (uint32_t n = 1; n < 2048; ++n) t.v[n] = Log2Q16(n);
  return t;
}
constexpr SmallLog2Table kSmallLog2 = MakeSmallLog2Table();
inline uint32_t FastLog2Q16(uint32_t n) { return n < 2048 ? kSmallLog2.v[n] : Log2Q16(n); }

int CeilLog2(uint64_t v) { return v <= 1 ? 0 : 64 - __builtin_clzll(v - 1); }

// ---------------------------------------------------------------------------------------------
// Escape scheme.

// Histogram of the symbols in a form from which the token histogram of any TokenConfig can be
// derived: exact counts below 256, and (exponent, 3 bits below the leading one) above.
struct SymbolHistogram {
  std::array<uint32_t, 256> small{};
  std::array<std::array<uint32_t, 8>, 16> large{};  // [e][3 msbs], e >= 8
  uint32_t max_symbol = 0;
};

TokenConfig ChooseTokenConfig(const SymbolHistogram& h, uint64_t total, int alphabet_bits) {
  TokenConfig best;
  best.alphabet_bits = alphabet_bits;
  if (alphabet_bits <= 4) {  // at most 16 tokens: every symbol is its own token
    best.direct_bits = alphabet_bits;
    return best;
  }
  best.direct_bits = 4;
  best.msb_bits = 0;
  if (total == 0) return best;
  const uint32_t log_total = Log2Q16(static_cast<uint32_t>(total));
  // Q16 cost of a token that occurs n times: its code length and its share of the tables.
  auto token_cost = [&](uint64_t n) -> uint64_t {
    return n == 0 ? 0
                  : n * (log_total - Log2Q16(static_cast<uint32_t>(n))) + (kTokenTableCost << 16);
  };
  // The symbols >= 1 by exponent e and the 3 bits below the leading one (zero-padded for e < 3):
  // an escape token of any scheme (m <= 3) is a union of these buckets.
  uint64_t bucket[16][8] = {};
  for (uint32_t v = 1; v < 256 && v <= h.max_symbol; ++v) {
    const int e = rans::FloorLog2(v);
    const uint32_t k = e >= 3 ? (v >> (e - 3)) & 7 : (v << (3 - e)) & 7;
    bucket[e][k] += h.small[v];
  }
  for (int e = 8; e < 16; ++e) {
    for (int k = 0; k < 8; ++k) bucket[e][k] += h.large[e][k];
  }
  uint64_t per_exponent[16] = {};
  for (int e = 0; e < 16; ++e) {
    for (int k = 0; k < 8; ++k) per_exponent[e] += bucket[e][k];
  }
  // direct[d]: cost of the literal tokens 0 .. 2^d - 1 (symbols below 256 only: d <= 8).
  uint64_t direct[rans::kMaxDirectBits + 1] = {};
  direct[0] = token_cost(h.small[0]);
  for (int d = 1; d <= rans::kMaxDirectBits; ++d) {
    direct[d] = direct[d - 1];
    for (uint32_t v = uint32_t{1} << (d - 1); v < (uint32_t{1} << d); ++v) {
      direct[d] += token_cost(h.small[v]);
    }
  }
  uint64_t best_cost = ~uint64_t{0};
  for (int d = 0; d <= std::min(alphabet_bits, rans::kMaxDirectBits); ++d) {
    for (int m = 0; m <= std::min(d, rans::kMaxMsbBits); ++m) {
      TokenConfig c;
      c.alphabet_bits = alphabet_bits;
      c.direct_bits = d;
      c.msb_bits = d < alphabet_bits ? m : 0;
      if (d == alphabet_bits && m > 0) continue;
      if (!c.Valid()) continue;
      uint64_t raw_bits = 0, cost = direct[d];
      const int mb = c.msb_bits;
      for (int e = d; e < alphabet_bits; ++e) {
        raw_bits += per_exponent[e] * static_cast<uint64_t>(e - mb);
        const int group = 8 >> mb;  // buckets per token
        for (int j = 0; j < (1 << mb); ++j) {
          uint64_t n = 0;
          for (int k = 0; k < group; ++k) n += bucket[e][j * group + k];
          cost += token_cost(n);
        }
      }
      cost += raw_bits << 16;
      if (cost < best_cost) {
        best_cost = cost;
        best = c;
      }
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Tables.

// Weight codes for a histogram: 1 + round(log2(max / n)), capped; 0 for absent tokens.
// Returns the span (index of the last present token + 1).
int WeightCodes(const uint32_t* counts, int num_tokens, uint8_t* codes) {
  uint32_t max_count = 0;
  int span = 0;
  for (int s = 0; s < num_tokens; ++s) {
    if (counts[s] == 0) continue;
    max_count = std::max(max_count, counts[s]);
    span = s + 1;
  }
  if (span == 0) return 0;
  const uint32_t log_max = FastLog2Q16(max_count);
  for (int s = 0; s < span; ++s) {
    if (counts[s] == 0) {
      codes[s] = 0;
      continue;
    }
    const uint32_t v = 1 + ((log_max - FastLog2Q16(counts[s]) + 0x8000) >> 16);
    codes[s] = static_cast<uint8_t>(std::min<uint32_t>(v, kMaxWeightCode));
  }
  return span;
}

// Bits of the order-0 Exp-Golomb code of v.
int ExpGolombBits(uint32_t v) { return 2 * rans::FloorLog2(v + 1) + 1; }
int SignedExpGolombBits(int v) {
  return ExpGolombBits(v >= 0 ? 2u * v : 2u * static_cast<uint32_t>(-v) - 1);
}

int ThresholdBits(const std::vector<uint8_t>& th) {
  int bits = 3, prev = 0;
  for (uint8_t t : th) {
    bits += ExpGolombBits(t - prev - 1);
    prev = t;
  }
  return bits;
}

void WriteThresholds(const std::vector<uint8_t>& th, BitWriter* bw) {
  bw->Bits(static_cast<uint32_t>(th.size()), 3);
  int prev = 0;
  for (uint8_t t : th) {
    bw->ExpGolomb(t - prev - 1);
    prev = t;
  }
}

// Bits of a table's weight codes (after its span) in the dense coding (every token of the span,
// absent ones as 0) and in the sparse coding (zero-run before each present token); *sparse tells
// which is smaller. A span of 1 has no mode bit and is always dense.
int TableBodyBits(const uint8_t* codes, int span, bool* sparse) {
  int dense = 0, runs = 0, prev = 1, run = 0;
  for (int s = 0; s < span; ++s) {
    dense += SignedExpGolombBits(codes[s] - prev);
    if (codes[s] == 0) {
      ++run;
      continue;
    }
    runs += ExpGolombBits(run) + SignedExpGolombBits(codes[s] - prev);
    run = 0;
    prev = codes[s];
  }
  *sparse = span > 1 && runs < dense;
  return span > 1 ? 1 + std::min(dense, runs) : dense;
}

void WriteTable(const std::vector<uint8_t>& codes, int num_tokens, BitWriter* bw) {
  const int span = static_cast<int>(codes.size());
  bw->ExpGolomb(num_tokens - span);
  bool sparse;
  TableBodyBits(codes.data(), span, &sparse);
  if (span > 1) bw->Bits(sparse, 1);
  int prev = 1, run = 0;
  for (uint8_t v : codes) {
    if (sparse && v == 0) {
      ++run;
      continue;
    }
    if (sparse) bw->ExpGolomb(run);
    run = 0;
    bw->SignedExpGolomb(v - prev);
    if (v != 0) prev = v;
  }
}

void WriteModel(const ContextModel& m, BitWriter* bw) {
  const TokenConfig& c = m.tokens;
  // One lane (a data packet's segment) is written as 0, like four.
  const int lanes = std::max(m.lanes, rans::kMinLanes);
  bw->Bits(static_cast<uint32_t>(rans::FloorLog2(static_cast<uint32_t>(lanes / rans::kMinLanes))),
           2);
  bw->Bits(c.direct_bits, 4);
  if (c.direct_bits < c.alphabet_bits) bw->Bits(c.msb_bits, 2);
  bw->Bits(m.precision, 4);
  WriteThresholds(m.left_thresholds, bw);
  WriteThresholds(m.top_thresholds, bw);
  const int num_tokens = c.NumTokens();
  for (const std::vector<uint8_t>& codes : m.weight_codes) WriteTable(codes, num_tokens, bw);
}

// ---------------------------------------------------------------------------------------------
// Context selection.

class ContextSearch {
 public:
  ContextSearch(const std::vector<uint32_t>& fine_hist, int num_tokens) : num_tokens_(num_tokens) {
    // Summed-area table over (fine left, fine top): sat_[l][t] = sum of fine_hist over
    // left < l, top < t. Classes are intervals of fine values, so a context's histogram is
    // four corner terms.
    const size_t nt = static_cast<size_t>(num_tokens_);
    sat_.assign((kFine + 1) * (kFine + 1) * nt, 0);
    for (int l = 1; l <= kFine; ++l) {
      for (int t = 1; t <= kFine; ++t) {
        uint32_t* d = &sat_[(l * (kFine + 1) + t) * nt];
        const uint32_t* up = &sat_[((l - 1) * (kFine + 1) + t) * nt];
        const uint32_t* left = &sat_[(l * (kFine + 1) + t - 1) * nt];
        const uint32_t* diag = &sat_[((l - 1) * (kFine + 1) + t - 1) * nt];
        const uint32_t* h = &fine_hist[((l - 1) * kFine + (t - 1)) * nt];
        for (size_t s = 0; s < nt; ++s) d[s] = h[s] + up[s] + left[s] - diag[s];
      }
    }
    logs_.resize(num_tokens_);
    codes_.resize(num_tokens_);
    counts_.resize(num_tokens_);
  }

  // Q16 bits of the whole model + data for the given thresholds: exact table bits plus the
  // empirical conditional entropy (the normalisation loss is about the same for every choice).
  uint64_t Cost(const std::vector<uint8_t>& left, const std::vector<uint8_t>& top) {
    uint64_t bits = uint64_t(ThresholdBits(left) + ThresholdBits(top)) << 16;
    const int nl = static_cast<int>(left.size()) + 1, ntop = static_cast<int>(top.size()) + 1;
    for (int cl = 0; cl < nl; ++cl) {
      for (int ct = 0; ct < ntop; ++ct) {
        bits += ContextCost(Bound(left, cl, nl), Bound(left, cl + 1, nl), Bound(top, ct, ntop),
                            Bound(top, ct + 1, ntop));
      }
    }
    return bits;
  }

  // Q16 bits of the data with the normalised tables of the last Aggregate() at `precision`.
  uint64_t DataCost(int precision) {
    const size_t contexts = ctx_hist_.size() / num_tokens_;
    std::vector<uint32_t> freq(num_tokens_);
    uint64_t bits = 0;
    for (size_t k = 0; k < contexts; ++k) {
      const uint32_t* counts = &ctx_hist_[k * num_tokens_];
      const int span = WeightCodes(counts, num_tokens_, codes_.data());
      if (span == 0) continue;
      rans::NormalizeWeights(codes_.data(), span, precision, freq.data());
      for (int s = 0; s < span; ++s) {
        if (counts[s] == 0) continue;
        bits += uint64_t{counts[s]} * ((uint32_t(precision) << 16) - Log2Q16(freq[s]));
      }
    }
    return bits;
  }

  const std::vector<uint32_t>& ctx_hist() const { return ctx_hist_; }

  // Per-context histograms for the given thresholds (kept in ctx_hist()).
  void Aggregate(const std::vector<uint8_t>& left, const std::vector<uint8_t>& top) {
    const size_t nt = static_cast<size_t>(num_tokens_);
    const int nl = static_cast<int>(left.size()) + 1, ntop = static_cast<int>(top.size()) + 1;
    ctx_hist_.resize(static_cast<size_t>(nl * ntop) * nt);
    for (int cl = 0; cl < nl; ++cl) {
      for (int ct = 0; ct < ntop; ++ct) {
        Rectangle(Bound(left, cl, nl), Bound(left, cl + 1, nl), Bound(top, ct, ntop),
                  Bound(top, ct + 1, ntop), &ctx_hist_[(cl * ntop + ct) * nt]);
      }
    }
  }

 private:
  // Fine-value interval [Bound(c), Bound(c + 1)) of class c of n (thresholds are <= 16).
  static int Bound(const std::vector<uint8_t>& th, int c, int n) {
    return c == 0 ? 0 : c == n ? kFine : std::min<int>(th[c - 1], kFine);
  }

  // Histogram of left in [l0, l1), top in [t0, t1): four corners of the summed-area table.
  void Rectangle(int l0, int l1, int t0, int t1, uint32_t* dst) const {
    const size_t nt = static_cast<size_t>(num_tokens_);
    const uint32_t* a = &sat_[(l1 * (kFine + 1) + t1) * nt];
    const uint32_t* b = &sat_[(l0 * (kFine + 1) + t1) * nt];
    const uint32_t* c = &sat_[(l1 * (kFine + 1) + t0) * nt];
    const uint32_t* d = &sat_[(l0 * (kFine + 1) + t0) * nt];
    for (size_t s = 0; s < nt; ++s) dst[s] = a[s] - b[s] - c[s] + d[s];
  }

  // Q16 bits of one context (table bits + conditional entropy), memoised: the candidates of a
  // search share most of their rectangles.
  uint64_t ContextCost(int l0, int l1, int t0, int t1) {
    const uint32_t key = static_cast<uint32_t>(l0 | l1 << 5 | t0 << 10 | t1 << 15);
    for (const auto& m : memo_) {
      if (m.first == key) return m.second;
    }
    Rectangle(l0, l1, t0, t1, counts_.data());
    const uint32_t* counts = counts_.data();
    uint32_t max_log = 0;
    uint64_t n_total = 0, sum_nlogn = 0;
    int span = 0;
    for (int s = 0; s < num_tokens_; ++s) {
      const uint32_t n = counts[s];
      if (n == 0) continue;
      const uint32_t lg = Log2(n);
      logs_[s] = lg;
      max_log = std::max(max_log, lg);
      n_total += n;
      sum_nlogn += uint64_t{n} * lg;
      span = s + 1;
    }
    uint64_t bits;
    if (span == 0) {
      bits = uint64_t(ExpGolombBits(num_tokens_)) << 16;
    } else {
      bits = n_total * Log2(static_cast<uint32_t>(n_total)) - sum_nlogn;
      for (int s = 0; s < span; ++s) {
        codes_[s] = counts[s] == 0
                        ? 0
                        : static_cast<uint8_t>(std::min<uint32_t>(
                              1 + ((max_log - logs_[s] + 0x8000) >> 16), kMaxWeightCode));
      }
      bool sparse;
      const int table_bits = ExpGolombBits(static_cast<uint32_t>(num_tokens_ - span)) +
                             TableBodyBits(codes_.data(), span, &sparse);
      bits += uint64_t(table_bits) << 16;
    }
    memo_.emplace_back(key, bits);
    return bits;
  }

  const int num_tokens_;
  std::vector<uint32_t> sat_;
  std::vector<uint32_t> ctx_hist_;
  std::vector<uint32_t> logs_;
  std::vector<uint8_t> codes_;
  std::vector<uint32_t> counts_;
  std::vector<std::pair<uint32_t, uint64_t>> memo_;  // ContextCost by rectangle

  static uint32_t Log2(uint32_t n) { return FastLog2Q16(n); }
};

// Thresholds that split the (capped) token histogram into `classes` parts of about equal mass.
std::vector<uint8_t> QuantileThresholds(const uint64_t* marginal, uint64_t total, int classes) {
  std::vector<uint8_t> th;
  uint64_t acc = 0;
  int j = 1;
  for (int t = 0; t + 1 < kFine && j < classes; ++t) {
    acc += marginal[t];
    bool crossed = false;
    while (j < classes && acc * classes >= j * total) {
      ++j;
      crossed = true;
    }
    if (crossed && marginal[t + 1] != 0) th.push_back(static_cast<uint8_t>(t + 1));
  }
  return th;
}

// ---------------------------------------------------------------------------------------------
// rANS encoding.

// One token of one context, ready for the encoder (ryg_rans style, with a 64-bit reciprocal so
// that the division is exact for every 32-bit state).
struct EncSymbol {
  uint64_t rcp;        // ceil(2^64 / freq), or 2^64 - 1 for freq == 1 (fixed up by bias)
  uint32_t x_max_m1;   // renormalise (emit 16 bits) if x > x_max_m1 = freq * 2^(32-P) - 1
  uint32_t bias;       // start, or start + 2^P - 1 for freq == 1
  uint32_t cmpl_freq;  // 2^P - freq
  uint32_t unused;
};

EncSymbol MakeEncSymbol(uint32_t start, uint32_t freq, int precision) {
  EncSymbol s;
  s.x_max_m1 = static_cast<uint32_t>((uint64_t{freq} << (32 - precision)) - 1);
  s.cmpl_freq = (uint32_t{1} << precision) - freq;
  s.unused = 0;
  if (freq == 1) {
    // q = mulhi(x, 2^64 - 1) = x - 1; x + bias + q * cmpl = (x << P) + start.
    s.rcp = ~uint64_t{0};
    s.bias = start + (uint32_t{1} << precision) - 1;
  } else {
    // q = mulhi(x, rcp) = floor(x / freq) exactly: rcp exceeds 2^64 / freq by at most 1, so the
    // error x * (rcp - 2^64 / freq) / 2^64 < 2^-32 < 1 / freq for every x < 2^32.
    s.rcp = ~uint64_t{0} / freq + 1;
    s.bias = start;
  }
  return s;
}

// x -> C(x, token) = (x / f) * 2^P + x % f + start, computed as x + bias + q * (2^P - f).
// Output grows downwards from *wp; the word is always stored, the pointer moves only on emit
// (the buffer has slack below its start), which keeps the loop free of branches.
inline void EncodePut(uint32_t* x, const EncSymbol& sym, uint8_t** wp) {
  const uint32_t v0 = *x;
  // Arithmetic instead of ?: so the compiler cannot turn the (unpredictable) renormalisation
  // into a branch.
  const uint32_t emit = v0 > sym.x_max_m1;  // 0 or 1
  uint8_t* p = *wp;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint16_t word = static_cast<uint16_t>(v0);
  std::memcpy(p - 2, &word, 2);
#else
  p[-2] = static_cast<uint8_t>(v0);
  p[-1] = static_cast<uint8_t>(v0 >> 8);
#endif
  *wp = p - 2 * emit;
  const uint32_t v = v0 >> (16 * emit);
  const uint32_t q = static_cast<uint32_t>((static_cast<unsigned __int128>(v) * sym.rcp) >> 64);
  *x = v + sym.bias + q * sym.cmpl_freq;
}

// Raw (uniform) bits: freq 1 of 2^n, i.e. x' = (x << n) | bits.
inline void EncodeRaw(uint32_t* x, uint32_t bits, int n, uint8_t** wp) {
  uint32_t v = *x;
  if (v >= (uint64_t{1} << (32 - n))) {
    *wp -= 2;
    (*wp)[0] = static_cast<uint8_t>(v);
    (*wp)[1] = static_cast<uint8_t>(v >> 8);
    v >>= 16;
  }
  *x = (v << n) | bits;
}

// Fine histogram of one band: hist[pair * T + token] with pair = fine(left) * 16 + fine(top).
// kSmall: every token is below 16, so no capping is needed.
template <bool kSmall>
void FineHistogram(const uint8_t* t, uint32_t rows, uint32_t w, int num_tokens, uint8_t* pairs,
                   uint32_t* hist, uint32_t* hist2) {
  auto fine = [](uint32_t v) { return kSmall ? v : std::min<uint32_t>(v, kFine - 1); };
  const uint32_t nt = static_cast<uint32_t>(num_tokens);
  // Row 0: no top neighbour; top := left.
  uint32_t left = 0;
  for (uint32_t x = 0; x < w; ++x) {
    const uint32_t p = left * (kFine + 1);
    pairs[x] = static_cast<uint8_t>(p);
    ++hist[p * nt + t[x]];
    left = fine(t[x]);
  }
  // Odd columns count into a second histogram: runs of equal (pair, token), common in sparse
  // planes, would otherwise chain every increment on the previous one through memory.
  for (uint32_t y = 1; y < rows; ++y) {
    const uint8_t* row = t + size_t{y} * w;
    const uint8_t* above = row - w;
    uint8_t* pr = pairs + size_t{y} * w;
    left = fine(above[0]);
    uint32_t x = 0;
    for (; x + 1 < w; x += 2) {
      const uint32_t p0 = left * kFine + fine(above[x]);
      const uint32_t l1 = fine(row[x]);
      const uint32_t p1 = l1 * kFine + fine(above[x + 1]);
      pr[x] = static_cast<uint8_t>(p0);
      pr[x + 1] = static_cast<uint8_t>(p1);
      ++hist[p0 * nt + row[x]];
      ++hist2[p1 * nt + row[x + 1]];
      left = fine(row[x + 1]);
    }
    if (x < w) {
      const uint32_t p = left * kFine + fine(above[x]);
      pr[x] = static_cast<uint8_t>(p);
      ++hist[p * nt + row[x]];
    }
  }
}

struct BandPos {
  uint64_t offset;
  uint64_t size;
  uint32_t width;
};

// Pass 1, validation: every symbol must fit in alphabet_bits.
Status CheckSymbols(const uint16_t* symbols, uint64_t total, int alphabet_bits) {
  const uint32_t limit = uint32_t{1} << alphabet_bits;
  uint16_t all_bits = 0;
  for (uint64_t i = 0; i < total; ++i) all_bits |= symbols[i];
  if (all_bits >= limit) {
    for (uint64_t i = 0; i < total; ++i) {
      if (symbols[i] >= limit) {
        return FTC_INVALID("symbol segment: symbol %u at %llu does not fit in %d bits", symbols[i],
                           static_cast<unsigned long long>(i), alphabet_bits);
      }
    }
  }
  return Status::Ok();
}

// Pass 1, histogram: only needed to choose an escape scheme (alphabets of more than 4 bits).
SymbolHistogram HistogramOfSymbols(const uint16_t* symbols, uint64_t total, int alphabet_bits) {
  SymbolHistogram sh;
  if (alphabet_bits <= 4) return sh;
  if (alphabet_bits <= 8) {
    // Four histograms, so that runs of one symbol (zeros, mostly) do not chain every increment
    // on the previous one through memory.
    uint32_t h[4][256] = {};
    uint32_t all = 0;
    uint64_t i = 0;
    for (; i + 4 <= total; i += 4) {
      ++h[0][symbols[i]];
      ++h[1][symbols[i + 1]];
      ++h[2][symbols[i + 2]];
      ++h[3][symbols[i + 3]];
    }
    for (; i < total; ++i) ++h[0][symbols[i]];
    for (int v = 0; v < 256; ++v) {
      sh.small[v] = h[0][v] + h[1][v] + h[2][v] + h[3][v];
      if (sh.small[v] != 0) all = static_cast<uint32_t>(v);
    }
    sh.max_symbol = all;
    return sh;
  }
  for (uint64_t i = 0; i < total; ++i) {
    const uint32_t s = symbols[i];
    sh.max_symbol = std::max(sh.max_symbol, s);
    if (s < 256) {
      ++sh.small[s];
    } else {
      const int e = rans::FloorLog2(s);
      ++sh.large[e][(s >> (e - 3)) & 7];
    }
  }
  return sh;
}

// The symbols as tokens of an escape scheme, and what the escapes cost.
struct TokenizedSymbols {
  std::unique_ptr<uint8_t[]> tokens;  // total + 1 entries
  // With escapes: an escape's raw bits | (their count << 16), 0 for other symbols (as the SIMD
  // kernel wants them); null without escapes.
  std::unique_ptr<uint32_t[]> raw;
  uint64_t escaped = 0;        // symbols coded through an escape token
  uint64_t raw_bit_total = 0;  // raw bits that follow their escape tokens
};

// Pass 1, tokenization (rans::Tokenize without branches: escapes are frequent at 8 bits and more).
TokenizedSymbols TokenizeSymbols(const uint16_t* symbols, uint64_t total, int alphabet_bits,
                                 const TokenConfig& tc) {
  TokenizedSymbols ts;
  ts.tokens.reset(new uint8_t[total + 1]);
  uint8_t* const tokens = ts.tokens.get();
  if (tc.direct_bits == alphabet_bits) {
    for (uint64_t i = 0; i < total; ++i) tokens[i] = static_cast<uint8_t>(symbols[i]);
    return ts;
  }
  ts.raw.reset(new uint32_t[total + 1]);
  uint32_t* const raw = ts.raw.get();
  const uint32_t direct_limit = uint32_t{1} << tc.direct_bits;
  if (alphabet_bits <= 8) {  // by table
    uint8_t token_of[256];
    uint32_t raw_of[256];
    for (uint32_t v = 0; v < 256; ++v) {
      int nraw;
      uint32_t bits;
      token_of[v] = static_cast<uint8_t>(rans::Tokenize(v, tc, &bits, &nraw));
      raw_of[v] = bits | static_cast<uint32_t>(nraw) << 16;
    }
    uint64_t escaped = 0, raw_bits = 0;
    for (uint64_t i = 0; i < total; ++i) {
      const uint32_t v = symbols[i];
      tokens[i] = token_of[v];
      raw[i] = raw_of[v];
      escaped += v >= direct_limit;
      raw_bits += raw_of[v] >> 16;
    }
    ts.escaped = escaped;
    ts.raw_bit_total = raw_bits;
    return ts;
  }
  const uint32_t d = static_cast<uint32_t>(tc.direct_bits), m = static_cast<uint32_t>(tc.msb_bits);
  const uint32_t msb_mask = (uint32_t{1} << m) - 1;
  uint64_t escaped = 0, raw_bits = 0;
  for (uint64_t i = 0; i < total; ++i) {
    const uint32_t v = symbols[i];
    const uint32_t escape = 0u - static_cast<uint32_t>(v >= direct_limit);  // all ones or 0
    const uint32_t e = static_cast<uint32_t>(rans::FloorLog2(v | 1));
    const uint32_t n = (e - m) & escape;  // e >= d >= m for an escape
    const uint32_t token = direct_limit + ((e - d) << m) + ((v >> n) & msb_mask);
    tokens[i] = static_cast<uint8_t>(v ^ ((v ^ token) & escape));
    raw[i] = (v & ((uint32_t{1} << n) - 1)) | n << 16;
    escaped += escape & 1;
    raw_bits += n;
  }
  ts.escaped = escaped;
  ts.raw_bit_total = raw_bits;
  return ts;
}

// Pass 2: the fine context histogram of every band, (*fine_hist)[pair * T + token], and
// pairs[i] = min(left, 15) * 16 + min(top, 15) for every symbol; *positions gets each band's
// place. *fine_hist2 is scratch of the same size.
void FineContextHistogram(const uint8_t* tokens, const std::vector<BandShape>& bands,
                          int num_tokens, uint8_t* pairs, std::vector<BandPos>* positions,
                          std::vector<uint32_t>* fine_hist, std::vector<uint32_t>* fine_hist2) {
  fine_hist->assign(static_cast<size_t>(kFine * kFine) * num_tokens, 0);
  fine_hist2->assign(fine_hist->size(), 0);
  positions->reserve(bands.size());
  uint64_t offset = 0;
  for (const BandShape& b : bands) {
    const uint64_t size = uint64_t{b.rows} * b.width;
    positions->push_back({offset, size, b.width});
    if (size == 0) continue;
    if (num_tokens <= kFine) {
      FineHistogram<true>(&tokens[offset], b.rows, b.width, num_tokens, &pairs[offset],
                          fine_hist->data(), fine_hist2->data());
    } else {
      FineHistogram<false>(&tokens[offset], b.rows, b.width, num_tokens, &pairs[offset],
                           fine_hist->data(), fine_hist2->data());
    }
    offset += size;
  }
  for (size_t i = 0; i < fine_hist->size(); ++i) (*fine_hist)[i] += (*fine_hist2)[i];
}

// Occurrences of every token, whatever its context.
std::vector<uint64_t> TokenCounts(const std::vector<uint32_t>& fine_hist, int num_tokens) {
  std::vector<uint64_t> token_counts(num_tokens, 0);
  for (size_t p = 0; p < static_cast<size_t>(kFine * kFine); ++p) {
    for (int t = 0; t < num_tokens; ++t) token_counts[t] += fine_hist[p * num_tokens + t];
  }
  return token_counts;
}

// Precision: 2^P should not exceed the segment much (tables cost decode time), and must hold
// every present token of a table.
int BasePrecision(const std::vector<uint64_t>& token_counts, uint64_t total) {
  int used_tokens = 0;
  for (uint64_t n : token_counts) used_tokens += n != 0;
  return std::max({rans::kMinPrecision, CeilLog2(used_tokens),
                   std::min(kDefaultPrecision, CeilLog2(total) + 1)});
}

// Context search: quantile thresholds, the diagonal (K × K classes) first, then single steps of
// either side while they pay. Sets the model's thresholds and leaves their per-context
// histograms in search->ctx_hist().
void ChooseContextClasses(const std::vector<uint64_t>& token_counts, uint64_t total,
                          ContextSearch* search, ContextModel* model) {
  const int num_tokens = static_cast<int>(token_counts.size());
  uint64_t marginal[kFine] = {};
  for (int t = 0; t < num_tokens; ++t) marginal[std::min(t, kFine - 1)] += token_counts[t];
  std::vector<std::vector<uint8_t>> cand(kMaxClasses + 1);
  for (int k = 1; k <= kMaxClasses; ++k) cand[k] = QuantileThresholds(marginal, total, k);
  int best_l = 1, best_t = 1;
  if (total > 0) {
    uint64_t best = ~uint64_t{0};
    for (int k = 2; k <= 5; ++k) {
      if (k > 2 && cand[k] == cand[k - 1]) continue;
      const uint64_t c = search->Cost(cand[k], cand[k]);
      if (c < best) {
        best = c;
        best_l = best_t = k;
      }
    }
    for (int round = 0; round < 2; ++round) {
      bool improved = false;
      for (int dir = 0; dir < 4; ++dir) {
        const int l = best_l + (dir == 0) - (dir == 1);
        const int t = best_t + (dir == 2) - (dir == 3);
        if (l < 1 || t < 1 || l > kMaxClasses || t > kMaxClasses) continue;
        if (cand[l] == cand[best_l] && cand[t] == cand[best_t]) continue;
        const uint64_t c = search->Cost(cand[l], cand[t]);
        if (c < best) {
          best = c;
          best_l = l;
          best_t = t;
          improved = true;
        }
      }
      if (!improved) break;
    }
  }
  model->left_thresholds = cand[best_l];
  model->top_thresholds = cand[best_t];
  search->Aggregate(model->left_thresholds, model->top_thresholds);
}

// Finer tables only pay when some context is very skewed (its top token above ~98%): then the
// precision rises while that saves more than 1/256 of the data.
void RaisePrecisionIfSkewed(int num_tokens, ContextSearch* search, ContextModel* model) {
  bool skewed = false;
  for (size_t k = 0; k < search->ctx_hist().size(); k += num_tokens) {
    uint64_t sum = 0, top = 0;
    for (int t = 0; t < num_tokens; ++t) {
      sum += search->ctx_hist()[k + t];
      top = std::max<uint64_t>(top, search->ctx_hist()[k + t]);
    }
    skewed = skewed || (sum >= 256 && top * 64 > sum * 63);
  }
  for (int p = model->precision + 1; skewed && p <= rans::kMaxPrecision; ++p) {
    const uint64_t now = search->DataCost(model->precision);
    if (search->DataCost(p) + (now >> 8) < now) model->precision = p;
  }
}

// The final tables: the model's weight codes and the encoder's symbols, per context.
struct EncTables {
  std::vector<EncSymbol> enc;  // [context * T + token]
  double ideal_bits = 0;       // SymbolSegmentStats::ideal_data_bits
  int contexts_used = 0;
};

EncTables BuildEncTables(const std::vector<uint32_t>& ctx_hist, uint64_t raw_bit_total,
                         ContextModel* model) {
  const int num_tokens = model->tokens.NumTokens();
  const int contexts = model->num_contexts();
  const int precision = model->precision;
  model->weight_codes.resize(contexts);
  EncTables t;
  t.enc.resize(static_cast<size_t>(contexts) * num_tokens);
  std::vector<uint32_t> freq(num_tokens);
  t.ideal_bits = static_cast<double>(raw_bit_total);
  for (int k = 0; k < contexts; ++k) {
    const uint32_t* counts = &ctx_hist[static_cast<size_t>(k) * num_tokens];
    std::vector<uint8_t>& codes = model->weight_codes[k];
    codes.resize(num_tokens);
    codes.resize(WeightCodes(counts, num_tokens, codes.data()));
    if (codes.empty()) continue;
    ++t.contexts_used;
    rans::NormalizeWeights(codes.data(), static_cast<int>(codes.size()), precision, freq.data());
    uint32_t start = 0;
    for (size_t s = 0; s < codes.size(); ++s) {
      if (freq[s] == 0) continue;
      t.enc[k * num_tokens + s] = MakeEncSymbol(start, freq[s], precision);
      start += freq[s];
      if (counts[s] != 0) {
        t.ideal_bits += counts[s] * (precision - std::log2(static_cast<double>(freq[s])));
      }
    }
  }
  return t;
}

// ctx_of_pair[pair] = context of the fine (left, top) pair, times the number of tokens.
void BuildContextOfPair(const ContextModel& model, uint16_t* ctx_of_pair) {
  const int num_tokens = model.tokens.NumTokens();
  uint8_t cls_left[kFine], cls_top[kFine];
  rans::BuildClassTable(model.left_thresholds, kFine, cls_left);
  rans::BuildClassTable(model.top_thresholds, kFine, cls_top);
  for (int p = 0; p < kFine * kFine; ++p) {
    ctx_of_pair[p] = static_cast<uint16_t>(
        (cls_left[p / kFine] * model.top_classes() + cls_top[p % kFine]) * num_tokens);
  }
}

// The encoder's symbols of a model's tables (as BuildEncTables makes them); an absent token's
// entry stays zero (x_max_m1 == 0).
std::vector<EncSymbol> EncSymbolsOf(const ContextModel& model) {
  const int num_tokens = model.tokens.NumTokens();
  std::vector<EncSymbol> enc(static_cast<size_t>(model.num_contexts()) * num_tokens, EncSymbol{});
  std::vector<uint32_t> freq(num_tokens);
  for (int k = 0; k < model.num_contexts(); ++k) {
    const std::vector<uint8_t>& codes = model.weight_codes[static_cast<size_t>(k)];
    if (codes.empty()) continue;
    rans::NormalizeWeights(codes.data(), static_cast<int>(codes.size()), model.precision,
                           freq.data());
    uint32_t start = 0;
    for (size_t t = 0; t < codes.size(); ++t) {
      if (freq[t] == 0) continue;
      enc[static_cast<size_t>(k) * num_tokens + t] = MakeEncSymbol(start, freq[t], model.precision);
      start += freq[t];
    }
  }
  return enc;
}

// Passes 1 and 2 of a segment: the tokens, their contexts and the model (all but its lanes,
// which the caller set) that the encoder chooses for `symbols`.
struct FittedModel {
  TokenizedSymbols ts;
  std::unique_ptr<uint8_t[]> pairs;  // fine (left, top) context pair of every symbol
  std::vector<BandPos> positions;
  EncTables tables;
};

FittedModel FitContextModel(const uint16_t* symbols, uint64_t total,
                            const std::vector<BandShape>& bands, int alphabet_bits,
                            ContextModel* model) {
  // Pass 1: histogram (only needed to choose an escape scheme), tokenize.
  model->tokens =
      ChooseTokenConfig(HistogramOfSymbols(symbols, total, alphabet_bits), total, alphabet_bits);
  const int num_tokens = model->tokens.NumTokens();
  FittedModel f;
  f.ts = TokenizeSymbols(symbols, total, alphabet_bits, model->tokens);
  // Pass 2: fine context histogram, then the precision and the context classes.
  f.pairs.reset(new uint8_t[total + 1]);
  std::vector<uint32_t> fine_hist, fine_hist2;
  FineContextHistogram(f.ts.tokens.get(), bands, num_tokens, f.pairs.get(), &f.positions,
                       &fine_hist, &fine_hist2);
  const std::vector<uint64_t> token_counts = TokenCounts(fine_hist, num_tokens);
  model->precision = BasePrecision(token_counts, total);
  ContextSearch search(fine_hist, num_tokens);
  ChooseContextClasses(token_counts, total, &search, model);
  RaisePrecisionIfSkewed(num_tokens, &search, model);
  f.tables = BuildEncTables(search.ctx_hist(), f.ts.raw_bit_total, model);
  return f;
}

// The SIMD kernel's table: the EncEntry of every context * T + token as magic | packed << 32 (zero
// for an absent token).
std::vector<uint64_t> KernelTableOf(const EncSymbol* es, size_t count, int precision) {
  std::vector<uint64_t> t(count, 0);
  const uint32_t total = uint32_t{1} << precision;
  for (size_t k = 0; k < count; ++k) {
    if (es[k].x_max_m1 == 0) continue;
    const uint32_t freq = total - es[k].cmpl_freq;
    const uint32_t start = freq == 1 ? es[k].bias - (total - 1) : es[k].bias;
    const rans::EncEntry e = rans::MakeEncEntry(start, freq, precision);
    t[k] = e.magic | uint64_t{e.packed} << 32;
  }
  return t;
}

// Pass 3: rANS, in reverse decoding order. Decoding order: group g of bands N*g .. N*g+N-1, step
// t = 0, 1, ...; in a step, lanes 0..N-1 that have a symbol t decode its token, then the escapes
// among them their raw bits. Appends the final states, then the words in decoding order.
// `reference`: the scalar code only (which the SIMD kernel must match byte for byte).
void EncodeLanes(const uint16_t* symbols, const uint8_t* tk, const uint8_t* pr, const uint32_t* raw,
                 const std::vector<BandPos>& positions, const ContextModel& model,
                 const EncSymbol* es, uint64_t total, bool reference, std::vector<uint8_t>* out) {
  const TokenConfig& tc = model.tokens;
  const uint32_t direct_limit = uint32_t{1} << tc.direct_bits;
  const bool direct = tc.direct_bits == tc.alphabet_bits;
  uint16_t ctx_of_pair[kFine * kFine];  // context * num_tokens
  BuildContextOfPair(model, ctx_of_pair);
  const size_t num_lanes = static_cast<size_t>(model.lanes);
  const int lanes = static_cast<int>(std::min(num_lanes, positions.size()));
  uint32_t state[rans::kMaxLanes];
  for (uint32_t& x : state) x = rans::kStateLow;
  // Every symbol emits at most two words (token, raw bits); slack below the start for the
  // unconditional stores (2 bytes in the scalar code, a vector of words in the kernel's).
  constexpr size_t kSlack = 64;
  const size_t buf_size = 4 * total + kSlack;
  std::unique_ptr<uint8_t[]> buf(new uint8_t[buf_size]);
  uint8_t* const buf_end = buf.get() + buf_size;
  uint8_t* wp = buf_end;
  auto put = [&](uint32_t* x, uint64_t idx) {
    EncodePut(x, es[ctx_of_pair[pr[idx]] + tk[idx]], &wp);
  };
  // For the SIMD kernel, made on first use: its table and the class lookups of the fine pairs;
  // a group's entries band-major and lane-major.
  std::vector<uint64_t> kernel;
  uint8_t left_x_top[kFine], top_class[kFine];
  std::vector<uint64_t> band_major, lane_major;
  const size_t groups = (positions.size() + num_lanes - 1) / num_lanes;
  for (size_t g = groups; g-- > 0;) {
    const size_t first = g * num_lanes;
    const int in_group = static_cast<int>(std::min(num_lanes, positions.size() - first));
    const BandPos* bp = &positions[first];
    bool uniform = true;
    uint64_t steps = 0;
    for (int i = 0; i < in_group; ++i) {
      steps = std::max(steps, bp[i].size);
      uniform = uniform && bp[i].size == bp[0].size;
    }
    // The SIMD kernel: groups of 4, 8, 16 or 32 equal bands (the raw bits' gather indexes a
    // group's symbols by 32-bit offsets).
    if (!reference && uniform && steps > 0 && steps * in_group < (uint64_t{1} << 31) &&
        (in_group == 4 || in_group == 8 || in_group == 16 || in_group == 32)) {
      if (kernel.empty()) {
        kernel = KernelTableOf(es, static_cast<size_t>(model.num_contexts()) * tc.NumTokens(),
                               model.precision);
        uint8_t cls_left[kFine], cls_top[kFine];
        rans::BuildClassTable(model.left_thresholds, kFine, cls_left);
        rans::BuildClassTable(model.top_thresholds, kFine, cls_top);
        for (int f = 0; f < kFine; ++f) {
          left_x_top[f] = static_cast<uint8_t>(cls_left[f] * model.top_classes());
          top_class[f] = cls_top[f];
        }
      }
      // The entries of the group's symbols, band-major, then in the kernel's lane order.
      const uint64_t o = bp[0].offset;
      const size_t count = static_cast<size_t>(steps) * in_group;
      band_major.resize(std::max(band_major.size(), count));
      lane_major.resize(std::max(lane_major.size(), count));
      rans::ContextTokenEntries(pr + o, tk + o, count, left_x_top, top_class,
                                static_cast<uint32_t>(tc.NumTokens()), kernel.data(),
                                band_major.data());
      rans::LaneMajor(band_major.data(), steps, in_group, lane_major.data());
      rans::EncodeStepsSimd({lane_major.data(), direct ? nullptr : raw + o, steps, in_group,
                             model.precision, !direct},
                            state, &wp);
      continue;
    }
    if (uniform && direct && in_group == 4) {  // the reference's small case: states in registers
      uint32_t x0 = state[0], x1 = state[1], x2 = state[2], x3 = state[3];
      const uint64_t o0 = bp[0].offset, o1 = bp[1].offset, o2 = bp[2].offset, o3 = bp[3].offset;
      for (uint64_t t = steps; t-- > 0;) {
        put(&x3, o3 + t);
        put(&x2, o2 + t);
        put(&x1, o1 + t);
        put(&x0, o0 + t);
      }
      state[0] = x0;
      state[1] = x1;
      state[2] = x2;
      state[3] = x3;
      continue;
    }
    if (uniform && direct) {
      uint64_t off[rans::kMaxLanes];
      for (int i = 0; i < in_group; ++i) off[i] = bp[i].offset;
      for (uint64_t t = steps; t-- > 0;) {
        for (int i = in_group; i-- > 0;) put(&state[i], off[i] + t);
      }
      continue;
    }
    for (uint64_t t = steps; t-- > 0;) {
      // Phase 2 (escapes' raw bits), then phase 1 (tokens), each in reverse lane order.
      if (!direct) {
        for (int i = in_group; i-- > 0;) {
          if (t >= bp[i].size) continue;
          const uint64_t idx = bp[i].offset + t;
          if (tk[idx] < direct_limit) continue;
          uint32_t raw;
          int nraw;
          rans::Tokenize(symbols[idx], tc, &raw, &nraw);
          if (nraw > 0) EncodeRaw(&state[i], raw, nraw, &wp);
        }
      }
      for (int i = in_group; i-- > 0;) {
        if (t < bp[i].size) put(&state[i], bp[i].offset + t);
      }
    }
  }
  // Final states, then the words in decoding order (the model header is byte-padded already).
  for (int i = 0; i < lanes; ++i) {
    for (int b = 0; b < 4; ++b) out->push_back(static_cast<uint8_t>(state[i] >> (8 * b)));
  }
  out->insert(out->end(), wp, buf_end);
}

}  // namespace

int SymbolSegmentLanes(uint64_t total_symbols) {
  return total_symbols < kLanes16Symbols ? 4 : total_symbols < kLanes32Symbols ? 16 : 32;
}

namespace {

Status EncodeSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                     int alphabet_bits, std::vector<uint8_t>* out, SymbolSegmentStats* stats,
                     const SymbolSegmentOptions& options, bool reference) {
  if (out == nullptr) return FTC_INVALID("symbol segment: null output");
  if (options.lanes != 0 && options.lanes != 1 && options.lanes != 4 && options.lanes != 8 &&
      options.lanes != 16 && options.lanes != 32) {
    return FTC_INVALID("symbol segment: %d lanes (must be 1, 4, 8, 16 or 32)", options.lanes);
  }
  uint64_t total = 0;
  FTC_RETURN_IF_ERROR(rans::CheckSegmentArgs(bands, alphabet_bits, &total));
  if (total > 0 && symbols == nullptr) return FTC_INVALID("symbol segment: null symbols");
  const size_t out_start = out->size();

  // Passes 1 and 2: the model.
  FTC_RETURN_IF_ERROR(CheckSymbols(symbols, total, alphabet_bits));
  ContextModel model;
  model.lanes = options.lanes != 0 ? options.lanes : SymbolSegmentLanes(total);
  const FittedModel fit = FitContextModel(symbols, total, bands, alphabet_bits, &model);
  const TokenizedSymbols& ts = fit.ts;
  const TokenConfig& tc = model.tokens;
  const EncTables& tables = fit.tables;
  const std::unique_ptr<uint8_t[]>& pairs = fit.pairs;
  const std::vector<BandPos>& positions = fit.positions;

  // Model header and tables.
  out->reserve(out->size() + total / 2 + 4096);
  BitWriter bw(out);
  WriteModel(model, &bw);
  const size_t model_bits = bw.bit_count();
  bw.Finish();

  // Pass 3: the rANS data.
  EncodeLanes(symbols, ts.tokens.get(), pairs.get(), ts.raw.get(), positions, model,
              tables.enc.data(), total, reference, out);

  if (stats != nullptr) {
    stats->symbols = total;
    stats->segment_bytes = out->size() - out_start;
    stats->model_bits = model_bits;
    stats->ideal_data_bits = tables.ideal_bits;
    stats->escaped_symbols = ts.escaped;
    stats->contexts_used = tables.contexts_used;
    stats->precision = model.precision;
    stats->direct_bits = tc.direct_bits;
    stats->msb_bits = tc.msb_bits;
    stats->left_classes = model.left_classes();
    stats->top_classes = model.top_classes();
    stats->lanes = model.lanes;
  }
  return Status::Ok();
}

}  // namespace

Status EncodeSymbolSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                           int alphabet_bits, std::vector<uint8_t>* out, SymbolSegmentStats* stats,
                           const SymbolSegmentOptions& options) {
  return EncodeSegment(symbols, bands, alphabet_bits, out, stats, options, false);
}

Status EncodeSymbolSegmentReference(const uint16_t* symbols, const std::vector<BandShape>& bands,
                                    int alphabet_bits, std::vector<uint8_t>* out,
                                    const SymbolSegmentOptions& options) {
  return EncodeSegment(symbols, bands, alphabet_bits, out, nullptr, options, true);
}

Status EncodeSymbolSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                           int alphabet_bits, std::vector<uint8_t>* out,
                           SymbolSegmentStats* stats) {
  return EncodeSymbolSegment(symbols, bands, alphabet_bits, out, stats, SymbolSegmentOptions());
}

Status EncodeSymbolSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                           int alphabet_bits, std::vector<uint8_t>* out) {
  return EncodeSymbolSegment(symbols, bands, alphabet_bits, out, nullptr, SymbolSegmentOptions());
}

Result<SymbolModel> SymbolModel::Fit(const uint16_t* symbols, const std::vector<BandShape>& bands,
                                     int alphabet_bits) {
  uint64_t total = 0;
  FTC_RETURN_IF_ERROR(rans::CheckSegmentArgs(bands, alphabet_bits, &total));
  if (total > 0 && symbols == nullptr) return FTC_INVALID("symbol model: null symbols");
  FTC_RETURN_IF_ERROR(CheckSymbols(symbols, total, alphabet_bits));
  auto impl = std::make_shared<Impl>();
  ContextModel& model = impl->model;
  model.lanes = 1;
  (void)FitContextModel(symbols, total, bands, alphabet_bits, &model);
  BitWriter bw(&impl->bytes);
  WriteModel(model, &bw);
  bw.Finish();
  impl->alphabet_bits = alphabet_bits;
  SymbolModel m;
  m.impl_ = std::move(impl);
  return m;
}

Status EncodeHeadlessSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                             const SymbolModel& m, std::vector<uint8_t>* out) {
  if (out == nullptr) return FTC_INVALID("symbol segment: null output");
  const ContextModel& model = m.impl().model;
  const int alphabet_bits = m.alphabet_bits();
  uint64_t total = 0;
  FTC_RETURN_IF_ERROR(rans::CheckSegmentArgs(bands, alphabet_bits, &total));
  if (total > 0 && symbols == nullptr) return FTC_INVALID("symbol segment: null symbols");
  FTC_RETURN_IF_ERROR(CheckSymbols(symbols, total, alphabet_bits));
  const int num_tokens = model.tokens.NumTokens();
  const TokenizedSymbols ts = TokenizeSymbols(symbols, total, alphabet_bits, model.tokens);
  std::unique_ptr<uint8_t[]> pairs(new uint8_t[total + 1]);
  std::vector<BandPos> positions;
  std::vector<uint32_t> fine_hist, fine_hist2;
  FineContextHistogram(ts.tokens.get(), bands, num_tokens, pairs.get(), &positions, &fine_hist,
                       &fine_hist2);
  const std::vector<EncSymbol> es = EncSymbolsOf(model);
  uint16_t ctx_of_pair[kFine * kFine];
  BuildContextOfPair(model, ctx_of_pair);
  for (uint64_t i = 0; i < total; ++i) {
    if (es[ctx_of_pair[pairs[i]] + ts.tokens[i]].x_max_m1 == 0) {
      return FTC_INVALID("symbol segment: symbol %llu (%u) has no frequency in the shared model",
                         static_cast<unsigned long long>(i), symbols[i]);
    }
  }
  EncodeLanes(symbols, ts.tokens.get(), pairs.get(), ts.raw.get(), positions, model, es.data(),
              total, false, out);
  return Status::Ok();
}

}  // namespace ftc

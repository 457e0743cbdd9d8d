// Shared pieces of the context-modelled rANS symbol coder (bitstream/symbol_coder.h): the
// constants and rules that the encoder (enc_rans.cc) and the decoder (dec_rans.cc) must agree
// on bit for bit. docs/format.md, "Symbol segment", is the normative description; every name
// here matches a term there.
//
// READ ME FIRST — the surprises, in one place:
//  * rANS is last-in, first-out. The encoder walks the symbols in exactly the reverse of the
//    decoder's order and its output grows backwards (downwards in a scratch buffer), so the
//    bytes on the wire are read front to back by the decoder.
//  * The state is one 32-bit integer per lane, kept in [2^16, 2^32). Renormalisation moves 16 bits
//    at a time, and with a precision of at most 11 bits a single conditional read after each
//    decode step always suffices (see the comment at the top of dec_rans.cc).
//  * Lanes are interleaved states sharing ONE word stream: with N lanes (4, 8, 16 or 32, chosen by
//    the encoder and written in the model), lane i codes band N*g+i of group g. A step decodes one
//    symbol of every lane: first every lane's token (each renormalising lane takes the next word,
//    in lane order), then the raw bits of the escapes (again in lane order). So a SIMD decoder
//    can decode the tokens of 8 lanes at once and hand out the words by a prefix count. Because
//    the lanes code different bands, no lane waits for another's symbols: the context (which
//    depends on the previous symbol of the same band) only chains within a lane.
//  * The encoder starts every lane at 2^16 and writes its final states up front; the decoder ends
//    a correct stream with every lane back at exactly 2^16 and every word consumed. That is the
//    integrity check (it catches almost every corruption of the rANS data).
//  * Probabilities are integers that both sides derive from the transmitted weight codes
//    (0..16: absent, or a power of two) with one shared routine, NormalizeWeights. No floating
//    point reaches the bitstream; the encoder's cost estimates use the integer Log2Q16 too.
//  * Context = (class of left token, class of top token); classes come from per-segment
//    thresholds chosen by the encoder. Neighbours never cross a band boundary.
//  * Symbols >= 2^direct_bits become an escape token (exponent + a few mantissa bits) followed
//    by raw bits, coded as a uniform rANS step in the same lane.
#ifndef FTCODEC_BITSTREAM_RANS_COMMON_H_
#define FTCODEC_BITSTREAM_RANS_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bitstream/symbol_coder.h"

namespace ftc::rans {

// rANS state interval is [kStateLow, kStateLow << 16); renormalisation unit is a 16-bit word.
inline constexpr uint32_t kStateLow = uint32_t{1} << 16;
// Lane counts: the model's 2-bit Lanes field c gives N = 4 << c.
inline constexpr int kMinLanes = 4;
inline constexpr int kMaxLanes = 32;
constexpr int LanesOfCode(int code) { return kMinLanes << code; }
// Frequencies sum to 2^precision, precision in [kMinPrecision, kMaxPrecision].
inline constexpr int kMinPrecision = 1;
inline constexpr int kMaxPrecision = 11;
// Tokens: [0, 2^direct_bits) are literal symbols; the rest are escape classes (exponent + msbs).
inline constexpr int kMaxDirectBits = 8;
inline constexpr int kMaxMsbBits = 3;
inline constexpr int kMaxTokens = 256;
// Context classes per neighbour (left, top); contexts = left_classes * top_classes.
inline constexpr int kMaxClasses = 8;
// Weight code v in [1, kMaxWeightCode] means weight 2^(kMaxWeightCode - v); 0 = token absent.
inline constexpr int kMaxWeightCode = 16;

// How symbols map to tokens (the escape scheme).
struct TokenConfig {
  int alphabet_bits = 1;  // B: symbols are < 2^B, 1..16
  int direct_bits = 1;    // d <= min(B, 8): symbols < 2^d are their own token
  int msb_bits = 0;       // m <= min(d, 3): mantissa bits carried in an escape token (d < B only)

  // 2^d + (B - d) * 2^m (just 2^B when d == B).
  int NumTokens() const {
    if (direct_bits >= alphabet_bits) return 1 << alphabet_bits;
    return (1 << direct_bits) + (alphabet_bits - direct_bits) * (1 << msb_bits);
  }
  bool Valid() const {
    return alphabet_bits >= 1 && alphabet_bits <= 16 && direct_bits >= 0 &&
           direct_bits <= alphabet_bits && direct_bits <= kMaxDirectBits && msb_bits >= 0 &&
           msb_bits <= kMaxMsbBits && msb_bits <= direct_bits && NumTokens() <= kMaxTokens;
  }
};

// Floor of log2(v) for v >= 1.
constexpr int FloorLog2(uint32_t v) { return 31 - __builtin_clz(v); }

// Symbol -> token (+ raw bits). An escaped symbol s >= 2^d with e = floor(log2 s) becomes
// token 2^d + (e - d) * 2^m + (the m bits below the leading one), followed by the e - m low bits
// of s, coded as raw (uniform) bits.
inline uint32_t Tokenize(uint32_t s, const TokenConfig& c, uint32_t* raw, int* raw_bits) {
  if (s < (uint32_t{1} << c.direct_bits)) {
    *raw = 0;
    *raw_bits = 0;
    return s;
  }
  const int e = FloorLog2(s);
  const int n = e - c.msb_bits;
  *raw_bits = n;
  *raw = s & ((uint32_t{1} << n) - 1);
  const uint32_t msbs = (s >> n) & ((uint32_t{1} << c.msb_bits) - 1);
  return (uint32_t{1} << c.direct_bits) + (static_cast<uint32_t>(e - c.direct_bits) << c.msb_bits) +
         msbs;
}

// For an escape token: the symbol without its raw bits (leading one and msbs in place) and the
// number of raw bits that follow.
inline uint32_t EscapeBase(uint32_t token, const TokenConfig& c, int* raw_bits) {
  const uint32_t idx = token - (uint32_t{1} << c.direct_bits);
  const int e = c.direct_bits + static_cast<int>(idx >> c.msb_bits);
  const uint32_t msbs = idx & ((uint32_t{1} << c.msb_bits) - 1);
  const int n = e - c.msb_bits;
  *raw_bits = n;
  return ((uint32_t{1} << c.msb_bits) | msbs) << n;
}

// class(token) = number of thresholds <= token. Fills cls[0 .. num_tokens).
void BuildClassTable(const std::vector<uint8_t>& thresholds, int num_tokens, uint8_t* cls);

// Turns weight codes (codes[0 .. span), 0 = absent) into frequencies summing to exactly
// 2^precision: every present token gets 1 + floor(w * (2^P - n) / W), where n is the number of
// present tokens and W the sum of their weights; the remainder goes to the first token of largest
// weight. Writes freq[0 .. span). Returns false if no token is present or n > 2^P.
bool NormalizeWeights(const uint8_t* codes, int span, int precision, uint32_t* freq);

// The per-segment model: token scheme, precision, context classes and one table per context.
struct ContextModel {
  int lanes = kMinLanes;  // N: 4, 8, 16 or 32
  TokenConfig tokens;
  int precision = 10;
  std::vector<uint8_t> left_thresholds;  // strictly increasing, in [1, NumTokens())
  std::vector<uint8_t> top_thresholds;
  // Per context (index = left_class * top_classes + top_class): weight codes of tokens
  // 0 .. span-1, the last one non-zero; empty = no symbol is coded in this context.
  std::vector<std::vector<uint8_t>> weight_codes;

  int left_classes() const { return static_cast<int>(left_thresholds.size()) + 1; }
  int top_classes() const { return static_cast<int>(top_thresholds.size()) + 1; }
  int num_contexts() const { return left_classes() * top_classes(); }
};

}  // namespace ftc::rans

namespace ftc {

struct SymbolModel::Impl {
  rans::ContextModel model;  // lanes 1
  std::vector<uint8_t> bytes;
  int alphabet_bits = 1;
};

}  // namespace ftc

namespace ftc::rans {

// Bit-level I/O for the model header: bits are packed LSB first into bytes.
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>* out) : out_(out) {}
  // Writes the low n bits of v, n <= 32.
  void Bits(uint32_t v, int n) {
    acc_ |= static_cast<uint64_t>(v & static_cast<uint32_t>((uint64_t{1} << n) - 1)) << used_;
    used_ += n;
    bits_ += static_cast<size_t>(n);
    while (used_ >= 8) {
      out_->push_back(static_cast<uint8_t>(acc_));
      acc_ >>= 8;
      used_ -= 8;
    }
  }
  // Order-0 Exp-Golomb: k zeros, then the k + 1 bits of u = v + 1, most significant first.
  // v < 2^31.
  void ExpGolomb(uint32_t v) {
    const uint64_t u = uint64_t{v} + 1;
    const int k = 63 - __builtin_clzll(u);
    uint32_t reversed = 0;  // the k + 1 bits of u, MSB first = LSB-first order reversed
    for (int i = 0; i <= k; ++i) reversed |= static_cast<uint32_t>((u >> (k - i)) & 1) << i;
    Bits(0, k);
    Bits(reversed, k + 1);
  }
  // Signed values through the zig-zag map 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
  void SignedExpGolomb(int v) { ExpGolomb(v >= 0 ? 2u * v : 2u * static_cast<uint32_t>(-v) - 1); }
  // Pads the last byte with zero bits and writes it.
  void Finish() {
    if (used_ > 0) out_->push_back(static_cast<uint8_t>(acc_));
    acc_ = 0;
    used_ = 0;
  }
  // Bits written so far (from the writer's creation).
  size_t bit_count() const { return bits_; }

 private:
  std::vector<uint8_t>* out_;
  uint64_t acc_ = 0;  // pending bits, LSB first
  int used_ = 0;      // number of pending bits (< 8 between calls)
  size_t bits_ = 0;
};

class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  // Reads n <= 32 bits; false if that would pass the end.
  bool Bits(int n, uint32_t* v) {
    if (nbuf_ < n) Refill();
    if (nbuf_ < n) return false;
    *v = static_cast<uint32_t>(buf_ & ((uint64_t{1} << n) - 1));
    buf_ >>= n;
    nbuf_ -= n;
    return true;
  }
  // Order-0 Exp-Golomb with at most 24 leading zeros; false on overrun or a longer prefix.
  bool ExpGolomb(uint32_t* v) {
    Refill();
    if (buf_ == 0) return false;  // no 1 bit among the next min(64, available) bits
    const int k = __builtin_ctzll(buf_);
    if (k > 24) return false;
    buf_ >>= k + 1;
    nbuf_ -= k + 1;
    uint32_t low;
    if (!Bits(k, &low)) return false;
    uint32_t u = 1;
    for (int i = 0; i < k; ++i) u = (u << 1) | ((low >> i) & 1);
    *v = u - 1;
    return true;
  }
  bool SignedExpGolomb(int* v) {
    uint32_t u;
    if (!ExpGolomb(&u)) return false;
    *v = (u & 1) ? -static_cast<int>((u + 1) >> 1) : static_cast<int>(u >> 1);
    return true;
  }
  size_t bit_position() const { return next_ * 8 - static_cast<size_t>(nbuf_); }
  size_t byte_position() const { return (bit_position() + 7) >> 3; }
  // True if the unread bits of the current byte are all zero.
  bool PaddingIsZero() const { return (buf_ & ((uint64_t{1} << (nbuf_ & 7)) - 1)) == 0; }

 private:
  void Refill() {
    while (nbuf_ <= 56 && next_ < size_) {
      buf_ |= static_cast<uint64_t>(data_[next_++]) << nbuf_;
      nbuf_ += 8;
    }
  }

  const uint8_t* data_;
  size_t size_;
  size_t next_ = 0;   // next byte to load into buf_
  uint64_t buf_ = 0;  // loaded, unread bits, LSB = next bit
  int nbuf_ = 0;
};

// Total symbols of `bands` (sum of rows * width) into *total; false if it exceeds
// kMaxSegmentSymbols.
bool CountSymbols(const std::vector<BandShape>& bands, uint64_t* total);

// The checks both coders make of a segment's arguments first: alphabet_bits in 1..16
// (kInvalidArgument) and at most kMaxSegmentSymbols symbols (kLimitExceeded), counted into *total.
Status CheckSegmentArgs(const std::vector<BandShape>& bands, int alphabet_bits, uint64_t* total);

// log2(1 + i/256) in Q16 for i = 0..256, computed at compile time with integers only (bit-by-bit
// squaring), so every build has the same table.
struct Log2Table {
  uint32_t v[257];
};

constexpr Log2Table MakeLog2Table() {
  Log2Table table{};
  for (int i = 0; i < 256; ++i) {
    uint64_t m = (uint64_t{256} + i) << 22;  // Q30, 1 <= m < 2
    uint32_t frac = 0;
    for (int bit = 15; bit >= 0; --bit) {
      m = (m * m) >> 30;  // squaring doubles the logarithm
      if (m >= (uint64_t{2} << 30)) {
        m >>= 1;
        frac |= 1u << bit;
      }
    }
    table.v[i] = frac;
  }
  table.v[256] = 1u << 16;
  return table;
}

inline constexpr Log2Table kLog2Table = MakeLog2Table();

// log2(v) in Q16 fixed point (v >= 1), integer-only so estimates are identical everywhere;
// error < 2^-10. Used for the encoder's cost estimates.
constexpr uint32_t Log2Q16(uint32_t v) {
  const int e = FloorLog2(v);
  // 16 bits of mantissa below the leading one: 8 for the table index, 8 to interpolate.
  const uint32_t mant = e >= 16 ? (v >> (e - 16)) & 0xFFFF : (v << (16 - e)) & 0xFFFF;
  const uint32_t i = mant >> 8, f = mant & 0xFF;
  const uint32_t lo = kLog2Table.v[i], hi = kLog2Table.v[i + 1];
  return (static_cast<uint32_t>(e) << 16) + lo + (((hi - lo) * f) >> 8);
}

}  // namespace ftc::rans

#endif  // FTCODEC_BITSTREAM_RANS_COMMON_H_

// Tests of the context-modelled rANS symbol coder (bitstream/symbol_coder.h): round trips over
// every lane count, band shapes and escapes; the decoder (SIMD kernel included, on every compiled
// target) against the scalar reference decoder; corrupt segments.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "bitstream/dec_rans_simd.h"
#include "bitstream/enc_rans_simd.h"
#include "bitstream/rans_common.h"
#include "bitstream/symbol_coder.h"

namespace ftc {
namespace {

uint64_t Total(const std::vector<BandShape>& bands) {
  uint64_t n = 0;
  for (const BandShape& b : bands) n += uint64_t{b.rows} * b.width;
  return n;
}

std::vector<uint8_t> EncodeOrDie(const std::vector<uint16_t>& symbols,
                                 const std::vector<BandShape>& bands, int bits,
                                 SymbolSegmentStats* stats = nullptr, int lanes = 0) {
  std::vector<uint8_t> out;
  SymbolSegmentOptions options;
  options.lanes = lanes;
  const Status s = EncodeSymbolSegment(symbols.data(), bands, bits, &out, stats, options);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Decodes with DecodeSymbolSegment and with the scalar reference: the same status, the same
// symbols, nothing written past the end. Returns the status.
Status DecodeBoth(const std::vector<uint8_t>& seg, size_t size, const std::vector<BandShape>& bands,
                  int bits, std::vector<uint16_t>* out) {
  const size_t total = Total(bands);
  std::vector<uint16_t> a(total + 1, 0xBEEF), b(total + 1, 0xBEEF);
  const Status sa = DecodeSymbolSegment(seg.data(), size, bands, bits, a.data());
  const Status sb = DecodeSymbolSegmentReference(seg.data(), size, bands, bits, b.data());
  EXPECT_EQ(sa.code(), sb.code()) << sa.ToString() << " / reference " << sb.ToString();
  EXPECT_EQ(sa.message(), sb.message());
  EXPECT_EQ(a.back(), 0xBEEF) << "decoder wrote past the end";
  EXPECT_EQ(b.back(), 0xBEEF) << "reference decoder wrote past the end";
  a.pop_back();
  b.pop_back();
  if (sa.ok() && sb.ok()) {
    EXPECT_TRUE(a == b) << "decoder and reference differ";
  }
  if (out != nullptr) *out = a;
  return sa;
}

// Encodes (with `lanes`, 0 = the encoder's choice), checks determinism, decodes (fast and
// reference) and compares; returns the segment.
std::vector<uint8_t> RoundTrip(const std::vector<uint16_t>& symbols,
                               const std::vector<BandShape>& bands, int bits,
                               SymbolSegmentStats* stats = nullptr, int lanes = 0) {
  EXPECT_EQ(symbols.size(), Total(bands));
  const std::vector<uint8_t> seg = EncodeOrDie(symbols, bands, bits, stats, lanes);
  EXPECT_EQ(EncodeOrDie(symbols, bands, bits, nullptr, lanes), seg)
      << "encoding is not deterministic";
  // Appending keeps what was there.
  std::vector<uint8_t> prefixed = {1, 2, 3};
  SymbolSegmentOptions options;
  options.lanes = lanes;
  EXPECT_TRUE(EncodeSymbolSegment(symbols.data(), bands, bits, &prefixed, nullptr, options).ok());
  EXPECT_EQ(std::vector<uint8_t>(prefixed.begin() + 3, prefixed.end()), seg);
  std::vector<uint16_t> decoded;
  const Status s = DecodeBoth(seg, seg.size(), bands, bits, &decoded);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(decoded == symbols) << "round trip differs";
  return seg;
}

std::vector<BandShape> Planes(uint32_t count, uint32_t rows, uint32_t width) {
  return std::vector<BandShape>(count, BandShape{rows, width});
}

// Spatially correlated, sparse (post-ReLU-like) indices.
std::vector<uint16_t> FeatureLike(const std::vector<BandShape>& bands, int bits, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<uint16_t> out;
  const double top = (1 << bits) - 1;
  for (const BandShape& b : bands) {
    const double gain = 0.5 + (rng() % 100) / 60.0;
    std::vector<double> prev(b.width, 0.0);
    for (uint32_t y = 0; y < b.rows; ++y) {
      double left = 0;
      for (uint32_t x = 0; x < b.width; ++x) {
        const double v = 0.45 * left + 0.45 * prev[x] + noise(rng) * gain;
        prev[x] = left = v;
        const double q = std::floor(std::max(0.0, v) * top / 6.0 + 0.5);
        out.push_back(static_cast<uint16_t>(std::min(q, top)));
      }
    }
  }
  return out;
}

TEST(RansTest, FeatureLikePlanesAllAlphabets) {
  const auto bands = Planes(64, 14, 14);
  for (int bits = 1; bits <= 16; ++bits) {
    SCOPED_TRACE(bits);
    SymbolSegmentStats st;
    const auto seg = RoundTrip(FeatureLike(bands, bits, 1000 + bits), bands, bits, &st);
    EXPECT_EQ(st.segment_bytes, seg.size());
    // Coded size within 1% (+ 4 bytes of state per lane) of the ideal + model cost.
    const double ideal = st.ideal_data_bits + st.model_bits;
    EXPECT_EQ(st.lanes, 16);  // 12,544 symbols
    EXPECT_LE(seg.size() * 8.0, ideal * 1.01 + 4 * 8 * st.lanes) << "ideal " << ideal / 8;
  }
}

TEST(RansTest, UniformSixteenBit) {
  std::mt19937 rng(7);
  const auto bands = Planes(9, 13, 11);
  std::vector<uint16_t> s(Total(bands));
  for (auto& v : s) v = static_cast<uint16_t>(rng());
  SymbolSegmentStats st;
  const auto seg = RoundTrip(s, bands, 16, &st);
  EXPECT_GT(st.escaped_symbols, 0u);
  // Uniform 16-bit data cannot be compressed, but must not blow up either.
  EXPECT_LE(seg.size(), s.size() * 2 + s.size() / 20 + 200);
}

TEST(RansTest, AllOneSymbol) {
  const auto bands = Planes(5, 7, 9);
  for (int bits : {1, 4, 8, 16}) {
    for (uint16_t v : {uint16_t{0}, static_cast<uint16_t>((1u << bits) - 1)}) {
      SCOPED_TRACE(bits);
      const auto seg = RoundTrip(std::vector<uint16_t>(Total(bands), v), bands, bits);
      // A constant plane costs only its header and states, plus the raw bits of an escaped
      // value (bits - 1 - 3 per symbol, 3 mantissa bits riding in the token) beyond 8 bits.
      const size_t raw_bytes = bits > 8 ? Total(bands) * (bits - 4) / 8 : 0;
      EXPECT_LT(seg.size(), 60u + raw_bytes);
    }
  }
}

TEST(RansTest, OneSymbolAlphabet) {
  const auto bands = Planes(3, 4, 5);
  RoundTrip(std::vector<uint16_t>(Total(bands), 0), bands, 1);
}

TEST(RansTest, TwoSymbolsVerySkewed) {
  // p(1) = 1e-6: the rare symbol still gets a slot and round-trips.
  std::mt19937 rng(3);
  const auto bands = Planes(4, 500, 500);
  std::vector<uint16_t> s(Total(bands), 0);
  for (int i = 0; i < 3; ++i) s[rng() % s.size()] = 1;
  SymbolSegmentStats st;
  const auto seg = RoundTrip(s, bands, 1, &st);
  EXPECT_LT(seg.size(), 200u);
}

TEST(RansTest, Geometric) {
  std::mt19937 rng(11);
  for (int bits : {4, 8, 12, 16}) {
    SCOPED_TRACE(bits);
    std::geometric_distribution<int> geo(0.3);
    const auto bands = Planes(6, 20, 17);
    std::vector<uint16_t> s(Total(bands));
    for (auto& v : s) v = static_cast<uint16_t>(std::min(geo(rng), (1 << bits) - 1));
    RoundTrip(s, bands, bits);
  }
}

TEST(RansTest, EverySymbolDistinct) {
  const auto bands = Planes(4, 128, 128);
  std::vector<uint16_t> s(Total(bands));
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint16_t>(i * 40503u);
  RoundTrip(s, bands, 16);
}

TEST(RansTest, EscapesOfEveryLength) {
  // Symbols spanning every exponent class, so escapes with 0..15 raw bits all occur.
  const auto bands = Planes(8, 16, 16);
  std::mt19937 rng(5);
  std::vector<uint16_t> s(Total(bands));
  for (auto& v : s) {
    const int e = rng() % 17;
    v = e == 0 ? 0 : static_cast<uint16_t>((1u << (e - 1)) | (rng() & ((1u << (e - 1)) - 1)));
  }
  SymbolSegmentStats st;
  RoundTrip(s, bands, 16, &st);
  EXPECT_GT(st.escaped_symbols, s.size() / 2);
  // Mostly small values with rare large outliers: the outliers go through escapes.
  std::vector<uint16_t> t = FeatureLike(bands, 3, 9);
  for (size_t i = 0; i < t.size(); i += 97) t[i] = static_cast<uint16_t>(200 + i % 50);
  RoundTrip(t, bands, 8, &st);
  EXPECT_GT(st.escaped_symbols, 0u);
  EXPECT_LT(st.direct_bits, 8);
}

TEST(RansTest, ShapesAndBandCounts) {
  std::mt19937 rng(17);
  const std::vector<std::vector<BandShape>> cases = {
      {{1, 1}},
      {{1, 1}, {1, 1}},
      {{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
      {{3, 1}, {1, 3}, {2, 2}},
      {{7, 13}},
      {{0, 5}, {5, 0}, {3, 3}, {0, 0}},
      {{13, 7}, {13, 7}, {13, 7}, {13, 7}, {13, 7}, {13, 7}, {13, 7}},
      {{14, 14}, {14, 14}, {14, 14}, {7, 28}, {14, 14}},
      {{1, 200}, {200, 1}, {10, 20}, {20, 10}, {3, 5}, {1, 1}, {31, 2}, {2, 31}, {9, 9}},
      std::vector<BandShape>(1000, BandShape{2, 3}),
      std::vector<BandShape>(37, BandShape{5, 1}),
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    for (int bits : {1, 2, 4, 8, 16}) {
      SCOPED_TRACE(testing::Message() << "case " << c << " bits " << bits);
      RoundTrip(FeatureLike(cases[c], bits, static_cast<uint32_t>(c * 31 + bits)), cases[c], bits);
      std::vector<uint16_t> noise(Total(cases[c]));
      for (auto& v : noise) v = static_cast<uint16_t>(rng() & ((1u << bits) - 1));
      RoundTrip(noise, cases[c], bits);
    }
  }
}

TEST(RansTest, NoBands) {
  std::vector<uint8_t> seg;
  ASSERT_TRUE(EncodeSymbolSegment(nullptr, {}, 4, &seg).ok());
  EXPECT_TRUE(DecodeSymbolSegment(seg.data(), seg.size(), {}, 4, nullptr).ok());
}

TEST(RansTest, RejectsBadArguments) {
  std::vector<uint8_t> seg;
  const std::vector<uint16_t> s = {0, 1, 2, 16};
  const std::vector<BandShape> bands = {{2, 2}};
  EXPECT_EQ(EncodeSymbolSegment(s.data(), bands, 4, &seg).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeSymbolSegment(s.data(), bands, 0, &seg).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeSymbolSegment(s.data(), bands, 17, &seg).code(), StatusCode::kInvalidArgument);
  const std::vector<BandShape> huge = {{1u << 16, 1u << 16}};
  EXPECT_EQ(EncodeSymbolSegment(s.data(), huge, 8, &seg).code(), StatusCode::kLimitExceeded);
  uint16_t out[4];
  EXPECT_EQ(DecodeSymbolSegment(seg.data(), seg.size(), huge, 8, out).code(),
            StatusCode::kLimitExceeded);
}

// A small segment for the corruption tests: every kind of symbol, several lanes.
std::vector<uint8_t> SmallSegment(std::vector<BandShape>* bands, int* bits) {
  *bands = {{3, 4}, {3, 4}, {3, 4}, {3, 4}, {2, 5}};
  *bits = 8;
  std::vector<uint16_t> s = FeatureLike(*bands, 3, 77);
  s[5] = 200;  // an escape
  return RoundTrip(s, *bands, *bits);
}

TEST(RansTest, EveryTruncationIsRejected) {
  std::vector<BandShape> bands;
  int bits;
  const std::vector<uint8_t> seg = SmallSegment(&bands, &bits);
  std::vector<uint16_t> out(Total(bands));
  for (size_t n = 0; n < seg.size(); ++n) {
    const Status s = DecodeSymbolSegment(seg.data(), n, bands, bits, out.data());
    EXPECT_EQ(s.code(), StatusCode::kCorruptData) << "length " << n;
    EXPECT_FALSE(s.message().empty());
  }
  // A longer buffer (leftover bytes) is rejected too.
  std::vector<uint8_t> longer = seg;
  longer.push_back(0);
  longer.push_back(0);
  EXPECT_EQ(DecodeSymbolSegment(longer.data(), longer.size(), bands, bits, out.data()).code(),
            StatusCode::kCorruptData);
}

TEST(RansTest, EveryBitFlipDecodesOrFailsCleanly) {
  std::vector<BandShape> bands;
  int bits;
  const std::vector<uint8_t> seg = SmallSegment(&bands, &bits);
  std::vector<uint16_t> out(Total(bands));
  int rejected = 0, total = 0;
  for (size_t i = 0; i < seg.size(); ++i) {
    for (int b = 0; b < 8; ++b) {
      std::vector<uint8_t> bad = seg;
      bad[i] ^= static_cast<uint8_t>(1 << b);
      const Status s = DecodeSymbolSegment(bad.data(), bad.size(), bands, bits, out.data());
      ++total;
      if (!s.ok()) {
        EXPECT_EQ(s.code(), StatusCode::kCorruptData) << s.ToString();
        ++rejected;
      } else {
        for (uint16_t v : out) EXPECT_LT(v, 1u << bits);
      }
    }
  }
  // Nearly every flip is caught (final states, table checks, leftover bytes).
  EXPECT_GT(rejected, total * 9 / 10);
}

TEST(RansTest, RandomBytesNeverCrash) {
  std::mt19937 rng(99);
  // Mixed shapes; then equal bands, which the SIMD kernel takes when the junk says 8+ lanes.
  const std::vector<std::vector<BandShape>> shapes = {
      {{14, 14}, {14, 14}, {7, 3}, {14, 14}, {1, 1}}, Planes(16, 3, 4), Planes(32, 2, 5)};
  for (const auto& bands : shapes) {
    std::vector<uint16_t> out(Total(bands));
    for (int iter = 0; iter < 3000; ++iter) {
      std::vector<uint8_t> junk(rng() % 300);
      for (auto& v : junk) v = static_cast<uint8_t>(rng());
      const int bits = 1 + iter % (bands.size() == 5 ? 16 : 4);
      const Status s = DecodeBoth(junk, junk.size(), bands, bits, &out);
      if (s.ok()) {
        for (uint16_t v : out) ASSERT_LT(v, 1u << bits);
      }
    }
  }
  // A valid model, then random states and words: the decoding paths themselves (SIMD included)
  // run on junk.
  for (int lanes : {4, 8, 16, 32}) {
    const auto bands = Planes(32, 3, 4);
    SymbolSegmentStats st;
    const std::vector<uint8_t> seg = EncodeOrDie(FeatureLike(bands, 3, 3), bands, 3, &st, lanes);
    const size_t model = (st.model_bits + 7) / 8;
    std::vector<uint16_t> out(Total(bands));
    for (int iter = 0; iter < 300; ++iter) {
      std::vector<uint8_t> junk(seg.begin(), seg.begin() + model);
      junk.resize(model + 4 * lanes + 2 * (rng() % 400));
      for (size_t i = model; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(rng());
      const Status s = DecodeBoth(junk, junk.size(), bands, 3, &out);
      if (s.ok()) {
        for (uint16_t v : out) ASSERT_LT(v, 8u);
      } else {
        EXPECT_EQ(s.code(), StatusCode::kCorruptData);
      }
    }
  }
}

TEST(RansTest, CorruptionMessagesNameTheProblem) {
  const std::vector<BandShape> bands = {{4, 4}, {4, 4}};
  const std::vector<uint16_t> s = FeatureLike(bands, 4, 1);
  SymbolSegmentStats st;
  const std::vector<uint8_t> seg = RoundTrip(s, bands, 4, &st);
  std::vector<uint16_t> out(s.size());
  std::vector<uint8_t> longer = seg;
  longer.insert(longer.end(), {0, 0});
  Status r = DecodeSymbolSegment(longer.data(), longer.size(), bands, 4, out.data());
  EXPECT_NE(r.message().find("left over"), std::string::npos) << r.ToString();
  r = DecodeSymbolSegment(seg.data(), seg.size() - 1, bands, 4, out.data());
  EXPECT_NE(r.message().find("odd number"), std::string::npos) << r.ToString();
  // The lane states follow the byte-padded model; a changed state shows up at the end.
  const size_t states = (st.model_bits + 7) / 8;
  int final_state_errors = 0;
  for (size_t i = states; i < states + 8; ++i) {
    std::vector<uint8_t> bad = seg;
    bad[i] ^= 0x01;
    r = DecodeSymbolSegment(bad.data(), bad.size(), bands, 4, out.data());
    EXPECT_EQ(r.code(), StatusCode::kCorruptData);
    final_state_errors += r.message().find("final rANS state") != std::string::npos;
  }
  EXPECT_GT(final_state_errors, 0);
  std::vector<uint8_t> bad = seg;
  bad[states + 3] = 0;
  bad[states + 2] = 0;  // lane 0 state < 2^16
  r = DecodeSymbolSegment(bad.data(), bad.size(), bands, 4, out.data());
  EXPECT_NE(r.message().find("below 2^16"), std::string::npos) << r.ToString();
}

// The example of docs/format.md ("Symbol segment"): pins the format.
TEST(RansTest, GoldenSegmentFromTheSpec) {
  const std::vector<uint8_t> seg = {0x04, 0x01, 0x0d, 0xa0, 0x01, 0x40, 0x00};
  const std::vector<BandShape> bands = {{2, 3}};
  std::vector<uint16_t> out(6);
  ASSERT_TRUE(DecodeSymbolSegment(seg.data(), seg.size(), bands, 1, out.data()).ok());
  EXPECT_EQ(out, (std::vector<uint16_t>{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(EncodeOrDie(out, bands, 1), seg);
}

// A hand-made segment whose second symbol falls into a context without a table (B = 2, left
// classes {0}, {1..3}; the table of class 0 holds only token 1).
std::vector<uint8_t> SegmentReachingAnEmptyContext(int lanes, int lanes_code = 0) {
  std::vector<uint8_t> seg;
  rans::BitWriter bw(&seg);
  bw.Bits(lanes_code, 2);  // N = 4 << lanes_code
  bw.Bits(2, 4);           // direct_bits = B: no escapes
  bw.Bits(4, 4);           // precision 4
  bw.Bits(1, 3);           // one left threshold ...
  bw.ExpGolomb(0);         // ... at 1
  bw.Bits(0, 3);           // no top threshold
  bw.ExpGolomb(4 - 2);     // table 0: span 2
  bw.Bits(0, 1);           // dense
  bw.SignedExpGolomb(-1);  // token 0 absent
  bw.SignedExpGolomb(0);   // token 1: code 1
  bw.ExpGolomb(4);         // table 1: empty
  bw.Finish();
  for (int i = 0; i < lanes; ++i) seg.insert(seg.end(), {0x00, 0x00, 0x01, 0x00});  // 2^16
  return seg;
}

TEST(RansTest, SymbolInAContextWithoutTableIsRejected) {
  // The generic path, the four-lane fast path and the SIMD kernel (8, 16, 32 lanes).
  for (int code : {0, 1, 2, 3}) {
    for (int bands : {1, 4 << code}) {
      const std::vector<uint8_t> seg = SegmentReachingAnEmptyContext(bands, code);
      const std::vector<BandShape> shape(bands, BandShape{1, 2});
      std::vector<uint16_t> out(2 * bands);
      const Status s = DecodeSymbolSegment(seg.data(), seg.size(), shape, 2, out.data());
      EXPECT_EQ(s.code(), StatusCode::kCorruptData);
      EXPECT_NE(s.message().find("no table"), std::string::npos) << s.ToString();
      const Status r = DecodeSymbolSegmentReference(seg.data(), seg.size(), shape, 2, out.data());
      EXPECT_EQ(r.message(), s.message());
    }
  }
  // One symbol per band never leaves context 0: that decodes.
  const std::vector<uint8_t> seg = SegmentReachingAnEmptyContext(1);
  uint16_t out = 0;
  ASSERT_TRUE(DecodeSymbolSegment(seg.data(), seg.size(), {{1, 1}}, 2, &out).ok());
  EXPECT_EQ(out, 1);
}

// The encoder's lane counts, and what each costs: 4 bytes of state per lane and little else.
TEST(RansTest, LaneCountsBySize) {
  EXPECT_EQ(SymbolSegmentLanes(0), 4);
  EXPECT_EQ(SymbolSegmentLanes(8191), 4);
  EXPECT_EQ(SymbolSegmentLanes(8192), 16);
  EXPECT_EQ(SymbolSegmentLanes(64 * 14 * 14), 16);
  EXPECT_EQ(SymbolSegmentLanes((uint64_t{1} << 17) - 1), 16);
  EXPECT_EQ(SymbolSegmentLanes(uint64_t{1} << 17), 32);
  const auto bands = Planes(64, 14, 14);
  const std::vector<uint16_t> s = FeatureLike(bands, 2, 5);
  size_t previous = 0;
  for (int lanes : {4, 8, 16, 32}) {
    SCOPED_TRACE(lanes);
    SymbolSegmentStats st;
    const auto seg = RoundTrip(s, bands, 2, &st, lanes);
    EXPECT_EQ(st.lanes, lanes);
    EXPECT_EQ(seg[0] & 3, rans::FloorLog2(lanes / 4));  // the Lanes field comes first
    if (previous != 0) {
      EXPECT_LE(seg.size(), previous + 6 * (lanes / 2));
    }
    previous = seg.size();
  }
  std::vector<uint8_t> out;
  SymbolSegmentOptions bad;
  bad.lanes = 12;
  EXPECT_EQ(EncodeSymbolSegment(s.data(), bands, 2, &out, nullptr, bad).code(),
            StatusCode::kInvalidArgument);
}

// Every lane count over every kind of segment: equal and unequal band shapes, band counts that
// leave a partial last group, empty bands, escapes with 0..15 raw bits (B up to 16).
TEST(RansTest, EveryLaneCountRoundTrips) {
  std::mt19937 rng(23);
  const std::vector<std::vector<BandShape>> cases = {
      Planes(64, 14, 14),
      Planes(40, 7, 7),
      Planes(33, 5, 9),
      Planes(7, 3, 3),
      Planes(36, 4, 4),  // last groups of 4 equal bands (the four-lane fast path is only for N = 4)
      Planes(12, 6, 6),
      {{14, 14}, {14, 14}, {7, 28}, {14, 14}, {0, 3}, {1, 1}, {20, 10}, {14, 14}, {14, 14}},
      std::vector<BandShape>(100, BandShape{2, 3}),
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    for (int bits : {1, 2, 3, 4, 5, 8, 12, 16}) {
      for (int lanes : {4, 8, 16, 32}) {
        SCOPED_TRACE(testing::Message() << "case " << c << " bits " << bits << " lanes " << lanes);
        RoundTrip(FeatureLike(cases[c], bits, static_cast<uint32_t>(c * 131 + bits)), cases[c],
                  bits, nullptr, lanes);
        std::vector<uint16_t> noise(Total(cases[c]));
        for (auto& v : noise) {
          const int e = static_cast<int>(rng() % (bits + 1));  // every exponent class
          v = e == 0 ? 0 : static_cast<uint16_t>((1u << (e - 1)) | (rng() & ((1u << (e - 1)) - 1)));
        }
        RoundTrip(noise, cases[c], bits, nullptr, lanes);
      }
    }
  }
}

// Segments that take the SIMD kernel (8+ lanes over equal bands; up to 16 tokens, more, and
// escapes), decoded on every compiled target: identical to the scalar reference, corrupt ones
// included.
TEST(RansTest, SimdKernelMatchesTheReferenceOnEveryTarget) {
  const auto bands = Planes(64, 14, 14);
  std::vector<std::vector<uint8_t>> segs;
  std::vector<int> seg_bits;
  std::vector<std::vector<uint16_t>> seg_symbols;
  std::mt19937 noise_rng(9);
  int with_escapes = 0, wide = 0;
  for (int bits : {1, 2, 3, 4, 5, 8, 12, 16}) {
    for (int lanes : {8, 16, 32}) {
      // Feature-like planes, and (from 5 bits on: more than 16 tokens or escapes) noise with
      // escapes of every raw bit count.
      std::vector<std::vector<uint16_t>> inputs = {FeatureLike(bands, bits, 40 + bits)};
      if (bits >= 5) {
        std::vector<uint16_t> noise(Total(bands));
        for (auto& v : noise) {
          const int e = static_cast<int>(noise_rng() % (bits + 1));
          v = e == 0
                  ? 0
                  : static_cast<uint16_t>((1u << (e - 1)) | (noise_rng() & ((1u << (e - 1)) - 1)));
        }
        inputs.push_back(noise);
      }
      for (const auto& in : inputs) {
        SymbolSegmentStats st;
        segs.push_back(EncodeOrDie(in, bands, bits, &st, lanes));
        seg_bits.push_back(bits);
        seg_symbols.push_back(in);
        with_escapes += st.escaped_symbols > 0;
        wide += rans::TokenConfig{bits, st.direct_bits, st.msb_bits}.NumTokens() > 16;
      }
    }
  }
  // Both kinds of the kernel's general case occur.
  EXPECT_GT(with_escapes, 3);
  EXPECT_GT(wide, 3);
  std::mt19937 rng(8);
  int targets = 0;
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    SCOPED_TRACE(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    ASSERT_EQ(rans::DecodeRowsSimdTargetForTest(), target);
    ++targets;
    for (size_t i = 0; i < segs.size(); ++i) {
      std::vector<uint16_t> out;
      EXPECT_TRUE(DecodeBoth(segs[i], segs[i].size(), bands, seg_bits[i], &out).ok());
      EXPECT_TRUE(out == seg_symbols[i]);
      // Corruptions: flipped bits anywhere, truncations.
      for (int k = 0; k < 40; ++k) {
        std::vector<uint8_t> bad = segs[i];
        bad[rng() % bad.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        const Status s = DecodeBoth(bad, bad.size(), bands, seg_bits[i], nullptr);
        if (!s.ok()) {
          EXPECT_EQ(s.code(), StatusCode::kCorruptData);
        }
        const size_t cut = rng() % segs[i].size();
        EXPECT_EQ(DecodeBoth(segs[i], cut, bands, seg_bits[i], nullptr).code(),
                  StatusCode::kCorruptData);
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_GE(targets, 1);
}

// The SIMD encoder on every compiled target writes the bytes of the scalar reference encoder:
// every lane count, alphabets of 1 to 16 bits with
// and without escapes, raw bits of every length, bands of one shape and mixed (the scalar path).
TEST(RansTest, SimdEncoderMatchesTheReferenceOnEveryTarget) {
  struct Case {
    std::vector<BandShape> bands;
    std::vector<uint16_t> symbols;
    int bits;
  };
  std::vector<Case> cases;
  std::mt19937 rng(77);
  const std::vector<std::vector<BandShape>> shapes = {
      Planes(64, 14, 14),
      Planes(40, 7, 7),
      Planes(36, 1, 300),
      Planes(9, 3, 5),
      {{14, 14}, {14, 14}, {7, 28}, {14, 14}, {0, 3}, {1, 1}, {20, 10}, {14, 14}, {14, 14}}};
  for (const auto& bands : shapes) {
    for (int bits : {1, 2, 4, 5, 8, 12, 16}) {
      cases.push_back({bands, FeatureLike(bands, bits, static_cast<uint32_t>(bits * 7 + 1)), bits});
      std::vector<uint16_t> noise(Total(bands));
      for (auto& v : noise) {
        const int e = static_cast<int>(rng() % (bits + 1));  // every exponent class
        v = e == 0 ? 0 : static_cast<uint16_t>((1u << (e - 1)) | (rng() & ((1u << (e - 1)) - 1)));
      }
      cases.push_back({bands, noise, bits});
    }
  }
  // The extremes of the division: one token of frequency 2^P, tokens of frequency 1.
  const auto skewed_bands = Planes(16, 40, 40);
  std::vector<uint16_t> skewed(Total(skewed_bands), 0);
  for (size_t i = 0; i < skewed.size(); i += 613) skewed[i] = static_cast<uint16_t>(1 + i % 3);
  cases.push_back({skewed_bands, skewed, 2});
  cases.push_back({skewed_bands, std::vector<uint16_t>(Total(skewed_bands), 3), 2});
  int targets = 0;
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    SCOPED_TRACE(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    ASSERT_EQ(rans::EncodeStepsSimdTargetForTest(), target);
    ++targets;
    for (size_t c = 0; c < cases.size(); ++c) {
      for (int lanes : {4, 8, 16, 32}) {
        SCOPED_TRACE(testing::Message() << "case " << c << " lanes " << lanes);
        SymbolSegmentOptions options;
        options.lanes = lanes;
        std::vector<uint8_t> fast, reference;
        ASSERT_TRUE(EncodeSymbolSegment(cases[c].symbols.data(), cases[c].bands, cases[c].bits,
                                        &fast, nullptr, options)
                        .ok());
        ASSERT_TRUE(EncodeSymbolSegmentReference(cases[c].symbols.data(), cases[c].bands,
                                                 cases[c].bits, &reference, options)
                        .ok());
        ASSERT_EQ(fast, reference);
        std::vector<uint16_t> out(cases[c].symbols.size());
        ASSERT_TRUE(
            DecodeSymbolSegment(fast.data(), fast.size(), cases[c].bands, cases[c].bits, out.data())
                .ok());
        EXPECT_EQ(out, cases[c].symbols);
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_GE(targets, 1);
}

// The kernel's division: q = floor(x / f) for every frequency of every precision, x at the ends
// and across the range of a state.
TEST(RansTest, EncEntryDividesExactly) {
  std::mt19937 rng(3);
  for (int precision = rans::kMinPrecision; precision <= rans::kMaxPrecision; ++precision) {
    for (uint32_t f = 1; f <= (uint32_t{1} << precision); ++f) {
      const rans::EncEntry e = rans::MakeEncEntry(0, f, precision);
      ASSERT_EQ(e.packed & 0xFFF, f);
      const uint32_t bias = (e.packed >> 12) & 0xFFF, shift = e.packed >> 24;
      std::vector<uint32_t> xs = {1,           2,           f - 1 + (f == 1), f,
                                  f + 1,       0xFFFFu,     0x10000u,         0xFFFFFFFFu,
                                  0xFFFFFFFEu, 0x80000000u, 0x7FFFFFFFu};
      for (int k = 0; k < 64; ++k) xs.push_back(static_cast<uint32_t>(rng()) | 1u);
      for (uint32_t x : xs) {
        const uint32_t t = static_cast<uint32_t>((uint64_t{x} * e.magic) >> 32);
        const uint32_t q = (t + ((x - t) >> 1)) >> shift;
        // C(x) = (x / f) * 2^P + x % f + start, start = 0.
        const uint64_t want = uint64_t{x / f} * (uint64_t{1} << precision) + x % f;
        const uint64_t got = uint64_t{x} + bias + uint64_t{q} * ((uint32_t{1} << precision) - f);
        ASSERT_EQ(got, want) << "f " << f << " P " << precision << " x " << x;
      }
    }
  }
}

// Truncations and flips of a segment the SIMD kernel decodes.
TEST(RansTest, SimdSegmentCorruptionsAreRejected) {
  const auto bands = Planes(16, 6, 5);
  const std::vector<uint16_t> s = FeatureLike(bands, 3, 12);
  const std::vector<uint8_t> seg = RoundTrip(s, bands, 3, nullptr, 16);
  int rejected = 0, total = 0;
  for (size_t n = 0; n < seg.size(); ++n) {
    EXPECT_EQ(DecodeBoth(seg, n, bands, 3, nullptr).code(), StatusCode::kCorruptData) << n;
  }
  for (size_t i = 0; i < seg.size(); ++i) {
    for (int b = 0; b < 8; ++b) {
      std::vector<uint8_t> bad = seg;
      bad[i] ^= static_cast<uint8_t>(1 << b);
      std::vector<uint16_t> out;
      const Status st = DecodeBoth(bad, bad.size(), bands, 3, &out);
      ++total;
      if (!st.ok()) {
        EXPECT_EQ(st.code(), StatusCode::kCorruptData) << st.ToString();
        ++rejected;
      } else {
        for (uint16_t v : out) EXPECT_LT(v, 8u);
      }
    }
  }
  EXPECT_GT(rejected, total * 9 / 10);
}

TEST(RansTest, BitReaderWriter) {
  std::vector<uint8_t> buf;
  rans::BitWriter bw(&buf);
  std::mt19937 rng(1);
  std::vector<uint32_t> vals;
  for (int i = 0; i < 1000; ++i) vals.push_back(rng() >> (rng() % 32));
  for (uint32_t v : vals) {
    bw.ExpGolomb(v >> 8);
    bw.Bits(v & 0x1F, 5);
    bw.SignedExpGolomb(static_cast<int>(v % 41) - 20);
  }
  bw.Finish();
  rans::BitReader br(buf.data(), buf.size());
  for (uint32_t v : vals) {
    uint32_t a, b;
    int c;
    ASSERT_TRUE(br.ExpGolomb(&a));
    ASSERT_TRUE(br.Bits(5, &b));
    ASSERT_TRUE(br.SignedExpGolomb(&c));
    EXPECT_EQ(a, v >> 8);
    EXPECT_EQ(b, v & 0x1F);
    EXPECT_EQ(c, static_cast<int>(v % 41) - 20);
  }
  EXPECT_EQ(br.byte_position(), buf.size());
  EXPECT_TRUE(br.PaddingIsZero());
  uint32_t x;
  rans::BitReader end(buf.data(), buf.size());
  int n = 0;
  while (end.Bits(7, &x)) ++n;
  EXPECT_EQ(n, static_cast<int>(buf.size() * 8 / 7));
}

TEST(RansTest, NormalizeWeightsSumsToPowerOfTwo) {
  std::mt19937 rng(4);
  for (int iter = 0; iter < 20000; ++iter) {
    const int precision = rans::kMinPrecision + iter % rans::kMaxPrecision;
    const int span = 1 + static_cast<int>(rng() % 256);
    std::vector<uint8_t> codes(span);
    for (auto& c : codes) c = static_cast<uint8_t>(rng() % (rans::kMaxWeightCode + 1));
    codes.back() = static_cast<uint8_t>(1 + rng() % rans::kMaxWeightCode);
    std::vector<uint32_t> freq(span);
    if (!rans::NormalizeWeights(codes.data(), span, precision, freq.data())) {
      EXPECT_GT(span - std::count(codes.begin(), codes.end(), 0), 1 << precision);
      continue;
    }
    // The definition in docs/format.md, literally.
    uint64_t w_total = 0;
    int n = 0, heaviest = -1;
    for (int s = 0; s < span; ++s) {
      if (codes[s] == 0) continue;
      w_total += uint64_t{1} << (16 - codes[s]);
      ++n;
      if (heaviest < 0 || codes[s] < codes[heaviest]) heaviest = s;
    }
    std::vector<uint32_t> expect(span, 0);
    uint32_t sum = 0;
    for (int s = 0; s < span; ++s) {
      if (codes[s] == 0) continue;
      expect[s] = 1 + static_cast<uint32_t>((uint64_t{1} << (16 - codes[s])) *
                                            ((1u << precision) - n) / w_total);
      sum += expect[s];
    }
    expect[heaviest] += (1u << precision) - sum;
    EXPECT_EQ(freq, expect);
    sum = 0;
    for (int s = 0; s < span; ++s) {
      EXPECT_EQ(freq[s] == 0, codes[s] == 0);
      sum += freq[s];
    }
    EXPECT_EQ(sum, 1u << precision);
  }
  const uint8_t three[3] = {1, 1, 1};
  uint32_t f[3];
  EXPECT_FALSE(rans::NormalizeWeights(three, 3, 1, f));  // 3 tokens do not fit in 2 slots
}

TEST(RansTest, Log2Q16IsAccurate) {
  for (uint32_t v : {1u, 2u, 3u, 5u, 1000u, 65535u, 65536u, 123456789u, 0xFFFFFFFFu}) {
    EXPECT_NEAR(rans::Log2Q16(v) / 65536.0, std::log2(static_cast<double>(v)), 1.0 / 1024) << v;
  }
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

// One-lane segments and a shared model (packet data: docs/format.md, "Packets").
TEST(RansTest, OneLaneSegmentsNeedTheDecoderToKnow) {
  const std::vector<BandShape> bands(9, BandShape{1, 14});
  const std::vector<uint16_t> s = FeatureLike(bands, 4, 3);
  SymbolSegmentOptions one;
  one.lanes = 1;
  std::vector<uint8_t> seg;
  ASSERT_TRUE(EncodeSymbolSegment(s.data(), bands, 4, &seg, nullptr, one).ok());
  SymbolSegmentDecodeOptions single;
  single.single_lane = true;
  std::vector<uint16_t> out(s.size());
  ASSERT_TRUE(DecodeSymbolSegment(seg.data(), seg.size(), bands, 4, out.data(), single).ok());
  EXPECT_EQ(out, s);
  std::fill(out.begin(), out.end(), 0);
  ASSERT_TRUE(
      DecodeSymbolSegmentReference(seg.data(), seg.size(), bands, 4, out.data(), single).ok());
  EXPECT_EQ(out, s);
  // Read as a four-lane segment it is corrupt (the lane states do not match).
  EXPECT_FALSE(DecodeSymbolSegment(seg.data(), seg.size(), bands, 4, out.data()).ok());
  // A four-lane segment is refused where one lane is required.
  std::vector<uint8_t> four;
  SymbolSegmentOptions four_lanes;
  four_lanes.lanes = 8;
  ASSERT_TRUE(EncodeSymbolSegment(s.data(), bands, 4, &four, nullptr, four_lanes).ok());
  Status st = DecodeSymbolSegment(four.data(), four.size(), bands, 4, out.data(), single);
  EXPECT_EQ(st.code(), StatusCode::kCorruptData);
  EXPECT_NE(st.message().find("must be 1"), std::string::npos) << st.message();
}

TEST(RansTest, HeadlessSegmentsUnderASharedModel) {
  for (int bits : {1, 2, 4, 8, 12}) {
    SCOPED_TRACE(bits);
    // The model is fitted on 40 one-row bands; segments code any subset of them.
    const std::vector<BandShape> all(40, BandShape{1, 17});
    const std::vector<uint16_t> s = FeatureLike(all, bits, 11);
    Result<SymbolModel> m = SymbolModel::Fit(s.data(), all, bits);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    // The bytes parse back to the same model.
    Result<SymbolModel> parsed = SymbolModel::Parse(m->bytes().data(), m->bytes().size(), bits);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->bytes(), m->bytes());
    size_t headless = 0, own = 0;
    for (size_t first : {size_t{0}, size_t{7}, size_t{25}}) {
      const std::vector<BandShape> part(13, BandShape{1, 17});
      const uint16_t* src = s.data() + first * 17;
      std::vector<uint8_t> seg;
      ASSERT_TRUE(EncodeHeadlessSegment(src, part, *m, &seg).ok());
      std::vector<uint16_t> out(13 * 17), ref(13 * 17);
      ASSERT_TRUE(DecodeHeadlessSegment(seg.data(), seg.size(), part, *parsed, out.data()).ok());
      ASSERT_TRUE(
          DecodeHeadlessSegmentReference(seg.data(), seg.size(), part, *parsed, ref.data()).ok());
      EXPECT_TRUE(std::equal(out.begin(), out.end(), src));
      EXPECT_EQ(out, ref);
      headless += seg.size();
      std::vector<uint8_t> self;
      SymbolSegmentOptions one;
      one.lanes = 1;
      ASSERT_TRUE(EncodeSymbolSegment(src, part, bits, &self, nullptr, one).ok());
      own += self.size();
      // Truncated: rejected cleanly.
      for (size_t n = 0; n < seg.size(); n += 3) {
        EXPECT_FALSE(DecodeHeadlessSegment(seg.data(), n, part, *parsed, out.data()).ok()) << n;
      }
    }
    if (bits >= 4) {
      EXPECT_LT(headless, own);  // no tables in the segments
    }
  }
  // A symbol the model never saw cannot be coded; a model's bytes must be exact.
  const std::vector<BandShape> bands(4, BandShape{1, 8});
  std::vector<uint16_t> zeros(32, 0);
  Result<SymbolModel> m = SymbolModel::Fit(zeros.data(), bands, 4);
  ASSERT_TRUE(m.ok());
  zeros[5] = 3;
  std::vector<uint8_t> seg;
  Status st = EncodeHeadlessSegment(zeros.data(), bands, *m, &seg);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("no frequency in the shared model"), std::string::npos);
  std::vector<uint8_t> longer = m->bytes();
  longer.push_back(0);
  EXPECT_EQ(SymbolModel::Parse(longer.data(), longer.size(), 4).status().code(),
            StatusCode::kCorruptData);
  EXPECT_FALSE(SymbolModel::Parse(m->bytes().data(), m->bytes().size() - 1, 4).ok());
}

}  // namespace
}  // namespace ftc
